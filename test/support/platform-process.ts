import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import {
  createPlatformSimulator,
  generatePlatformSamples,
  type PlatformSimulator,
  type PlatformSimulatorOptions,
  type RunningSimulator,
  settingsForPlatformSimulator,
} from '../../src/simulator/index.js';
import { type Child, freePort, minimalEnv, spawnService, waitForHttp } from './process.js';

export const STUDIO_TOKEN = 'process-test-studio-token-0123456789abcdef';

export interface PlatformProcessFixture {
  dbPath: string;
  sim: PlatformSimulator;
  simServer: RunningSimulator;
  settings(overrides?: Record<string, string>): Promise<Record<string, string>>;
  startService(overrides?: Record<string, string>): Promise<{ child: Child; url: string }>;
  openDb(): Database.Database;
  close(): Promise<void>;
}

/** A temp database and a platform simulator on 127.0.0.1, for spawning the real commands with CXONE_API=platform. */
export async function platformProcessFixture(
  options: PlatformSimulatorOptions = {},
): Promise<PlatformProcessFixture> {
  const dir = mkdtempSync(join(tmpdir(), 'qm-proc-platform-'));
  const dbPath = join(dir, 'qm.sqlite');
  const sim = createPlatformSimulator(options);
  const simServer = await sim.listen(0);
  const dbs: Database.Database[] = [];
  const fixture: PlatformProcessFixture = {
    dbPath,
    sim,
    simServer,
    async settings(overrides = {}) {
      return minimalEnv({
        ...settingsForPlatformSimulator(sim, simServer.url),
        PORT: String(await freePort()),
        DATABASE_PATH: dbPath,
        STUDIO_WEBHOOK_TOKEN: STUDIO_TOKEN,
        CXONE_BUSINESS_DATA_FIELDS: 'score=QA_Score,result=QA_Result,rubric=QA_Rubric,summary=QA_Summary',
        TRANSCRIPT_FIRST_CHECK_SECONDS: '0.2',
        TRANSCRIPT_RETRY_SECONDS: '0.2',
        RETRY_BASE_SECONDS: '0.1',
        SWEEP_INTERVAL_SECONDS: '0',
        CXONE_MAX_REQUESTS_PER_MINUTE: '100000',
        SHUTDOWN_GRACE_SECONDS: '5',
        CXONE_TIMEOUT_MS: '5000',
        LOG_LEVEL: 'info',
        ...overrides,
      });
    },
    async startService(overrides = {}) {
      for (let attempt = 1; ; attempt++) {
        const env = await fixture.settings(overrides);
        const url = `http://127.0.0.1:${env.PORT}`;
        const child = spawnService(env);
        const ready = waitForHttp(`${url}/readyz`, 200, 20_000).then(() => 'ready' as const);
        const outcome = await Promise.race([ready, child.exited.then(() => 'exited' as const)]);
        if (outcome === 'ready') return { child, url };
        if (attempt < 3 && /EADDRINUSE/.test(child.stderr)) continue;
        throw new Error(`service exited before ready: ${child.stderr}\n${child.stdout}`);
      }
    },
    openDb() {
      const db = new Database(dbPath, { readonly: true, fileMustExist: true });
      db.pragma('busy_timeout = 5000');
      dbs.push(db);
      return db;
    },
    async close() {
      for (const db of dbs) if (db.open) db.close();
      await simServer.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return fixture;
}

/**
 * `count` sample contacts (calls and chats with an agent and words, ending a minute ago) added to the
 * simulator; answers their ids. Every one has a transcript to score.
 */
export function addPlatformContacts(
  sim: PlatformSimulator,
  count: number,
  seed: number,
  firstContactId: string,
): string[] {
  const now = Date.now();
  const samples = generatePlatformSamples(count * 3, seed, {
    firstContactId,
    endAt: now - 60_000,
    spacingMs: 1_000,
    withoutAgentRate: 0,
    emptyTranscriptRate: 0,
    unrecordedRate: 0,
    emailRate: 0,
  }).filter((s) => s.kind === 'call' || s.kind === 'chat');
  return samples.slice(0, count).map((s) => {
    sim.addContact(s.contact);
    return s.contact.contactId;
  });
}

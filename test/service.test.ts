import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { systemClock } from '../src/clock.js';
import { loadConfig } from '../src/config.js';
import { type RunningService, startService } from '../src/service.js';
import {
  createPlatformSimulator,
  deliverStudioCall,
  type PlatformSimContact,
  type RunningSimulator,
  settingsForPlatformSimulator,
} from '../src/simulator/index.js';
import { migrate, openStore } from '../src/store/db.js';
import { JobStore } from '../src/store/jobs.js';
import { waitFor } from './support/wait.js';

const TOKEN = 'studio-token-for-tests-0123456789abcdef';
let cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const fn of cleanup.reverse()) await fn();
  cleanup = [];
});

const words = {
  agent: [
    'Hello, thank you for calling Northwind, my name is Sam.',
    'This call may be recorded for quality assurance.',
    'Can you confirm your date of birth?',
    'Is there anything else I can help you with today?',
  ],
  customer: ['I was charged twice.', 'The fourth of May.'],
};

function call(id: string, now: number, extra: Partial<PlatformSimContact> = {}): PlatformSimContact {
  const start = now - 120_000;
  return {
    contactId: id,
    agentId: '10001',
    media: 'call',
    startTime: start,
    endTime: now - 1_000,
    segments: [
      {
        segmentId: `${id}-a`,
        startTime: start,
        endTime: start + 60_000,
        blocks: [
          { side: 'AGENT', text: words.agent[0]!, startMs: 1_000 },
          { side: 'AGENT', text: words.agent[1]!, startMs: 5_000 },
          { side: 'CLIENT', text: words.customer[0]!, startMs: 9_000 },
        ],
      },
      {
        segmentId: `${id}-b`,
        startTime: start + 60_000,
        endTime: now - 1_000,
        blocks: [
          { side: 'AGENT', text: words.agent[2]!, startMs: 2_000 },
          { side: 'CLIENT', text: words.customer[1]!, startMs: 6_000 },
          { side: 'AGENT', text: words.agent[3]!, startMs: 20_000 },
        ],
      },
    ],
    ...extra,
  };
}

async function platformService(
  env: Record<string, string> = {},
  simOptions = {},
  log: pino.Logger = pino({ level: 'silent' }),
) {
  const sim = createPlatformSimulator({ tokenTtlSeconds: 30, ...simOptions });
  const server: RunningSimulator = await sim.listen(0);
  const dir = mkdtempSync(join(tmpdir(), 'qm-platform-'));
  const loaded = loadConfig({
    ...settingsForPlatformSimulator(sim, server.url),
    PORT: '0',
    DATABASE_PATH: join(dir, 'qm.sqlite'),
    CXONE_BUSINESS_DATA_FIELDS: 'score=QA_Score,result=QA_Result,rubric=QA_Rubric,summary=QA_Summary',
    STUDIO_WEBHOOK_TOKEN: TOKEN,
    SWEEP_INTERVAL_SECONDS: '1',
    TRANSCRIPT_FIRST_CHECK_SECONDS: '0',
    TRANSCRIPT_RETRY_SECONDS: '0.2',
    RETRY_BASE_SECONDS: '0.05',
    CXONE_MAX_REQUESTS_PER_MINUTE: '1000',
    SHUTDOWN_GRACE_SECONDS: '1',
    LOG_LEVEL: 'silent',
    ...env,
  });
  if (!loaded.ok) throw new Error(loaded.problems.join('\n'));
  const service: RunningService = await startService(loaded.config, {
    clock: systemClock,
    log,
    owner: 'test',
  });
  const store = openStore(loaded.config.databasePath);
  cleanup.push(async () => {
    await service.stop();
    store.close();
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return { sim, server, service, store, config: loaded.config };
}

describe('startService with CXONE_API=platform', () => {
  it('scores every contact with a transcript once, writes its business data once, and says why the others were not', async () => {
    const { sim, service, store } = await platformService();
    await service.ready;
    const now = Date.now();
    const big = '9007199254740993';
    sim.addContact(call('5001', now));
    sim.addContact(call(big, now));
    sim.addContact(call('5003', now, { agentId: null }));
    sim.addContact(call('5004', now, { segments: [] }));
    sim.addContact({
      contactId: '5005',
      agentId: '10002',
      media: 'email',
      startTime: now - 60_000,
      endTime: now - 1_000,
    });
    sim.addContact({
      contactId: '5006',
      agentId: '10002',
      media: 'chat',
      startTime: now - 60_000,
      endTime: now - 1_000,
      messages: [
        { participantType: 'AGENT', text: words.agent[0]!, timeStamp: now - 50_000 },
        { participantType: 'CUSTOMER', text: words.customer[0]!, timeStamp: now - 40_000 },
      ],
    });
    // IA analyses the second segment of this call late: the job waits, then scores once. Analysed
    // only after the service has seen it not ready (a fixed delay raced a loaded machine).
    const late = call('5007', now);
    late.segments![1]!.analysedAt = now + 3_600_000;
    sim.addContact(late);
    // Studio pushes one contact as it ends; Studio's retry changes nothing.
    expect(
      await deliverStudioCall({ url: service.url, token: TOKEN, contactId: '5001', agentId: '10001' }),
    ).toBe(202);
    expect(
      await deliverStudioCall({ url: service.url, token: TOKEN, contactId: '5001', agentId: '10001' }),
    ).toBe(200);

    const jobs = new JobStore(store, 'rubric:tutorial');
    await waitFor(
      'a check of 5007 while not analysed',
      () => (jobs.get('5007')?.transcriptChecks ?? 0) > 0,
      15_000,
    );
    sim.analyseSegment(late.segments![1]!.segmentId);
    const final = ['submitted', 'skipped', 'failed'];
    const ids = ['5001', big, '5003', '5004', '5005', '5006', '5007'];
    await waitFor(
      'every contact finished',
      () => ids.every((id) => final.includes(jobs.get(id)?.state ?? '')),
      15_000,
    );

    for (const id of ['5001', big, '5006', '5007']) {
      expect(jobs.get(id), id).toMatchObject({ state: 'submitted', deliveredTo: 'cxone-business-data' });
      expect(sim.writesFor(id), id).toHaveLength(1);
    }
    expect(sim.businessDataOf('5001')).toEqual({
      QA_Score: '100.00',
      QA_Result: 'pass',
      QA_Rubric: expect.stringMatching(/^tutorial /),
      QA_Summary: '4/4 rules passed',
    });
    expect(jobs.get('5003')).toMatchObject({ state: 'skipped', reasonCode: 'no_agent' });
    expect(jobs.get('5004')).toMatchObject({ state: 'skipped', reasonCode: 'no_transcript_source' });
    expect(jobs.get('5004')!.reason).toMatch(/turn on recording/);
    expect(jobs.get('5005')!.reason).toMatch(/email/);
    expect(jobs.get('5007')!.transcriptChecks).toBeGreaterThan(0);
    // A contact without an agent costs no transcript call; nothing was written for skipped ones.
    expect(sim.callsOf('contactMedia', '5003')).toEqual([]);
    expect(sim.businessDataWrites).toHaveLength(4);
    // One grant for the whole run (tokens live 30 s here), discovery once.
    expect(sim.callsOf('oidcDiscovery')).toHaveLength(1);
    expect(sim.callsOf('apiDiscovery')).toHaveLength(1);
  });

  it('without IA a call is skipped saying which licence is missing; without CXONE_BUSINESS_DATA_FIELDS results stay in the database', async () => {
    const { sim, service, store } = await platformService(
      { CXONE_BUSINESS_DATA_FIELDS: '' },
      { iaLicensed: false },
    );
    await service.ready;
    const now = Date.now();
    sim.addContact(call('6001', now));
    sim.addContact({
      contactId: '6002',
      agentId: '10002',
      media: 'chat',
      startTime: now - 60_000,
      endTime: now - 1_000,
      messages: [{ participantType: 'AGENT', text: words.agent[0]!, timeStamp: now - 50_000 }],
    });
    const jobs = new JobStore(store, 'rubric:tutorial');
    await waitFor(
      'both finished',
      () => ['6001', '6002'].every((id) => ['submitted', 'skipped'].includes(jobs.get(id)?.state ?? '')),
      15_000,
    );
    expect(jobs.get('6001')).toMatchObject({ state: 'skipped', reasonCode: 'no_transcript_source' });
    expect(jobs.get('6001')!.reason).toMatch(/Interaction Analytics licence/);
    expect(jobs.get('6002')).toMatchObject({ state: 'submitted', deliveredTo: 'none', evaluationId: null });
    expect(sim.businessDataWrites).toEqual([]);
  });

  it('a 429 (documented without Retry-After) is logged as "paused by CXone until ...", as in the tutorial profile', async () => {
    const lines: Record<string, unknown>[] = [];
    const log = pino(
      { level: 'warn' },
      { write: (line: string) => lines.push(JSON.parse(line) as Record<string, unknown>) },
    );
    const { sim, service } = await platformService({}, {}, log);
    await service.ready;
    sim.addContact(call('5101', Date.now()));
    sim.failNext('contactMedia', { status: 429 });
    expect(
      await deliverStudioCall({ url: service.url, token: TOKEN, contactId: '5101', agentId: '10001' }),
    ).toBe(202);
    await waitFor('the contact written', () => sim.writesFor('5101').length === 1, 15_000);
    expect(lines).toContainEqual(
      expect.objectContaining({
        level: 40,
        call: 'contactMedia',
        scope: 'cxone-mediaPlayback',
        msg: expect.stringMatching(/^paused by CXone until \d{4}-\d\d-\d\dT[^ ]+ \(429\)$/),
      }),
    );
  });

  it('a 429 pause persisted by an earlier run is logged at start-up: it holds the start-up check and /readyz', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'qm-paused-'));
    cleanup.push(async () => rmSync(dir, { recursive: true, force: true }));
    const databasePath = join(dir, 'qm.sqlite');
    const earlier = openStore(databasePath);
    migrate(earlier);
    const asked = Date.now() + 365 * 24 * 3_600_000;
    earlier.sqlite
      .prepare("INSERT INTO budget_state (scope, paused_until) VALUES ('cxone-auth', ?)")
      .run(asked);
    earlier.close();
    const lines: Record<string, unknown>[] = [];
    const log = pino(
      { level: 'warn' },
      { write: (line: string) => lines.push(JSON.parse(line) as Record<string, unknown>) },
    );
    const { service } = await platformService(
      { DATABASE_PATH: databasePath, CXONE_MAX_RETRY_AFTER_SECONDS: '60' },
      {},
      log,
    );
    const pause = lines.find((l) => l.scope === 'cxone-auth');
    expect(pause?.msg).toMatch(
      /^paused by CXone until \d{4}-\d\d-\d\dT[^ ]+ \(a 429 before this start\): no call to that API before then$/,
    );
    // Cut to CXONE_MAX_RETRY_AFTER_SECONDS, as the budget honours it.
    const until = Date.parse(String(pause!.msg).split(' ')[4]!);
    expect(until).toBeLessThanOrEqual(Date.now() + 60_000);
    expect(until).toBeGreaterThan(Date.now() + 50_000);
    expect((await fetch(`${service.url}/readyz`)).status).toBe(503);
  });

  it('refused credentials stop start-up with the setting named', async () => {
    const sim = createPlatformSimulator();
    const server = await sim.listen(0);
    const dir = mkdtempSync(join(tmpdir(), 'qm-platform-'));
    cleanup.push(async () => {
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    });
    const loaded = loadConfig({
      ...settingsForPlatformSimulator(sim, server.url),
      CXONE_ACCESS_KEY_SECRET: 'wrong',
      PORT: '0',
      DATABASE_PATH: join(dir, 'qm.sqlite'),
      SWEEP_INTERVAL_SECONDS: '0',
    });
    if (!loaded.ok) throw new Error(loaded.problems.join('\n'));
    const service = await startService(loaded.config, {
      clock: systemClock,
      log: pino({ level: 'silent' }),
      owner: 't',
    });
    cleanup.push(() => service.stop());
    await expect(service.ready).rejects.toMatchObject({
      exitCode: 4,
      lines: [expect.stringMatching(/CXONE_ACCESS_KEY_ID/)],
    });
  });

  it('a short STUDIO_WEBHOOK_TOKEN stops start-up with one line naming it', async () => {
    const sim = createPlatformSimulator();
    const dir = mkdtempSync(join(tmpdir(), 'qm-platform-'));
    cleanup.push(async () => rmSync(dir, { recursive: true, force: true }));
    const loaded = loadConfig({
      ...settingsForPlatformSimulator(sim, 'http://127.0.0.1:9'),
      STUDIO_WEBHOOK_TOKEN: 'short',
      PORT: '0',
      DATABASE_PATH: join(dir, 'qm.sqlite'),
    });
    if (!loaded.ok) throw new Error(loaded.problems.join('\n'));
    await expect(
      startService(loaded.config, { clock: systemClock, log: pino({ level: 'silent' }), owner: 't' }),
    ).rejects.toMatchObject({
      exitCode: 2,
      lines: ['STUDIO_WEBHOOK_TOKEN: the token must be at least 32 characters'],
    });
  });
});

describe('/metrics with CXONE_API=platform', () => {
  it("counts the documented APIs' calls, the Studio pushes and the results like the tutorial profile's", async () => {
    const { sim, service } = await platformService();
    await service.ready;
    sim.addContact(call('6001', Date.now()));
    expect(
      await deliverStudioCall({ url: service.url, token: TOKEN, contactId: '6001', agentId: '10001' }),
    ).toBe(202);
    const text = await waitFor('the result counted', async () => {
      const body = await (await fetch(`${service.adminUrl}/metrics`)).text();
      return /^qm_jobs_total\{outcome="submitted",reason="none"\} 1$/m.test(body) ? body : undefined;
    });
    for (const name of ['token', 'completedContacts', 'contactMedia', 'segmentTranscript', 'businessData']) {
      expect(text, name).toMatch(
        new RegExp(`^qm_cxone_requests_total\\{call="${name}",status="2\\d\\d"\\} \\d+$`, 'm'),
      );
    }
    expect(text).toMatch(/^qm_webhooks_total\{outcome="accepted"\} 1$/m);
    expect(text).toMatch(/^qm_evaluation_score_count 1$/m);
  });
});

/**
 * `npm start` as a process: settings, rubric and form problems stop start-up with exit 2 and one
 * stderr line per problem (no stack trace), refused credentials exit 4, and /healthz and /readyz
 * answer as the contract says.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { migrate, openStore } from '../../src/store/db.js';
import {
  addConversations,
  announce,
  exitWithin,
  freePort,
  jobStates,
  spawnService,
  useProcessFixture,
  waitForHttp,
} from '../support/process.js';
import { waitFor } from '../support/wait.js';

const fx = useProcessFixture();

const lines = (text: string) => text.split('\n').filter((l) => l.trim() !== '');
const noStackTrace = (text: string) => expect(text).not.toMatch(/^\s+at /m);

describe('npm start refuses bad start-up input', () => {
  it('malformed settings: exit 2, one line per problem naming each setting', async () => {
    const child = spawnService(await fx.settings({ PORT: 'abc', WORKER_CONCURRENCY: '0' }));
    const exit = await child.exited;
    expect(exit.code).toBe(2);
    const problems = lines(child.stderr);
    expect(problems).toHaveLength(2);
    expect(problems.filter((l) => l.startsWith('PORT:'))).toHaveLength(1);
    expect(problems.filter((l) => l.startsWith('WORKER_CONCURRENCY:'))).toHaveLength(1);
    noStackTrace(child.stderr);
    expect(fx.sim.callLog).toHaveLength(0);
  });

  it('missing required settings: exit 2, one line each', async () => {
    const env = await fx.settings();
    delete env.CXONE_CLIENT_ID;
    delete env.CXONE_CLIENT_SECRET;
    delete env.WEBHOOK_SECRET;
    delete env.CXONE_BASE_URL;
    const child = spawnService(env);
    expect((await child.exited).code).toBe(2);
    const problems = lines(child.stderr);
    expect(problems).toHaveLength(4);
    for (const name of ['CXONE_ORG', 'CXONE_CLIENT_ID', 'CXONE_CLIENT_SECRET', 'WEBHOOK_SECRET']) {
      expect(problems.filter((l) => l.startsWith(`${name}:`))).toHaveLength(1);
    }
    noStackTrace(child.stderr);
  });

  it('a broken rubric file: exit 2 with a line naming the file', async () => {
    const rubric = join(fx.dir, 'broken-rubric.yaml');
    writeFileSync(rubric, 'greeting: {pattern: "(unclosed", weight: one\n  : : :\n');
    const child = spawnService(await fx.settings({ RUBRIC_PATH: rubric }));
    expect((await child.exited).code).toBe(2);
    expect(lines(child.stderr).length).toBeGreaterThan(0);
    expect(child.stderr).toContain('broken-rubric.yaml');
    noStackTrace(child.stderr);
  });

  it('a rubric file that does not exist: exit 2 naming it', async () => {
    const rubric = join(fx.dir, 'missing.yaml');
    const child = spawnService(await fx.settings({ RUBRIC_PATH: rubric }));
    expect((await child.exited).code).toBe(2);
    expect(lines(child.stderr)).toHaveLength(1);
    expect(child.stderr).toContain('missing.yaml');
    noStackTrace(child.stderr);
  });

  it('rules that fit no form item: exit 2 naming each unfitting rule', async () => {
    const rubric = join(fx.dir, 'unfitting.json');
    writeFileSync(
      rubric,
      JSON.stringify({
        greeting: { pattern: 'hello', weight: 1 },
        empathy_statement: { pattern: 'sorry', weight: 1 },
        upsell_offer: { pattern: 'offer', weight: 1 },
      }),
    );
    const child = spawnService(await fx.settings({ RUBRIC_PATH: rubric }));
    expect((await child.exited).code).toBe(2);
    const problems = lines(child.stderr);
    expect(problems.filter((l) => l.includes('empathy_statement'))).toHaveLength(1);
    expect(problems.filter((l) => l.includes('upsell_offer'))).toHaveLength(1);
    // The rule that fits is not reported.
    expect(problems.some((l) => /\bgreeting\b/.test(l) && !/empathy|upsell/.test(l))).toBe(false);
    noStackTrace(child.stderr);
    // It did read the form to find that out.
    expect(fx.sim.callsOf('form').length).toBeGreaterThan(0);
  });

  it('a DATABASE_PATH that cannot be opened (a directory): exit 2, one line naming it', async () => {
    const dir = join(fx.dir, 'a-directory');
    mkdirSync(dir);
    const child = spawnService(await fx.settings({ DATABASE_PATH: dir }));
    const exit = await child.exited;
    noStackTrace(child.stderr);
    expect(lines(child.stderr)).toHaveLength(1);
    expect(lines(child.stderr)[0]).toMatch(/^DATABASE_PATH:/);
    expect(exit.code).toBe(2);
  });

  // The secret, the form id and the rubric are checked after the settings parse; every problem is
  // still reported at once, not one per restart.
  it('a bad WEBHOOK_SECRET and a missing QM_FORM_ID are both reported', async () => {
    const env = await fx.settings({ WEBHOOK_SECRET: 'whsec_not*base64!' });
    delete env.QM_FORM_ID;
    const child = spawnService(env);
    const exit = await child.exited;
    expect(exit.code).toBe(2);
    const problems = lines(child.stderr);
    expect(problems.filter((l) => l.startsWith('WEBHOOK_SECRET:'))).toHaveLength(1);
    expect(problems.filter((l) => l.startsWith('QM_FORM_ID:'))).toHaveLength(1);
  });

  it('a 1-byte WEBHOOK_SECRET stops start-up with one line naming it', async () => {
    const child = spawnService(await fx.settings({ WEBHOOK_SECRET: 'whsec_AQ==' }));
    const exit = await child.exited;
    expect(exit.code).toBe(2);
    noStackTrace(child.stderr);
    expect(lines(child.stderr)).toEqual([expect.stringMatching(/^WEBHOOK_SECRET: secret is 1 byte after/)]);
  });

  it('a wrong client secret: exit 4, one line', async () => {
    const child = spawnService(await fx.settings({ CXONE_CLIENT_SECRET: 'not-the-secret' }));
    expect((await child.exited).code).toBe(4);
    expect(lines(child.stderr)).toHaveLength(1);
    expect(child.stderr).not.toContain('not-the-secret');
    expect(child.stdout).not.toContain('not-the-secret');
    noStackTrace(child.stderr);
  });
});

describe('health endpoints', () => {
  it('/healthz 200 at once; /readyz 503 while the form cannot be read, 200 once it is', async () => {
    // CXone answers the form read 503 twice, then recovers (the service retries with backoff).
    fx.sim.failNext('form', { status: 503, count: 2 });
    const env = await fx.settings();
    const url = `http://127.0.0.1:${env.PORT}`;
    const child = spawnService(env);
    await waitForHttp(`${url}/healthz`, 200);
    await waitFor('a refused form read', () => fx.sim.callsOf('form').some((c) => c.status === 503));
    const notReady = await fetch(`${url}/readyz`);
    expect(notReady.status).toBe(503);
    expect((await fetch(`${url}/healthz`)).status).toBe(200);

    await waitForHttp(`${url}/readyz`, 200, 15_000);
    expect(child.exit).toBeUndefined();
    expect(fx.sim.callsOf('form').map((c) => c.status)).toEqual([503, 503, 200]);
  });
});

describe('ADMIN_PORT', () => {
  it('webhooks only on PORT, the rest only on ADMIN_HOST:ADMIN_PORT, probes on both; SIGTERM closes both', async () => {
    const adminPort = await freePort();
    const [id] = addConversations(fx.sim, 1, 'split');
    const { child, url } = await fx.startService({ ADMIN_PORT: String(adminPort), ADMIN_HOST: '127.0.0.1' });
    const admin = `http://127.0.0.1:${adminPort}`;
    const listening = child.logLines().find((l) => l.msg === 'listening');
    expect(listening).toMatchObject({ url, adminUrl: admin });
    for (const base of [url, admin]) {
      expect((await fetch(`${base}/healthz`)).status).toBe(200);
      expect((await fetch(`${base}/readyz`)).status).toBe(200);
    }
    expect((await announce(admin, fx.secret, fx.sim, id!)).map((a) => a.status)).toEqual([404, 404]);
    expect((await announce(url, fx.secret, fx.sim, id!)).map((a) => a.status)).toEqual([202, 202]);

    child.kill('SIGTERM');
    expect((await exitWithin(child, 10_000))?.code).toBe(0);
    await expect(fetch(`${admin}/healthz`)).rejects.toThrow();
  });
});

describe('a database holding a job no transition can address', () => {
  // Found by an attack: a conversation id that is not valid Unicode (a lone surrogate) is stored as
  // bytes that do not read back equal. The claim answered [undefined] while the row stayed due, and
  // the process spun at 100 % CPU, deaf to HTTP and SIGTERM, again on every restart.
  it('serves at once, fails that job (invalid_id), works the others, and stops on SIGTERM', async () => {
    const settings = await fx.settings();
    const [good] = addConversations(fx.sim, 1, 'good');
    const store = openStore(fx.dbPath);
    migrate(store);
    const plant = store.sqlite.prepare(
      `INSERT INTO jobs (conversation_id, form_id, agent_id, source, state, transcript_announced, attempts,
         transcript_checks, first_seen_at, next_attempt_at, created_at, updated_at)
       VALUES (?, ?, 'agent-1', 'webhook', 'due', 1, 0, 0, ?, ?, ?, ?)`,
    );
    const t = Date.now() - 1_000;
    // "poison\ud800-x" as the bytes SQLite holds for it, planted directly: the id comes from a blob.
    const poison = Buffer.from('706F69736F6EEDA0802D78', 'hex');
    store.sqlite
      .prepare(
        `INSERT INTO jobs (conversation_id, form_id, agent_id, source, state, transcript_announced, attempts,
           transcript_checks, first_seen_at, next_attempt_at, created_at, updated_at)
         VALUES (CAST(? AS TEXT), ?, 'agent-1', 'webhook', 'due', 1, 0, 0, ?, ?, ?, ?)`,
      )
      .run(poison, settings.QM_FORM_ID, t - 1, t - 1, t - 1, t - 1);
    plant.run(good, settings.QM_FORM_ID, t, t, t, t);
    store.close();

    const { child, url } = await fx.startService();
    const started = Date.now();
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    expect(Date.now() - started).toBeLessThan(2_000);

    const db = fx.openDb();
    await waitFor(
      'the good job submitted',
      () => jobStates(db).get(good!)?.state === 'submitted',
      15_000,
      50,
    );
    const rows = db
      .prepare('SELECT state, reason_code AS code FROM jobs WHERE conversation_id <> ?')
      .all(good);
    expect(rows).toEqual([{ state: 'failed', code: 'invalid_id' }]);
    expect(child.logLines().some((l) => l.reasonCode === 'invalid_id' && l.msg === 'job finished')).toBe(
      true,
    );

    child.kill('SIGTERM');
    expect((await exitWithin(child, 10_000))?.code).toBe(0);
  });
});

/**
 * `npm start` as a process: settings, rubric and form problems stop start-up with exit 2 and one
 * stderr line per problem (no stack trace), refused credentials exit 4, and /healthz and /readyz
 * answer as the contract says.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { spawnService, useProcessFixture, waitForHttp } from '../support/process.js';
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

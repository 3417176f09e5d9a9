import { afterEach, describe, expect, it } from 'vitest';
import { exitWithin, killChildren, spawnQm } from '../support/process.js';
import { waitFor } from '../support/wait.js';

// `npm run demo` is the README's first command: the whole service against the simulator. These run
// it as a user does (the qm bin, a process of its own) and hold it to what it prints.
afterEach(killChildren);

describe('qm demo', { timeout: 120_000 }, () => {
  it('tutorial profile: every conversation ends, none evaluated twice, exit 0', async () => {
    const demo = spawnQm(['demo']);
    const exit = await exitWithin(demo, 100_000);
    expect(exit?.code, demo.stderr).toBe(0);
    expect(demo.stdout).toMatch(/\d+ evaluated \(mean score [\d.]+\), 3 skipped, 0 failed/);
    expect(demo.stdout).toContain('no conversation evaluated twice');
  });

  it('platform profile: every contact ends, none written twice, exit 0', async () => {
    const demo = spawnQm(['demo', '--api', 'platform']);
    const exit = await exitWithin(demo, 100_000);
    expect(exit?.code, demo.stderr).toBe(0);
    expect(demo.stdout).toMatch(/\d+ scored, \d+ skipped, 0 failed/);
    expect(demo.stdout).toContain('no contact written twice');
  });

  it('--console: keeps serving the console with a demo admin account until Ctrl-C, then exits 0', async () => {
    const demo = spawnQm(['demo', '--console']);
    const line = await waitFor(
      'the console line',
      () => /The QA console: (http:\/\/[^ ]+)\/console {2}\(user demo, password ([^)]+)\)/.exec(demo.stdout),
      100_000,
      200,
    );
    const [, base, password] = line;
    const signIn = await fetch(`${base}/console/login`, {
      method: 'POST',
      redirect: 'manual',
      headers: { origin: base!, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ username: 'demo', password: password! }),
    });
    expect(signIn.status).toBe(303);
    const cookie = /qm_session=[^;]+/.exec(signIn.headers.get('set-cookie') ?? '')?.[0];
    expect(cookie).toBeDefined();
    const results = await fetch(`${base}/api/v1/results?limit=1000`, { headers: { cookie: cookie! } });
    expect(results.status).toBe(200);
    const body = (await results.json()) as { results: unknown[] };
    // The demo's scored conversations are all there to look at.
    const scored = Number(/(\d+) evaluated/.exec(demo.stdout)?.[1]);
    expect(body.results).toHaveLength(scored);
    demo.kill('SIGINT');
    const exit = await exitWithin(demo, 20_000);
    expect(exit?.code).toBe(0);
  });
});

/**
 * `npm start` and `npm run sweep` on one database at once: every conversation gets exactly one
 * evaluation, the sweep exits 0 with its summary, and the two together keep one CXone call budget
 * (it is kept in the database, not per process).
 */
import { describe, expect, it } from 'vitest';
import { addConversations, announce, jobStates, spawnSweep, useProcessFixture } from '../support/process.js';
import { sleep, waitFor } from '../support/wait.js';

const fx = useProcessFixture();

describe('npm start and npm run sweep on one database', () => {
  it('exactly one evaluation per conversation; the sweep exits 0 and prints its summary', async () => {
    fx.sim.setLatency(20);
    const ids = addConversations(fx.sim, 40, 'both');
    const server = await fx.startService({ SWEEP_INTERVAL_SECONDS: '1', WORKER_CONCURRENCY: '4' });
    const sweep = spawnSweep(await fx.settings({ WORKER_CONCURRENCY: '4' }));
    // Every third conversation is also announced to the server, racing both sweeps.
    const announced = ids.filter((_, i) => i % 3 === 0);
    const answers = (
      await Promise.all(announced.map((id) => announce(server.url, fx.secret, fx.sim, id)))
    ).flat();
    expect(answers.every((a) => a.status === 202)).toBe(true);

    const exit = await sweep.exited;
    expect(exit.code, sweep.stderr).toBe(0);
    expect(sweep.stdout).toMatch(/^sweep: \d+ completed conversation\(s\) in the window/m);
    expect(sweep.stdout).toMatch(/^this run: \d+ submitted, 0 skipped, 0 failed$/m);
    expect(sweep.stdout).toMatch(/^of the conversations found: \d+ evaluated/m);
    // The sweep logs JSON to stderr, never to stdout, where its summary goes.
    expect(sweep.stdout).not.toContain('{');

    const db = fx.openDb();
    await waitFor(
      'every conversation submitted',
      () => ids.every((id) => jobStates(db).get(id)?.state === 'submitted'),
      15_000,
      100,
    );
    // Give a late duplicate (if there were one) time to arrive.
    await sleep(300);
    for (const id of ids) expect(fx.sim.evaluationsFor(id), id).toHaveLength(1);
    expect(fx.sim.evaluations).toHaveLength(ids.length);
    expect(server.child.exit).toBeUndefined();
  });

  it('the two processes together keep one CXONE_MAX_REQUESTS_PER_MINUTE', async () => {
    const budget = 20;
    addConversations(fx.sim, 40, 'budget');
    const settings = { CXONE_MAX_REQUESTS_PER_MINUTE: String(budget), WORKER_CONCURRENCY: '4' };
    const server = await fx.startService({ ...settings, SWEEP_INTERVAL_SECONDS: '1' });
    const sweep = spawnSweep(await fx.settings(settings));
    await sleep(8_000);
    server.child.kill('SIGKILL');
    sweep.kill('SIGKILL');
    await Promise.all([server.child.exited, sweep.exited]);

    const calls = fx.sim.callLog;
    expect(calls.length).toBeGreaterThan(0);
    expect(fx.sim.maxCallsInAnyWindow()).toBeLessThanOrEqual(budget);
    // There was more work than the budget: both ran out of it, so the cap is what held them back.
    expect(calls.length).toBe(budget);
    // Both processes spent from it (the sweep command queried CXone at least).
    expect(new Set(calls.map((c) => c.remotePort)).size).toBeGreaterThan(1);
  });
});

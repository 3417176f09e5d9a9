/**
 * `npm start` and `npm run sweep` on one database at once: every conversation gets exactly one
 * evaluation, the sweep exits 0 with its summary, and the two together keep one CXone call budget
 * (it is kept in the database, not per process).
 */
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { deliverStudioCall } from '../../src/simulator/index.js';
import { addPlatformContacts, platformProcessFixture, STUDIO_TOKEN } from '../support/platform-process.js';
import {
  addConversations,
  announce,
  jobStates,
  spawnSweep,
  useProcessFixture,
  waitForHttp,
} from '../support/process.js';
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

describe('another process holds the database lock', () => {
  // Found by an attack: a 30 s lock froze every request for 30 s, because better-sqlite3 waits for a
  // lock synchronously, on the event loop. Nothing was lost then, and nothing may be now.
  it('/healthz answers at once, webhooks get 503 quickly, /readyz is 503; once it goes, nothing is lost', async () => {
    const [first, second] = addConversations(fx.sim, 2, 'locked', {
      // The second one's transcript is late: its job is claimed again and again during the lock.
      readyAt: (i) => (i === 1 ? Date.now() + 1_000 : undefined),
    });
    const server = await fx.startService();
    expect((await announce(server.url, fx.secret, fx.sim, second!)).map((a) => a.status)).toEqual([202, 202]);

    const other = new Database(fx.dbPath);
    other.exec("BEGIN EXCLUSIVE; INSERT INTO sweeps (owner, started_at, status) VALUES ('other', 1, 'ok')");
    const timed = async <T>(fn: () => Promise<T>) => {
      const started = Date.now();
      const value = await fn();
      return { value, ms: Date.now() - started };
    };
    try {
      // Hang detectors, not speed targets: a blocked loop would answer after the lock (4 s).
      for (let i = 0; i < 3; i++) {
        const health = await timed(() => fetch(`${server.url}/healthz`));
        expect(health.value.status).toBe(200);
        expect(health.ms).toBeLessThan(1_000);
        await sleep(300);
      }
      // /readyz caches its write probe for a second: the first answer after the lock was taken may
      // still be the one from before it.
      await waitForHttp(`${server.url}/readyz`, 503, 3_000);
      const ready = await fetch(`${server.url}/readyz`);
      expect(ready.status).toBe(503);
      expect(await ready.json()).toEqual({ status: 'not_ready', reason: 'locked' });
      const webhook = await timed(() => announce(server.url, fx.secret, fx.sim, first!));
      expect(webhook.value.map((a) => a.status)).toEqual([503, 503]);
      expect(webhook.ms).toBeLessThan(3_000);
      await sleep(1_000);
    } finally {
      other.exec('ROLLBACK');
      other.close();
    }

    await waitForHttp(`${server.url}/readyz`, 200, 5_000);
    // The sender retries what was refused: recorded now, and both conversations are evaluated once.
    expect((await announce(server.url, fx.secret, fx.sim, first!)).map((a) => a.status)).toEqual([202, 202]);
    const db = fx.openDb();
    await waitFor(
      'both submitted',
      () => [first, second].every((id) => jobStates(db).get(id!)?.state === 'submitted'),
      15_000,
      50,
    );
    for (const id of [first, second]) expect(fx.sim.evaluationsFor(id!)).toHaveLength(1);
    expect(server.child.exit).toBeUndefined();
  });
});

describe('npm start and npm run sweep on one database, platform profile', () => {
  it('exactly one result and one business data write per contact; one call budget, token and discovery calls included', async () => {
    const pf = await platformProcessFixture({ latencyMs: 20 });
    try {
      const ids = addPlatformContacts(pf.sim, 30, 13, '820000000001');
      const server = await pf.startService({ SWEEP_INTERVAL_SECONDS: '1', WORKER_CONCURRENCY: '4' });
      const sweep = spawnSweep(await pf.settings({ WORKER_CONCURRENCY: '4' }));
      // Every third contact is also pushed by Studio, racing both sweeps.
      const pushed = await Promise.all(
        ids
          .filter((_, i) => i % 3 === 0)
          .map((contactId) =>
            deliverStudioCall({ url: server.url, token: STUDIO_TOKEN, contactId, agentId: '10001' }),
          ),
      );
      expect(pushed.every((s) => s === 202)).toBe(true);
      const exit = await sweep.exited;
      expect(exit.code, sweep.stderr).toBe(0);
      expect(sweep.stdout).toMatch(/^this run: \d+ submitted, 0 skipped, 0 failed$/m);
      const db = pf.openDb();
      await waitFor(
        'every contact submitted',
        () => ids.every((id) => jobStates(db).get(id)?.state === 'submitted'),
        20_000,
        100,
      );
      await sleep(300);
      for (const id of ids) expect(pf.sim.writesFor(id), id).toHaveLength(1);
      expect(pf.sim.businessDataWrites).toHaveLength(ids.length);
      // Both processes authenticated through discovery and the token endpoint, within one budget.
      expect(new Set(pf.sim.callsOf('token').map((c) => c.remotePort)).size).toBeGreaterThan(1);
    } finally {
      await pf.close();
    }
  }, 60_000);

  it('the two together keep one CXONE_MAX_REQUESTS_PER_MINUTE, discovery and token calls included', async () => {
    const pf = await platformProcessFixture();
    try {
      addPlatformContacts(pf.sim, 30, 14, '830000000001');
      const budget = 20;
      const settings = { CXONE_MAX_REQUESTS_PER_MINUTE: String(budget), WORKER_CONCURRENCY: '4' };
      const server = await pf.startService({ ...settings, SWEEP_INTERVAL_SECONDS: '1' });
      const sweep = spawnSweep(await pf.settings(settings));
      await sleep(8_000);
      server.child.kill('SIGKILL');
      sweep.kill('SIGKILL');
      await Promise.all([server.child.exited, sweep.exited]);
      expect(pf.sim.maxCallsInAnyWindow()).toBeLessThanOrEqual(budget);
      expect(pf.sim.callLog).toHaveLength(budget);
      // Discovery and token calls were among the budgeted calls, not on top of them.
      expect(pf.sim.callsOf('oidcDiscovery').length).toBeGreaterThanOrEqual(1);
      expect(pf.sim.callsOf('token').length).toBeGreaterThanOrEqual(1);
    } finally {
      await pf.close();
    }
  }, 60_000);
});

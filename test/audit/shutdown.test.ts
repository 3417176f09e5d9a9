/**
 * Audit: SIGTERM of `npm start` (README: "requests and jobs in flight get SHUTDOWN_GRACE_SECONDS").
 */
import { expect, it } from 'vitest';
import { addConversations, announce, useProcessFixture, waitFor } from '../support/process.js';

const fx = useProcessFixture();

// BUG (src/service.ts stop(): `await Promise.all([server.close(grace), worker.stop(grace)])`, then
// `await Promise.race([sweeping, clock.sleep(grace)])`): a sweep pass in flight is not aborted and
// gets a second, consecutive grace period after the jobs' one, so shutdown takes up to twice
// SHUTDOWN_GRACE_SECONDS. With the defaults (10 s) that is 20 s, past Docker's default 10 s stop
// timeout: the container is SIGKILLed before the leases are handed back.
// Fix: run the sweep under the stop signal (abort its CXone call and backoff sleeps) and wait for it
// within the same grace period as the jobs, not after it.
it('a job and a sweep both in flight: SIGTERM exits within one grace period', async () => {
  const [id] = addConversations(fx.sim, 1, 'term');
  fx.sim.hangNext('query', 10);
  fx.sim.hangNext('transcript', 10);
  const { child, url } = await fx.startService({
    SWEEP_INTERVAL_SECONDS: '3600',
    SHUTDOWN_GRACE_SECONDS: '2',
    CXONE_TIMEOUT_MS: '20000',
  });
  await announce(url, fx.secret, fx.sim, id!);
  await waitFor(
    'a sweep query and a transcript fetch both hanging',
    () => fx.sim.callsOf('query').length > 0 && fx.sim.callsOf('transcript').length > 0,
    10_000,
    10,
  );
  const termAt = Date.now();
  child.kill('SIGTERM');
  const exit = await child.exited;
  const tookMs = Date.now() - termAt;
  expect(exit.code).toBe(0);
  expect(tookMs).toBeLessThan(2_000 + 1_300);
});

/**
 * Audit: the CXone client's 429 handling against the contract ("429 carries Retry-After: wait that
 * long before any further call to that API, not only the one refused").
 */
import { afterEach, beforeEach, expect, it } from 'vitest';
import { type SimulatorHarness, startSimulator } from '../support/simulator.js';

let h: SimulatorHarness;
beforeEach(async () => {
  h = await startSimulator();
});
afterEach(async () => {
  await h.close();
});

// BUG (src/cxone/client.ts, attemptHonouringRateLimits): when a call has already sat out
// `maxRateLimitWaits` (5) 429s, the next 429 returns `rate_limited` BEFORE `budget.pauseUntil()` is
// called, so that last Retry-After is never recorded. Every other call (other jobs, the sweep, the
// worker's own retry) goes out at once, long before Retry-After has passed. In the service the
// budget is shared through the database, so this lets calls of every process through.
// Fix: pause the budget for every 429 (move `budget.pauseUntil(...)` above the `waits >=` check).
it('the 429 that exhausts the client’s own waits still pauses every further call for its Retry-After', async () => {
  const client = h.client();
  // Five short 429s the client sits out itself, then one asking for 2 s.
  h.sim.failNext('form', { status: 429, count: 5, retryAfter: '0.02' });
  h.sim.failNext('form', { status: 429, count: 1, retryAfter: 2 });
  const first = await client.getForm('form-demo');
  expect(first.ok).toBe(false);
  if (!first.ok) expect(first.error.kind).toBe('rate_limited');
  const lastRefusal = h.sim.callsOf('form').at(-1)!;
  expect(lastRefusal.status).toBe(429);

  // Any further call must wait until the last Retry-After (2 s) has passed.
  const second = await client.getForm('form-demo');
  expect(second.ok).toBe(true);
  const next = h.sim.callsOf('form').at(-1)!;
  expect(next.at - lastRefusal.at).toBeGreaterThanOrEqual(1_900);
});

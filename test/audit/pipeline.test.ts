/**
 * Audit: "every completed conversation with an agent and a transcript gets exactly one evaluation
 * per form: none lost ... under CXone faults", and `npm run sweep` "finds completed conversations
 * not yet evaluated, scores and submits them".
 */
import pino from 'pino';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { systemClock } from '../../src/clock.js';
import { runSweep } from '../../src/pipeline/sweep.js';
import { SweepStore } from '../../src/store/sweeps.js';
import { pipelineHarness } from '../support/harness.js';

let h: Awaited<ReturnType<typeof pipelineHarness>>;
beforeEach(async () => {
  h = await pipelineHarness();
});
afterEach(async () => {
  await h.close();
});

// BUG (src/pipeline/worker.ts retryLater + src/store/jobs.ts onSwept): a CXone outage longer than
// the retry budget (MAX_ATTEMPTS=8, RETRY_BASE_SECONDS=2: about 2-4 minutes of 5xx) turns every
// job it touches into `failed` for good. The reconciliation sweep then treats the conversation as
// 'known' and leaves it alone, and nothing else ever retries it: the conversation is lost although
// CXone is healthy again and it has an agent and a transcript. Neither the periodic sweep nor
// `npm run sweep` catches it.
// Fix: keep transient exhaustion distinguishable (e.g. reason/flag) and let the sweep (or a slow
// retry at the maximum backoff) make such jobs due again; only 422s, bad answers and transcripts
// that never became ready are final.
it('a conversation failed by a CXone outage is evaluated once CXone is back and a sweep runs', async () => {
  h.addConversation('outage-1');
  // A short outage: every attempt the worker is allowed gets a 503.
  h.sim.failNext('transcript', { status: 503, count: 4 });
  const during = h.worker('w1', { maxAttempts: 4 });
  await during.runUntilIdle(5_000);
  await during.stop(1_000);
  expect(h.jobs.get('outage-1')!.state).toBe('failed');

  // CXone is healthy again; the reconciliation pass runs, then the worker.
  const result = await runSweep({
    cxone: h.client(),
    jobs: h.jobs,
    sweeps: new SweepStore(h.store.db),
    clock: systemClock,
    log: pino({ level: 'silent' }),
    owner: 'sweep',
    lookbackMs: 3_600_000,
    safetyMarginMs: 0,
  });
  expect(result.ok).toBe(true);
  expect(result.conversationIds).toContain('outage-1');
  const after = h.worker('w2');
  await after.runUntilIdle(5_000);
  await after.stop(1_000);

  expect(h.sim.evaluationsFor('outage-1')).toHaveLength(1);
});

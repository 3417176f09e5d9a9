import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock, systemClock } from '../../src/clock.js';
import { runSweep, type SweepOptions } from '../../src/pipeline/sweep.js';
import { SweepStore } from '../../src/store/sweeps.js';
import { goodTranscript, pipelineHarness } from '../support/harness.js';

const HOUR = 3_600_000;
let h: Awaited<ReturnType<typeof pipelineHarness>>;
let clock: ManualClock;
let sweeps: SweepStore;
beforeEach(async () => {
  h = await pipelineHarness();
  clock = new ManualClock(Date.now());
  sweeps = new SweepStore(h.store.db);
});
afterEach(async () => {
  await h.close();
});

/** A conversation in CXone only (no webhook): ended `agoMs` before the clock's now. */
function inCxone(id: string, agoMs: number, agentId: string | null = 'agent-1') {
  const end = clock.now() - agoMs;
  h.sim.addConversation({
    id,
    ...(agentId ? { agentId } : {}),
    type: 'voice',
    startTime: end - 60_000,
    endTime: end,
    transcript: goodTranscript,
  });
}

/** Runs a pass while moving the manual clock, so its retry backoffs elapse. */
async function driven<T>(promise: Promise<T>): Promise<T> {
  let done = false;
  const result = promise.finally(() => {
    done = true;
  });
  while (!done) {
    await clock.advance(1_000);
    await new Promise((r) => setTimeout(r, 1));
  }
  return result;
}

const sweep = (overrides: Partial<SweepOptions> = {}) =>
  runSweep({
    cxone: h.client(),
    jobs: h.jobs,
    sweeps,
    clock,
    log: pino({ level: 'silent' }),
    owner: 'test',
    lookbackMs: 24 * HOUR,
    safetyMarginMs: 15 * 60_000,
    retryBaseMs: 1,
    ...overrides,
  });

it('pages through completed conversations within the lookback and creates a job for each new one', async () => {
  for (let i = 0; i < 120; i++) inCxone(`c${i}`, i * 10 * 60_000); // one every 10 minutes, 20 h back
  inCxone('too-old', 30 * HOUR);
  const result = await sweep({ cxone: h.client() });
  expect(result.ok).toBe(true);
  expect(result.seen).toBe(120);
  expect(result.created).toBe(120);
  expect(h.jobs.get('too-old')).toBeUndefined();
  expect(h.jobs.get('c0')!.state).toBe('due');
  expect(h.jobs.get('c0')!.source).toBe('sweep');
  expect(result.pages).toBeGreaterThanOrEqual(Math.ceil(121 / 50));
});

it('stops paging at the first page that reaches the horizon', async () => {
  for (let i = 0; i < 500; i++) inCxone(`c${i}`, i * 60 * 60_000); // hourly, 500 h back
  const result = await sweep();
  // 50 per page; 24 h of hourly conversations fit in the first page.
  expect(result.pages).toBe(1);
  expect(h.sim.callsOf('query')).toHaveLength(1);
});

it('the next pass only looks back to the last successful start minus the safety margin', async () => {
  for (let i = 0; i < 100; i++) inCxone(`old${i}`, HOUR + i * 60_000);
  await sweep();
  const firstCalls = h.sim.callsOf('query').length;
  expect(firstCalls).toBeGreaterThan(1);

  await clock.advance(30 * 60_000);
  inCxone('new1', 60_000);
  // Ended 10 min before the first pass began but reported completed late: the margin catches it.
  inCxone('late', 40 * 60_000);
  // Ended 20 min before the first pass began: the first pass's business, not this one's.
  inCxone('outside', 50 * 60_000);
  const second = await sweep();
  expect(second.ok).toBe(true);
  expect(second.conversationIds.sort()).toEqual(['late', 'new1']);
  expect(second.created).toBe(2);
  expect(h.sim.callsOf('query').length - firstCalls).toBe(1);
});

it('conversations the database knows are left alone; a missing agent is supplied', async () => {
  inCxone('known', 60_000);
  h.addConversation('known'); // already a job
  h.jobs.transaction(() => h.jobs.onTranscriptReady({ conversationId: 'agentless' }, clock.now()));
  inCxone('agentless', 60_000, 'agent-7');
  inCxone('no-agent', 60_000, null);
  const result = await sweep();
  expect(result.created).toBe(1);
  expect(h.jobs.get('agentless')).toMatchObject({ state: 'due', agentId: 'agent-7' });
  expect(h.jobs.get('no-agent')).toMatchObject({ state: 'skipped' });
});

it('a pass that fails does not move the watermark; the next one looks back as far as before', async () => {
  inCxone('c1', 2 * HOUR);
  h.sim.failNext('query', { status: 503, count: 3 });
  const failed = await driven(sweep({ pageAttempts: 3 }));
  expect(failed.ok).toBe(false);
  expect(failed.error?.kind).toBe('server');
  // What the sweeps table keeps (and `npm run status` shows) names the call once.
  const recorded = h.store.sqlite.prepare("SELECT error FROM sweeps WHERE status = 'failed'").get();
  expect(recorded).toEqual({ error: expect.stringMatching(/^queryConversations: HTTP 503/) });
  expect((recorded as { error: string }).error.split('queryConversations')).toHaveLength(2);
  expect(sweeps.lastSuccessfulStart()).toBeNull();
  const again = await sweep();
  expect(again.ok).toBe(true);
  expect(again.seen).toBe(1);
  expect(sweeps.lastSuccessfulStart()).not.toBeNull();
});

it('retries a page after a transient failure', async () => {
  inCxone('c1', 60_000);
  h.sim.failNext('query', { status: 500, count: 2 });
  const result = await driven(sweep({ pageAttempts: 4 }));
  expect(result.ok).toBe(true);
  expect(result.created).toBe(1);
});

describe('a CXone outage longer than the retry budget', () => {
  // The worker gives up on transient failures after MAX_ATTEMPTS; the conversation still has an agent
  // and a transcript, so the next sweep once CXone is healthy must make the job due again rather
  // than leave it alone as already known.
  it('a conversation failed by a CXone outage is evaluated once CXone is back and a sweep runs', async () => {
    h.addConversation('outage-1');
    // A short outage: every attempt the worker is allowed gets a 503.
    h.sim.failNext('transcript', { status: 503, count: 4 });
    const during = h.worker('w1', { maxAttempts: 4 });
    await during.runUntilIdle(5_000);
    await during.stop(1_000);
    expect(h.jobs.get('outage-1')!.state).toBe('failed');

    // CXone is healthy again; the reconciliation pass runs (in real time), then the worker.
    const result = await sweep({ clock: systemClock, owner: 'sweep', lookbackMs: HOUR, safetyMarginMs: 0 });
    expect(result.ok).toBe(true);
    expect(result.conversationIds).toContain('outage-1');
    const after = h.worker('w2');
    await after.runUntilIdle(5_000);
    await after.stop(1_000);

    expect(h.sim.evaluationsFor('outage-1')).toHaveLength(1);
  });
});

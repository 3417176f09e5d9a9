import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock, systemClock } from '../../src/clock.js';
import type { ConversationPage, CxoneClient } from '../../src/cxone/types.js';
import { tutorialLister } from '../../src/pipeline/listers.js';
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
    lister: tutorialLister(h.client()),
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
  const result = await sweep({ lister: tutorialLister(h.client()) });
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
  // Three page attempts, each a first try and two quick repeats inside the call.
  h.sim.failNext('query', { status: 503, count: 9 });
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
    // A short outage: every attempt the worker is allowed gets a 503 (4 attempts of 3 tries each).
    h.sim.failNext('transcript', { status: 503, count: 12 });
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

  it('so is one failed by answers of the wrong shape (an HTML page where JSON was documented)', async () => {
    h.addConversation('html-1');
    h.sim.failNext('transcript', { status: 200, count: 4, body: '<html><body>Bad gateway</body></html>' });
    const during = h.worker('w1', { maxAttempts: 4 });
    await during.runUntilIdle(5_000);
    await during.stop(1_000);
    // Retried like an outage, not failed at the first odd answer.
    expect(h.jobs.get('html-1')).toMatchObject({ state: 'failed', attempts: 4 });
    expect(h.sim.callsOf('transcript')).toHaveLength(4);

    const result = await sweep({ clock: systemClock, owner: 'sweep', lookbackMs: HOUR, safetyMarginMs: 0 });
    expect(result.conversationIds).toContain('html-1');
    const after = h.worker('w2');
    await after.runUntilIdle(5_000);
    await after.stop(1_000);
    expect(h.sim.evaluationsFor('html-1')).toHaveLength(1);
  });
});

describe('ids that cannot be a conversation id', () => {
  it('are skipped, counted and logged once per pass; nothing is recorded for them', async () => {
    for (const id of ['poison\ud800-x', '..', '.', 'ok-1', 'tab\tid']) inCxone(id, 60_000);
    inCxone('bad-agent', 60_000, '../agents');
    const lines: { msg: string; refused?: number; examples?: string[] }[] = [];
    const log = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line)) });
    const result = await sweep({ log });
    expect(result).toMatchObject({ ok: true, seen: 1, created: 1, refused: 5, conversationIds: ['ok-1'] });
    expect(h.jobs.countByState().due).toBe(1);
    for (const id of ['poison\ud800-x', '..', '.', 'bad-agent']) expect(h.jobs.get(id)).toBeUndefined();
    const warnings = lines.filter((l) => l.msg.startsWith('sweep skipped conversations'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]!.refused).toBe(5);
    // Shown escaped: no lone surrogate or control character reaches the log.
    expect(warnings[0]!.examples!.join(' ')).toContain('"poison\\ud800-x": id must be well-formed Unicode');
    expect(lines.find((l) => l.msg === 'sweep finished')).toMatchObject({ refused: 5 });
  });
});

describe('a CXone that pages in a loop', () => {
  /** A conversation query answering from `pages`, counting calls; nothing else is ever called. */
  function pagedBy(
    pages: (token: string | null, call: number) => ConversationPage,
  ): CxoneClient & { calls: number } {
    const client = {
      calls: 0,
      async queryCompletedConversations(token?: string | null) {
        client.calls++;
        return { ok: true as const, value: pages(token ?? null, client.calls) };
      },
      getTranscript: () => Promise.reject(new Error('not called')),
      getForm: () => Promise.reject(new Error('not called')),
      submitEvaluation: () => Promise.reject(new Error('not called')),
      close: async () => undefined,
    };
    return client;
  }
  const row = (id: string) => ({
    id,
    status: 'COMPLETED',
    agentId: 'agent-1',
    startTime: new Date(clock.now() - 120_000).toISOString(),
    endTime: new Date(clock.now() - 60_000).toISOString(),
  });

  it('a page token answered again ends the pass as failed, naming it', async () => {
    // Page 1 leads to T1, T1 to T2, T2 back to T1: without the check, forever.
    const cxone = pagedBy((token, n) => ({
      conversations: [row(`c${n}`)],
      nextPageToken: token === null ? 'T1' : token === 'T1' ? 'T2' : 'T1',
    }));
    const result = await sweep({ lister: tutorialLister(cxone) });
    expect(result.ok).toBe(false);
    expect(result.error?.message).toMatch(/page 3 answers page token "T1" again \(it led to page 2\)/);
    expect(cxone.calls).toBe(3);
    expect(result.created).toBe(3);
    expect(sweeps.lastSuccessfulStart()).toBeNull();
  });

  it('a page of nothing new ends the pass as failed', async () => {
    const cxone = pagedBy((_token, n) => ({
      conversations: [row('same-1'), row('same-2')],
      nextPageToken: `T${n}`,
    }));
    const result = await sweep({ lister: tutorialLister(cxone) });
    expect(result.ok).toBe(false);
    expect(result.error?.message).toMatch(/page 2 repeats only conversations already read/);
    expect(cxone.calls).toBe(2);
  });

  it('fresh tokens and fresh rows forever stop at maxPages (SWEEP_MAX_PAGES)', async () => {
    const cxone = pagedBy((_token, n) => ({ conversations: [row(`c${n}`)], nextPageToken: `T${n}` }));
    const result = await sweep({ lister: tutorialLister(cxone), maxPages: 5 });
    expect(result.ok).toBe(false);
    expect(result.error?.message).toMatch(/after 5 pages \(SWEEP_MAX_PAGES\)/);
    expect(cxone.calls).toBe(5);
    expect(result.pages).toBe(5);
  });
});

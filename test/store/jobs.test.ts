import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Store } from '../../src/store/db.js';
import { JobStore } from '../../src/store/jobs.js';
import { tempStore } from '../support/db.js';

const NOW = Date.UTC(2026, 10, 25, 12);
const DELAY = 30_000;

let t: ReturnType<typeof tempStore>;
let store: Store;
let jobs: JobStore;
beforeEach(() => {
  t = tempStore();
  store = t.store;
  jobs = new JobStore(store, 'form-1');
});
afterEach(() => t.cleanup());

const tx = <T>(fn: () => T): T => jobs.transaction(fn);
const ended = (id: string, agentId: string | null = 'agent-1', now = NOW) =>
  tx(() => jobs.onConversationEnded({ conversationId: id, agentId }, now, DELAY));
const ready = (id: string, agentId: string | null = null, now = NOW) =>
  tx(() => jobs.onTranscriptReady({ conversationId: id, agentId }, now));
const swept = (id: string, agentId: string | null = 'agent-1', now = NOW) =>
  tx(() => jobs.onSwept({ conversationId: id, agentId }, now));

describe('job state machine: events', () => {
  it.each([
    ['ended with agent → waits for the transcript', () => ended('c'), 'waiting_transcript', NOW + DELAY],
    ['ended without agent → skipped', () => ended('c', null), 'skipped', NOW],
    ['transcript.ready alone, no agent → waits for an agent', () => ready('c'), 'waiting_agent', NOW],
    ['transcript.ready with agent → due now', () => ready('c', 'a'), 'due', NOW],
    [
      'ended then ready → due now',
      () => {
        ended('c');
        ready('c');
      },
      'due',
      NOW,
    ],
    [
      'ready then ended → due now with the agent',
      () => {
        ready('c');
        ended('c', 'agent-9', NOW + 5);
      },
      'due',
      NOW + 5,
    ],
    [
      'ready then ended without agent → skipped',
      () => {
        ready('c');
        ended('c', null);
      },
      'skipped',
      NOW,
    ],
    [
      'ready (no agent) then sweep with agent → due',
      () => {
        ready('c');
        swept('c', 'agent-2');
      },
      'due',
      NOW,
    ],
    ['sweep finds a new conversation → due now', () => swept('c'), 'due', NOW],
    ['sweep finds one without agent → skipped', () => swept('c', null), 'skipped', NOW],
    [
      'ended, then sweep → left waiting as it was',
      () => {
        ended('c');
        swept('c');
      },
      'waiting_transcript',
      NOW + DELAY,
    ],
  ])('%s', (_name, act, state, nextAttemptAt) => {
    act();
    const job = jobs.get('c')!;
    expect(job.state).toBe(state);
    if (state !== 'skipped') expect(job.nextAttemptAt).toBe(nextAttemptAt);
    if (state === 'skipped') expect(job.reason).toMatch(/no agent/);
  });

  it.each([
    ['ended without agent, then transcript.ready with one', 'ended', 'ready', 'due'],
    ['swept without agent, then ended with one', 'swept', 'ended', 'waiting_transcript'],
    ['ended without agent, then swept with one', 'ended', 'swept', 'due'],
  ] as const)(
    'a conversation skipped for want of an agent is revived when one is named: %s',
    (_n, first, then, state) => {
      const events = { ended, ready, swept };
      events[first]('c', null);
      expect(jobs.get('c')!.state).toBe('skipped');
      events[then]('c', 'agent-5');
      expect(jobs.get('c')).toMatchObject({ state, agentId: 'agent-5', reason: null, finishedAt: null });
    },
  );

  it('keeps the first agent it heard of', () => {
    ready('c', 'agent-1');
    ended('c', 'agent-2');
    expect(jobs.get('c')!.agentId).toBe('agent-1');
  });

  it('events never reopen a finished job', () => {
    swept('c');
    const [job] = jobs.claim('w1', 1, NOW, 10_000);
    expect(jobs.finish('w1', job!.conversationId, { state: 'submitted', evaluationId: 'e1' }, NOW)).toBe(
      true,
    );
    ended('c');
    ready('c', 'agent-1');
    swept('c');
    expect(jobs.get('c')!.state).toBe('submitted');
  });
});

describe('job state machine: leases', () => {
  it('claims only runnable jobs, oldest first, and never the same job twice', () => {
    swept('a', 'x', NOW - 2);
    swept('b', 'x', NOW - 1);
    ended('later'); // due at NOW + DELAY
    const first = jobs.claim('w1', 10, NOW, 60_000);
    expect(first.map((j) => j.conversationId)).toEqual(['a', 'b']);
    expect(jobs.claim('w2', 10, NOW, 10_000)).toEqual([]);
    expect(jobs.claim('w2', 10, NOW + DELAY, 10_000).map((j) => j.conversationId)).toEqual(['later']);
  });

  it('takes over a job whose lease expired (its process died)', () => {
    swept('a');
    jobs.claim('dead', 1, NOW, 10_000);
    expect(jobs.claim('w2', 1, NOW + 9_999, 10_000)).toEqual([]);
    const [taken] = jobs.claim('w2', 1, NOW + 10_000, 10_000);
    expect(taken?.leaseOwner).toBe('w2');
    // The dead owner's late write is fenced off.
    expect(jobs.finish('dead', 'a', { state: 'submitted' }, NOW + 10_001)).toBe(false);
    expect(jobs.get('a')!.state).toBe('in_progress');
  });

  it('renewal keeps a long-running job from being taken over', () => {
    swept('a');
    jobs.claim('w1', 1, NOW, 10_000);
    expect(jobs.renewLeases('w1', NOW + 9_000, 10_000)).toBe(1);
    expect(jobs.claim('w2', 1, NOW + 15_000, 10_000)).toEqual([]);
  });

  it('release hands unfinished jobs back as due now', () => {
    swept('a');
    jobs.claim('w1', 1, NOW, 10_000);
    expect(jobs.releaseLeases('w1', NOW + 1)).toBe(1);
    const job = jobs.get('a')!;
    expect([job.state, job.leaseOwner, job.nextAttemptAt]).toEqual(['due', null, NOW + 1]);
  });

  it('nextWakeAt is the earliest due time or lease expiry', () => {
    expect(jobs.nextWakeAt()).toBeNull();
    ended('a');
    expect(jobs.nextWakeAt()).toBe(NOW + DELAY);
    swept('b');
    jobs.claim('w1', 1, NOW, 5_000);
    expect(jobs.nextWakeAt()).toBe(NOW + 5_000);
  });

  it('jobs of another form are invisible', () => {
    const other = new JobStore(store, 'form-2');
    swept('a');
    expect(other.claim('w', 5, NOW, 1000)).toEqual([]);
    expect(other.get('a')).toBeUndefined();
  });
});

describe('requeue', () => {
  const endAs = (id: string, state: 'failed' | 'skipped' | 'submitted') => {
    swept(id);
    jobs.claim('w', 1, NOW, 10_000);
    jobs.finish('w', id, { state, reason: state === 'submitted' ? null : 'boom', attempts: 5 }, NOW);
  };

  it('makes failed jobs due again with fresh attempts; never reopens a submitted one', () => {
    endAs('f1', 'failed');
    endAs('f2', 'failed');
    endAs('ok', 'submitted');
    expect(jobs.requeue('all-failed', NOW + 1)).toBe(2);
    expect(jobs.get('f1')).toMatchObject({ state: 'due', attempts: 0, reason: null, nextAttemptAt: NOW + 1 });
    expect(jobs.requeue(['ok'], NOW + 2)).toBe(0);
    expect(jobs.get('ok')!.state).toBe('submitted');
  });

  it('by id also takes skipped jobs that have an agent', () => {
    endAs('s1', 'skipped');
    expect(jobs.requeue(['s1', 'unknown'], NOW + 1)).toBe(1);
    expect(jobs.get('s1')!.state).toBe('due');
  });
});

it('counts the states of more conversations than one SQLite statement can bind', () => {
  const ids = Array.from({ length: 1_200 }, (_, i) => `c${i}`);
  jobs.transaction(() => {
    for (const id of ids) jobs.onSwept({ conversationId: id, agentId: 'a' }, NOW);
  });
  expect(jobs.countByState(ids).due).toBe(1_200);
  expect(jobs.countByState(ids.slice(0, 3)).due).toBe(3);
  expect(jobs.countByState([]).due).toBe(0);
  expect(jobs.countByState().due).toBe(1_200);
});

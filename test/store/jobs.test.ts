import { and, eq, getTableColumns } from 'drizzle-orm';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Store } from '../../src/store/db.js';
import { JOB_SQL } from '../../src/store/job-sql.js';
import { type Job, JobStore, type SubmittedResult } from '../../src/store/jobs.js';
import { jobs as jobsTable } from '../../src/store/schema.js';
import { tempStore } from '../support/db.js';

const NOW = Date.UTC(2026, 10, 25, 12);
const DELAY = 30_000;
const RESULT: SubmittedResult = {
  delivery: { target: 'cxone-qm', id: 'e1' },
  overallScore: 87.5,
  rubric: { name: 'r', version: '2', hash: 'h' },
};

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
    if (state === 'skipped')
      expect(job).toMatchObject({ reasonCode: 'no_agent', reason: expect.stringMatching(/no agent/) });
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
      expect(jobs.get('c')).toMatchObject({
        state,
        agentId: 'agent-5',
        reasonCode: null,
        reason: null,
        finishedAt: null,
      });
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
    expect(jobs.submitted('w1', job!.conversationId, RESULT, NOW)).toBe(true);
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
    expect(jobs.submitted('dead', 'a', RESULT, NOW + 10_001)).toBe(false);
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

/** A job of its own, claimed by 'w' at NOW: what a worker's transition starts from. */
const leased = (id: string): Job => {
  swept(id);
  const [job] = jobs.claim('w', 1, NOW, 10_000);
  expect(job?.conversationId).toBe(id);
  return job!;
};

describe('job state machine: how a run ends', () => {
  const AT = NOW + 5_000;
  it('a submitted run clears a per-rule copy an earlier version kept on the job (results has the rules)', () => {
    leased('c');
    store.sqlite.prepare("UPDATE jobs SET result_json = '[]' WHERE conversation_id = 'c'").run();
    expect(jobs.submitted('w', 'c', RESULT, NOW)).toBe(true);
    expect(jobs.get('c')?.resultJson).toBeNull();
  });
  it.each([
    [
      'submitted keeps where it went, the score and the rubric (the rules are in results)',
      (id: string) => jobs.submitted('w', id, RESULT, NOW),
      {
        state: 'submitted',
        reasonCode: null,
        evaluationId: 'e1',
        deliveredTo: 'cxone-qm',
        overallScore: 87.5,
        rubricName: 'r',
        rubricVersion: '2',
        rubricHash: 'h',
        resultJson: null,
        finishedAt: NOW,
      },
    ],
    [
      'skip',
      (id: string) => jobs.skip('w', id, { code: 'empty_transcript', reason: 'transcript is empty' }, NOW),
      { state: 'skipped', reasonCode: 'empty_transcript', reason: 'transcript is empty', finishedAt: NOW },
    ],
    [
      'fail counts the run as an attempt',
      (id: string) => jobs.fail('w', id, { code: 'rejected', reason: 'submitEvaluation: HTTP 422' }, NOW),
      { state: 'failed', reasonCode: 'rejected', attempts: 1, transcriptChecks: 0, finishedAt: NOW },
    ],
    [
      'transcriptTimedOut counts a check, not an attempt',
      (id: string) => jobs.transcriptTimedOut('w', id, { reason: 'not ready after 4 h' }, NOW),
      {
        state: 'failed',
        reasonCode: 'transcript_timeout',
        attempts: 0,
        transcriptChecks: 1,
        finishedAt: NOW,
      },
    ],
    [
      'waitForTranscript',
      (id: string) => jobs.waitForTranscript('w', id, { reason: 'transcript not ready (404)', at: AT }, NOW),
      {
        state: 'waiting_transcript',
        reasonCode: 'transcript_not_ready',
        transcriptChecks: 1,
        attempts: 0,
        nextAttemptAt: AT,
        finishedAt: null,
      },
    ],
    [
      'retryLater uses an attempt',
      (id: string) => jobs.retryLater('w', id, { code: 'transient', reason: 'HTTP 503', at: AT }, NOW),
      { state: 'due', reasonCode: 'transient', reason: 'HTTP 503', attempts: 1, nextAttemptAt: AT },
    ],
    [
      'credentialsRefused uses none',
      (id: string) => jobs.credentialsRefused('w', id, { reason: 'HTTP 403', at: AT }, NOW),
      { state: 'due', reasonCode: 'credentials_refused', attempts: 0, nextAttemptAt: AT },
    ],
  ] as const)('%s, ends the lease, and is fenced by it', (_name, transition, expected) => {
    // A process whose lease expired, and whose job another process took over, writes nothing.
    leased('b');
    const [taken] = jobs.claim('w2', 1, NOW + 10_000, 10_000);
    expect(taken?.conversationId).toBe('b');
    expect(transition('b')).toBe(false);
    expect(jobs.get('b')).toEqual(taken);

    // The holder of the lease ends the run.
    leased('a');
    expect(transition('a')).toBe(true);
    expect(jobs.get('a')).toMatchObject({
      ...expected,
      leaseOwner: null,
      leaseExpiresAt: null,
      updatedAt: NOW,
    });
  });

  it('the sweep revives a job that ran out of attempts (an outage), never one that was rejected', () => {
    leased('outage');
    jobs.fail(
      'w',
      'outage',
      { code: 'attempts_exhausted', reason: 'gave up after 8 attempts: HTTP 503' },
      NOW,
    );
    leased('rejected');
    jobs.fail('w', 'rejected', { code: 'rejected', reason: 'HTTP 422' }, NOW);
    expect(swept('outage', 'agent-1', NOW + 1)).toBe('updated');
    expect(swept('rejected', 'agent-1', NOW + 1)).toBe('known');
    expect(jobs.get('outage')).toMatchObject({
      state: 'due',
      attempts: 0,
      reasonCode: null,
      reason: null,
      nextAttemptAt: NOW + 1,
      finishedAt: null,
    });
    expect(jobs.get('rejected')).toMatchObject({ state: 'failed', reasonCode: 'rejected' });
  });
});

describe('job rows', () => {
  /** Drives one job into every state and reason code, and both values of every boolean. */
  const everyKind = () => {
    // Runs end first, with their next attempts far off, so each claim takes the job just swept.
    const LATER = NOW + 86_400_000;
    const ends: [string, (id: string) => boolean][] = [
      ['submitted', (id) => jobs.submitted('w', id, RESULT, NOW)],
      [
        'submitted-bd',
        (id) =>
          jobs.submitted('w', id, { ...RESULT, delivery: { target: 'cxone-business-data', id: null } }, NOW),
      ],
      [
        'submitted-kept',
        (id) => jobs.submitted('w', id, { ...RESULT, delivery: { target: 'none', id: null } }, NOW),
      ],
      [
        'already',
        (id) =>
          jobs.submitted(
            'w',
            id,
            { ...RESULT, note: { code: 'already_evaluated', reason: 'already evaluated: kept eval-1' } },
            NOW,
          ),
      ],
      ['empty', (id) => jobs.skip('w', id, { code: 'empty_transcript', reason: 'empty' }, NOW)],
      ['no-source', (id) => jobs.skip('w', id, { code: 'no_transcript_source', reason: 'no IA' }, NOW)],
      ['not-ready', (id) => jobs.waitForTranscript('w', id, { reason: '404', at: LATER }, NOW)],
      ['timeout', (id) => jobs.transcriptTimedOut('w', id, { reason: 'late' }, NOW)],
      ['transient', (id) => jobs.retryLater('w', id, { code: 'transient', reason: '503', at: LATER }, NOW)],
      ['unexpected', (id) => jobs.retryLater('w', id, { code: 'unexpected', reason: 'bug', at: LATER }, NOW)],
      ['refused', (id) => jobs.credentialsRefused('w', id, { reason: '403', at: LATER }, NOW)],
      ['exhausted', (id) => jobs.fail('w', id, { code: 'attempts_exhausted', reason: 'out' }, NOW)],
      ['rejected', (id) => jobs.fail('w', id, { code: 'rejected', reason: '422' }, NOW)],
      ['job-error', (id) => jobs.fail('w', id, { code: 'job_error', reason: 'bug, 8 times' }, NOW)],
      ['too-large', (id) => jobs.fail('w', id, { code: 'too_large', reason: 'over 20 MB' }, NOW)],
    ];
    for (const [id, end] of ends) {
      leased(id);
      expect(end(id)).toBe(true);
    }
    leased('in-progress');
    ready('waiting-agent');
    ready('announced', 'agent-1');
    ended('waiting');
    swept('no-agent', null);
    // 'invalid_id' is written only to rows whose id cannot be read back (see the claim's tests); here
    // it goes on a readable row, by the claim's own statement, so that its mapping is checked too.
    swept('quarantined');
    const { rowid } = store.sqlite
      .prepare("SELECT rowid FROM jobs WHERE conversation_id = 'quarantined'")
      .get() as { rowid: number };
    store.sqlite.prepare(JOB_SQL.quarantine).run({ rowid, formId: 'form-1', reason: 'unreadable', now: NOW });
  };

  it('read back exactly as the schema types them: every boolean and enum column, every value', () => {
    everyKind();
    const viaDrizzle = store.db.select().from(jobsTable).all();
    const seen = new Map<string, Set<unknown>>();
    for (const expected of viaDrizzle) {
      // drizzle's own query builder maps every column by the schema: get() must answer the same.
      const job = jobs.get(expected.conversationId)!;
      expect(job).toStrictEqual(expected);
      for (const [key, column] of Object.entries(getTableColumns(jobsTable))) {
        const value = job[key as keyof Job];
        if (!seen.has(key)) seen.set(key, new Set());
        seen.get(key)!.add(value);
        if (value === null) continue;
        if (column.dataType === 'boolean') expect(typeof value, key).toBe('boolean');
        if (column.enumValues) expect(column.enumValues, key).toContain(value);
      }
    }
    // What claim() answers (a row from UPDATE ... RETURNING) is mapped the same way.
    const claimed = jobs.claim('w', 10, NOW, 10_000);
    expect(claimed.length).toBeGreaterThan(0);
    for (const job of claimed) {
      const row = store.db
        .select()
        .from(jobsTable)
        .where(and(eq(jobsTable.conversationId, job.conversationId), eq(jobsTable.formId, 'form-1')))
        .get();
      expect(job).toStrictEqual(row);
    }
    // The rows above really cover every value, so a column that maps wrongly cannot hide.
    for (const [key, column] of Object.entries(getTableColumns(jobsTable))) {
      const values = seen.get(key)!;
      if (column.dataType === 'boolean') expect([...values].sort(), key).toEqual([false, true]);
      if (column.enumValues) {
        for (const v of column.enumValues) expect(values.has(v), `${key} = ${v}`).toBe(true);
      }
    }
  });
});

describe('requeue', () => {
  const endAs = (id: string, state: 'failed' | 'skipped' | 'submitted') => {
    swept(id);
    jobs.claim('w', 1, NOW, 10_000);
    if (state === 'submitted') jobs.submitted('w', id, RESULT, NOW);
    else if (state === 'skipped') jobs.skip('w', id, { code: 'empty_transcript', reason: 'boom' }, NOW);
    else jobs.fail('w', id, { code: 'rejected', reason: 'boom' }, NOW);
  };

  it('makes failed jobs due again with fresh attempts; never reopens a submitted one', () => {
    endAs('f1', 'failed');
    endAs('f2', 'failed');
    endAs('ok', 'submitted');
    expect(jobs.requeue('all-failed', NOW + 1)).toBe(2);
    expect(jobs.get('f1')).toMatchObject({
      state: 'due',
      attempts: 0,
      reasonCode: null,
      reason: null,
      nextAttemptAt: NOW + 1,
    });
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

describe('claim and rows that cannot be addressed', () => {
  /**
   * A job whose id was stored from a string that is not well-formed Unicode: better-sqlite3 writes a
   * lone surrogate as the bytes ED A0 80, which read back as three U+FFFD, so the id read back names
   * no row. Planted as raw bytes, as an old database (or another writer) could hold it.
   */
  const plantPoison = (hex = '706F69736F6EEDA0802D78') =>
    store.sqlite
      .prepare(
        `INSERT INTO jobs (conversation_id, form_id, agent_id, source, state, transcript_announced, attempts,
           transcript_checks, first_seen_at, next_attempt_at, created_at, updated_at)
         VALUES (CAST(X'${hex}' AS TEXT), 'form-1', 'agent-1', 'webhook', 'due', 1, 0, 0, ?, ?, ?, ?)`,
      )
      .run(NOW - 10, NOW - 10, NOW - 10, NOW - 10);

  it('fails such a row at once (invalid_id) and still leases the jobs behind it', () => {
    plantPoison();
    swept('good');
    const told: string[] = [];
    const claimed = jobs.claim('w', 4, NOW, 10_000, (q) => told.push(q.conversationId));
    expect(claimed.map((j) => j.conversationId)).toEqual(['good']);
    expect(told).toEqual(['poison\uFFFD\uFFFD\uFFFD-x']);
    const row = store.sqlite
      .prepare(
        "SELECT state, reason_code AS code, lease_owner AS owner FROM jobs WHERE conversation_id <> 'good'",
      )
      .get();
    expect(row).toEqual({ state: 'failed', code: 'invalid_id', owner: null });
    // Never runnable again: the next claim finds nothing, and nothing is due.
    expect(jobs.claim('w', 4, NOW + 1_000, 10_000)).toEqual([]);
    expect(jobs.countByState().failed).toBe(1);
  });

  it('a claim never answers an undefined job, however many such rows are due first', () => {
    for (let i = 0; i < 5; i++) plantPoison(`7000${i.toString(16).padStart(2, '0')}EDA080`);
    swept('good');
    const claimed = jobs.claim('w', 2, NOW, 10_000);
    expect(claimed.every((j) => j && typeof j.conversationId === 'string')).toBe(true);
    // The first claim spends its two slots failing two of them; later claims reach the good job.
    const all = [...claimed, ...jobs.claim('w', 2, NOW, 10_000), ...jobs.claim('w', 2, NOW, 10_000)];
    expect(all.map((j) => j.conversationId)).toEqual(['good']);
  });
});

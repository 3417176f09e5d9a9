import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AccountStore } from '../../src/store/accounts.js';
import { storeOn } from '../../src/store/db.js';
import { JobStore } from '../../src/store/jobs.js';
import { type ResultInput, ResultStore } from '../../src/store/results.js';
import { createRetentionBatches, RETENTION_TARGETS } from '../../src/store/retention.js';
import { ReviewStore } from '../../src/store/reviews.js';
import { SweepStore } from '../../src/store/sweeps.js';
import { tempStore } from '../support/db.js';
import { storedRule } from '../support/results.js';

const DAY = 86_400_000;
const NOW = Date.UTC(2026, 6, 1);
const CUTOFF = NOW - 90 * DAY;

let db: ReturnType<typeof tempStore>;
let jobs: JobStore;
beforeEach(() => {
  db = tempStore();
  jobs = new JobStore(db.store, 'form-1');
});
afterEach(() => db.cleanup());

const RESULT = {
  delivery: { target: 'cxone-qm' as const, id: 'ev' },
  overallScore: 100,
  rubric: { name: 'r', version: '1', hash: 'h' },
  rules: [],
};

function event(webhookId: string, receivedAt: number) {
  db.store.sqlite
    .prepare(
      `INSERT INTO webhook_events (webhook_id, event_id, type, conversation_id, occurred_at, received_at, payload)
       VALUES (?, ?, 'conversation.ended', 'c', '2026-01-01T00:00:00Z', ?, '{}')`,
    )
    .run(webhookId, webhookId, receivedAt);
}

/** A job that reached `state` at `at`, as the service's own transitions leave it. */
function jobAt(id: string, state: string, at: number) {
  jobs.transaction(() => jobs.onSwept({ conversationId: id, agentId: 'agent' }, at));
  if (state === 'due') return;
  const [claimed] = jobs.claim('w', 1, at, 60_000);
  expect(claimed?.conversationId).toBe(id);
  if (state === 'in_progress') return;
  if (state === 'submitted') jobs.submitted('w', id, RESULT, at);
  if (state === 'failed') jobs.fail('w', id, { code: 'rejected', reason: '422' }, at);
  if (state === 'skipped') jobs.skip('w', id, { code: 'empty_transcript', reason: 'empty' }, at);
  if (state === 'waiting_transcript') jobs.waitForTranscript('w', id, { reason: '404', at: NOW + DAY }, at);
}

const ids = (table: string, column: string) =>
  (db.store.sqlite.prepare(`SELECT ${column} AS id FROM ${table} ORDER BY 1`).all() as { id: unknown }[]).map(
    (r) => r.id,
  );

/** Deletes in batches until a batch comes back short, as the runner does; answers the batch sizes. */
function drain(table: string, limit: number, cutoff = CUTOFF): number[] {
  const { deleteBatch } = createRetentionBatches(db.store);
  const sizes: number[] = [];
  for (;;) {
    const n = deleteBatch(table, cutoff, limit);
    sizes.push(n);
    if (n < limit) return sizes;
  }
}

const count = (table: string) =>
  Number(db.store.sqlite.prepare(`SELECT count(*) FROM ${table}`).pluck().get());

/** A result as the worker records it (two rules, with its transcript), evaluated at `at`. */
function resultAt(results: ResultStore, conversationId: string, at: number, agentId = 'agent-1'): number {
  const input: ResultInput = {
    conversationId,
    destination: 'form-1',
    agentId,
    evaluatedAt: at,
    overallScore: 50,
    rubric: { name: 'r', version: '1', hash: 'h' },
    rules: [storedRule('greeting', 'pass'), storedRule('closing', 'fail')],
    comment: 'c',
    delivery: { state: 'delivered', target: 'cxone-qm', id: `ev-${conversationId}`, at },
    transcript: [{ speaker: 'agent', text: 'hello', timestamp: '2026-01-01T00:00:00Z' }],
  };
  return results.record(input);
}

describe('retention statements', () => {
  it('webhook deliveries older than the cutoff go, oldest first, at most a batch at a time', () => {
    for (let i = 0; i < 7; i++) event(`old-${i}`, CUTOFF - (7 - i) * 1000);
    event('edge', CUTOFF);
    event('new', NOW);
    expect(drain('webhook_events', 3)).toEqual([3, 3, 1]);
    expect(ids('webhook_events', 'webhook_id')).toEqual(['edge', 'new']);
  });

  it('finished jobs older than the cutoff go; a job that is not finished never does, however old', () => {
    const old = CUTOFF - 30 * DAY;
    // 'due' last: each claim takes the job just created.
    for (const state of ['submitted', 'failed', 'skipped', 'in_progress', 'waiting_transcript'])
      jobAt(`old-${state}`, state, old);
    jobAt('recent-submitted', 'submitted', CUTOFF + 1);
    jobAt('old-due', 'due', old);
    jobs.transaction(() => jobs.onTranscriptReady({ conversationId: 'old-waiting_agent' }, old));
    expect(drain('jobs', 2)).toEqual([2, 1]);
    expect(ids('jobs', 'conversation_id')).toEqual([
      'old-due',
      'old-in_progress',
      'old-waiting_agent',
      'old-waiting_transcript',
      'recent-submitted',
    ]);
  });

  it('old sweeps go, but never the last successful one (the next sweep starts from it)', () => {
    const sweeps = new SweepStore(db.store.db);
    const ok = sweeps.begin('a', CUTOFF - 3 * DAY);
    sweeps.finish(ok, CUTOFF - 3 * DAY, { ok: true, pages: 1, seen: 1, created: 1 });
    const failed = sweeps.begin('a', CUTOFF - 2 * DAY);
    sweeps.finish(failed, CUTOFF - 2 * DAY, { ok: false, pages: 0, seen: 0, created: 0, error: 'x' });
    sweeps.begin('crashed', CUTOFF - DAY);
    drain('sweeps', 10);
    expect(ids('sweeps', 'id')).toEqual([ok]);
    expect(sweeps.lastSuccessfulStart()).toBe(CUTOFF - 3 * DAY);
    const later = sweeps.begin('a', CUTOFF - DAY / 2);
    sweeps.finish(later, CUTOFF - DAY / 2, { ok: true, pages: 1, seen: 1, created: 0 });
    drain('sweeps', 10);
    expect(ids('sweeps', 'id')).toEqual([later]);
  });

  it('signature failure counts older than the cutoff go', () => {
    const insert = db.store.sqlite.prepare(
      'INSERT INTO signature_failures (minute, reason, failures, last_at) VALUES (?, ?, 1, ?)',
    );
    insert.run(Math.floor(CUTOFF / 60_000) - 1, 'no_match', CUTOFF - 60_000);
    insert.run(Math.floor(NOW / 60_000), 'no_match', NOW);
    drain('signature_failures', 10);
    expect(ids('signature_failures', 'last_at')).toEqual([NOW]);
  });

  it('stored transcripts older than the cutoff go, by when they were stored; the results stay', () => {
    const results = new ResultStore(db.store);
    for (let i = 0; i < 5; i++) resultAt(results, `old-${i}`, CUTOFF - (5 - i) * 1000);
    resultAt(results, 'edge', CUTOFF);
    resultAt(results, 'new', NOW);
    expect(drain('transcripts', 2)).toEqual([2, 2, 1]);
    expect(ids('transcripts', 'conversation_id')).toEqual(['edge', 'new']);
    expect(count('results')).toBe(7);
    expect(results.transcript('old-0')).toBeNull();
    expect(results.transcript('new')).not.toBeNull();
  });

  it('results older than the cutoff go with their per-rule rows and reviews; a younger result keeps its reviews', () => {
    const results = new ResultStore(db.store);
    const reviews = new ReviewStore(db.store);
    const old = resultAt(results, 'old', CUTOFF - DAY);
    const young = resultAt(results, 'young', CUTOFF + 1);
    for (const id of [old, young])
      expect(
        reviews.record(id, { id: null, name: 'rita' }, [{ rule: 'closing', verdict: 'pass' }], NOW).ok,
      ).toBe(true);
    expect(count('result_rules')).toBe(4);
    drain('results', 10);
    expect(ids('results', 'conversation_id')).toEqual(['young']);
    expect(
      db.store.sqlite
        .prepare('SELECT DISTINCT result_id AS id FROM result_rules')
        .all()
        .map((r) => (r as { id: number }).id),
    ).toEqual([young]);
    expect((reviews.forResults([young]).get(young) ?? []).map((v) => [v.rule, v.verdict])).toEqual([
      ['closing', 'pass'],
    ]);
    expect(count('reviews')).toBe(1);
  });

  it("the daily figures of days before the cutoff's day go; the cutoff's own day stays whole", () => {
    const results = new ResultStore(db.store);
    // The cutoff falls at noon: the day before goes, the cutoff's day (results on both sides) stays.
    const cutoff = Date.UTC(2026, 3, 10, 12);
    resultAt(results, 'day-before', cutoff - DAY, 'agent-a');
    resultAt(results, 'morning', cutoff - 3_600_000, 'agent-b');
    resultAt(results, 'evening', cutoff + 3_600_000, 'agent-b');
    const days = (table: string) =>
      (
        db.store.sqlite.prepare(`SELECT DISTINCT day FROM ${table} ORDER BY day`).all() as { day: string }[]
      ).map((r) => r.day);
    for (const table of ['daily_stats', 'daily_rule_stats', 'daily_agent_rule_stats'])
      expect(days(table), table).toEqual(['2026-04-09', '2026-04-10']);
    for (const table of ['results', 'daily_stats', 'daily_rule_stats', 'daily_agent_rule_stats'])
      drain(table, 1, cutoff);
    for (const table of ['daily_stats', 'daily_rule_stats', 'daily_agent_rule_stats'])
      expect(days(table), table).toEqual(['2026-04-10']);
    expect(ids('results', 'conversation_id')).toEqual(['evening']);
  });

  it('the daily figures go by the day in the zone they were built in', () => {
    const results = new ResultStore(db.store);
    results.ensureRollupZone('Pacific/Auckland');
    // 2026-04-09 20:00 UTC is already 2026-04-10 in Auckland: that day is the cutoff's, and stays.
    const cutoff = Date.UTC(2026, 3, 9, 20);
    resultAt(results, 'a', cutoff - 3_600_000);
    drain('results', 10, cutoff);
    drain('daily_stats', 10, cutoff);
    expect(ids('daily_stats', 'day')).toEqual(['2026-04-10']);
    drain('daily_stats', 10, cutoff + DAY);
    expect(count('daily_stats')).toBe(0);
  });

  it('expired sessions and sign-in failures the throttle has forgotten go; live ones stay', () => {
    const accounts = new AccountStore(db.store);
    const user = accounts.addUser('rita', 'reviewer', 'x', NOW);
    if (user === 'exists') throw new Error('exists');
    accounts.createSession(user.id, 'expired', 'c', CUTOFF - DAY, CUTOFF - 1);
    accounts.createSession(user.id, 'live', 'c', CUTOFF - DAY, CUTOFF + 1);
    accounts.setThrottle({
      key: 'user:old',
      failures: 3,
      lastFailureAt: CUTOFF - 1,
      blockedUntil: CUTOFF - 1,
    });
    // An old failure that still blocks (a long wait) stays until the wait is over.
    accounts.setThrottle({
      key: 'user:blocked',
      failures: 9,
      lastFailureAt: CUTOFF - 1,
      blockedUntil: CUTOFF + 1,
    });
    accounts.setThrottle({
      key: 'address:recent',
      failures: 1,
      lastFailureAt: CUTOFF + 1,
      blockedUntil: CUTOFF,
    });
    drain('sessions', 10);
    drain('login_throttle', 10);
    expect(ids('sessions', 'id_hash')).toEqual(['live']);
    expect(ids('login_throttle', 'key')).toEqual(['address:recent', 'user:blocked']);
  });

  it('refuses a connection that does not enforce foreign keys (results would leave their rules behind)', () => {
    const sqlite = new Database(db.path);
    try {
      sqlite.pragma('foreign_keys = OFF');
      expect(() => createRetentionBatches(storeOn(sqlite))).toThrow(/foreign keys/);
    } finally {
      sqlite.close();
    }
  });

  it('every batch walks an index, never the whole table', () => {
    for (const target of RETENTION_TARGETS) {
      const plan = (
        db.store.sqlite.prepare(`EXPLAIN QUERY PLAN ${target.sql}`).all({ cutoff: CUTOFF, limit: 500 }) as {
          detail: string;
        }[]
      ).map((r) => r.detail);
      // The row-choosing subquery of the big tables searches by an index; the small ones are named.
      if (target.table === 'webhook_events') expect(plan.join('; ')).toMatch(/webhook_events_received_idx/);
      if (target.table === 'jobs') {
        expect(plan.join('; ')).toMatch(/jobs_finished_idx \(finished_at<\?\)/);
        expect(plan.join('; ')).not.toMatch(/TEMP B-TREE/);
      }
      if (target.table === 'signature_failures')
        expect(plan.join('; ')).toMatch(/USING (COVERING )?INDEX \S+ \(minute<\?\)/);
      // Every other table: its oldest rows found through an index on the column they are old by, and
      // never a sort of the whole table.
      const column: Record<string, string> = {
        transcripts: 'stored_at',
        results: 'evaluated_at',
        daily_stats: 'day',
        daily_rule_stats: 'day',
        daily_agent_rule_stats: 'day',
        sessions: 'expires_at',
        login_throttle: 'last_failure_at',
      };
      if (column[target.table]) {
        expect(plan.join('; '), target.table).toMatch(
          new RegExp(`SEARCH ${target.table} USING (COVERING )?INDEX \\S+ \\(${column[target.table]}<\\?\\)`),
        );
        expect(plan.join('; '), target.table).not.toMatch(/TEMP B-TREE/);
      }
    }
    expect(RETENTION_TARGETS.map((t) => t.table).sort()).toEqual([
      'daily_agent_rule_stats',
      'daily_rule_stats',
      'daily_stats',
      'jobs',
      'login_throttle',
      'results',
      'sessions',
      'signature_failures',
      'sweeps',
      'transcripts',
      'webhook_events',
    ]);
  });
});

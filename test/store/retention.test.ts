import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { JobStore } from '../../src/store/jobs.js';
import { createRetentionBatches, RETENTION_TARGETS } from '../../src/store/retention.js';
import { SweepStore } from '../../src/store/sweeps.js';
import { tempStore } from '../support/db.js';

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
function drain(table: string, limit: number): number[] {
  const { deleteBatch } = createRetentionBatches(db.store);
  const sizes: number[] = [];
  for (;;) {
    const n = deleteBatch(table, CUTOFF, limit);
    sizes.push(n);
    if (n < limit) return sizes;
  }
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
    }
  });
});

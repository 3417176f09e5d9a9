import type { Statement } from 'better-sqlite3';
import type { Store } from './db.js';

/**
 * What retention (RETENTION_DAYS) deletes, one entry per table: a table joins retention by adding an
 * entry here. Each entry's statement deletes at most @limit of the table's oldest rows that are older
 * than @cutoff (epoch ms) and may go, walking an index, so one batch is a short transaction however
 * large the table is. src/ops/retention.ts runs the batches.
 *
 * What never goes: a job that is not finished (whatever its age: a job waiting for a transcript or
 * for the operator is still work), and the last successful sweep (its start is the next sweep's
 * watermark).
 */
export interface RetentionTarget {
  /** The table, as the log line and the metrics name it. */
  table: string;
  /**
   * Which window applies: `raw`, what the service received and worked on (RETENTION_DAYS), or
   * `results`, the scores people read (RESULTS_RETENTION_DAYS, at least as long).
   */
  window: RetentionWindow;
  /** DELETE of at most @limit rows older than @cutoff. */
  sql: string;
}

export type RetentionWindow = 'raw' | 'results';

export const RETENTION_TARGETS: readonly RetentionTarget[] = [
  {
    // The raw deliveries (the webhook log): kept for audit and deduplication. A redelivery of one
    // older than the retention window is not expected (senders retry for hours or days, not months).
    table: 'webhook_events',
    window: 'raw',
    sql: `DELETE FROM webhook_events WHERE rowid IN (
            SELECT rowid FROM webhook_events WHERE received_at < @cutoff ORDER BY received_at LIMIT @limit)`,
  },
  {
    // Finished jobs only, by when they finished. The configuration keeps the window longer than the
    // sweep looks back (src/config.ts), so a sweep never finds a conversation whose job is gone.
    // INDEXED BY: without statistics the planner prefers the (state, ...) index for the state test and
    // then sorts every finished job, millions of rows, for each batch of 500.
    table: 'jobs',
    window: 'raw',
    sql: `DELETE FROM jobs WHERE rowid IN (
            SELECT rowid FROM jobs INDEXED BY jobs_finished_idx
            WHERE finished_at < @cutoff AND state IN ('submitted', 'skipped', 'failed')
            ORDER BY finished_at LIMIT @limit)`,
  },
  {
    table: 'sweeps',
    window: 'raw',
    sql: `DELETE FROM sweeps WHERE id IN (
            SELECT id FROM sweeps WHERE started_at < @cutoff
              AND id NOT IN (SELECT id FROM sweeps WHERE status = 'ok' ORDER BY started_at DESC LIMIT 1)
            ORDER BY started_at LIMIT @limit)`,
  },
  {
    table: 'signature_failures',
    window: 'raw',
    sql: `DELETE FROM signature_failures WHERE rowid IN (
            SELECT rowid FROM signature_failures WHERE minute < @cutoff / 60000 ORDER BY minute LIMIT @limit)`,
  },
];

/** Runs one target's batch in its own short write transaction; answers how many rows it deleted. */
export type DeleteBatch = (table: string, cutoff: number, limit: number) => number;

/** The tables a runner walks, in order, each with its window. */
export interface RetentionBatches {
  tables: { table: string; window: RetentionWindow }[];
  deleteBatch: DeleteBatch;
}

/** Prepares every target's statement once, for a retention runner to call batch by batch. */
export function createRetentionBatches(
  store: Store,
  targets: readonly RetentionTarget[] = RETENTION_TARGETS,
): RetentionBatches {
  const statements = new Map<string, Statement>(
    targets.map((t) => [t.table, store.sqlite.prepare(t.sql)] as const),
  );
  return {
    tables: targets.map((t) => ({ table: t.table, window: t.window })),
    deleteBatch(table, cutoff, limit) {
      const statement = statements.get(table);
      if (!statement) throw new Error(`retention: no table '${table}'`);
      // BEGIN IMMEDIATE: a second process waits for the lock rather than failing mid-transaction.
      return store.sqlite.transaction(() => statement.run({ cutoff, limit }).changes).immediate();
    },
  };
}

/** File size facts for the retention benchmark and the README's sizing note. */
export function pageFacts(store: Store): { pageSize: number; pages: number; freePages: number } {
  const { sqlite } = store;
  return {
    pageSize: Number(sqlite.pragma('page_size', { simple: true })),
    pages: Number(sqlite.pragma('page_count', { simple: true })),
    freePages: Number(sqlite.pragma('freelist_count', { simple: true })),
  };
}

import type { Store } from './db.js';
import { dayFormatter, storedRollupZone } from './results.js';

/**
 * What retention deletes, one entry per table: a table joins retention by adding an entry here. Each
 * entry's statement deletes at most @limit of the table's oldest rows that are older than @cutoff and
 * may go, walking an index, so one batch is a short transaction however large the table is.
 * src/ops/retention.ts runs the batches, table by table in this order.
 *
 * What never goes: a job that is not finished (whatever its age: a job waiting for a transcript or
 * for the operator is still work), and the last successful sweep (its start is the next sweep's
 * watermark).
 */
export interface RetentionTarget {
  /** The table, as the log line and the metrics name it. */
  table: string;
  /**
   * Which window applies: `raw`, what the service received and worked on (RETENTION_DAYS); `results`,
   * the scores people read (RESULTS_RETENTION_DAYS, at least as long); `spent`, rows that can no
   * longer be used (an expired session, a sign-in failure the throttle has forgotten).
   */
  window: RetentionWindow;
  /** DELETE of at most @limit rows older than @cutoff. */
  sql: string;
  /**
   * What @cutoff is: epoch ms (the default), or the calendar day (YYYY-MM-DD) the cutoff falls on in
   * the daily figures' time zone, for tables kept per day: a day goes once all of it is past the window.
   */
  cutoffAs?: 'ms' | 'day';
}

export type RetentionWindow = 'raw' | 'results' | 'spent';

/** The oldest @limit rows of `table` that match `where`, walking the index of `order`, by rowid. */
const oldest = (table: string, where: string, order: string) =>
  `DELETE FROM ${table} WHERE rowid IN (
     SELECT rowid FROM ${table} WHERE ${where} ORDER BY ${order} LIMIT @limit)`;

export const RETENTION_TARGETS: readonly RetentionTarget[] = [
  {
    // The raw deliveries (the webhook log): kept for audit and deduplication. A redelivery of one
    // older than the retention window is not expected (senders retry for hours or days, not months).
    table: 'webhook_events',
    window: 'raw',
    sql: oldest('webhook_events', 'received_at < @cutoff', 'received_at'),
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
    // What reviewers read and backtests rescore; by when it was stored (its result's evaluation time).
    // The result stays (RESULTS_RETENTION_DAYS): its page says the transcript went, backtests and
    // `examples` count it as skipped. The largest rows of the database, with results.
    table: 'transcripts',
    window: 'raw',
    sql: oldest('transcripts', 'stored_at < @cutoff', 'stored_at'),
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
    sql: oldest('signature_failures', 'minute < @cutoff / 60000', 'minute'),
  },
  {
    // By when they were evaluated. Each result's per-rule rows and reviewers' verdicts go with it
    // (ON DELETE CASCADE, through their result_id indexes; createRetentionBatches checks that the
    // connection enforces it). Before the daily figures: a pass reaches them only once every result
    // older than the cutoff is gone, so a day's figures never go while one of its results remains (a
    // result scored again subtracts its old counts from its day's figures: with that row gone, the
    // subtraction would leave a negative one).
    table: 'results',
    window: 'results',
    sql: `DELETE FROM results WHERE id IN (
            SELECT id FROM results WHERE evaluated_at < @cutoff ORDER BY evaluated_at LIMIT @limit)`,
  },
  {
    // The console's daily figures: whole days before the one the cutoff falls on, so the overview
    // and the agents pages count the same days the lists still hold (the cutoff's own day is kept,
    // whole, until the next day).
    table: 'daily_stats',
    window: 'results',
    cutoffAs: 'day',
    sql: oldest('daily_stats', 'day < @cutoff', 'day'),
  },
  {
    table: 'daily_rule_stats',
    window: 'results',
    cutoffAs: 'day',
    sql: oldest('daily_rule_stats', 'day < @cutoff', 'day'),
  },
  {
    table: 'daily_agent_rule_stats',
    window: 'results',
    cutoffAs: 'day',
    sql: oldest('daily_agent_rule_stats', 'day < @cutoff', 'day'),
  },
  {
    // A session past its expiry opens nothing (src/store/accounts.ts reads only live ones).
    table: 'sessions',
    window: 'spent',
    sql: oldest('sessions', 'expires_at < @cutoff', 'expires_at'),
  },
  {
    // Failures older than the throttle's memory, and no wait left: the throttle would start again
    // from nothing (src/auth/sign-in.ts), so the row slows nobody down.
    table: 'login_throttle',
    window: 'spent',
    sql: oldest('login_throttle', 'last_failure_at < @cutoff AND blocked_until < @cutoff', 'last_failure_at'),
  },
];

/** Runs one target's batch in its own short write transaction; answers how many rows it deleted. */
export type DeleteBatch = (table: string, cutoff: number, limit: number) => number;

/** The tables a runner walks, in order, each with its window. */
export interface RetentionBatches {
  tables: { table: string; window: RetentionWindow }[];
  deleteBatch: DeleteBatch;
}

/**
 * Prepares every target's statement once, for a retention runner to call batch by batch.
 * `timeZone`: the daily figures' zone when the database has not recorded one (TIME_ZONE).
 */
export function createRetentionBatches(
  store: Store,
  targets: readonly RetentionTarget[] = RETENTION_TARGETS,
  options: { timeZone?: string } = {},
): RetentionBatches {
  // A result's rules and reviews go by cascade: on a connection that does not enforce foreign keys
  // they would stay behind for ever, rows nothing reads.
  if (Number(store.sqlite.pragma('foreign_keys', { simple: true })) !== 1)
    throw new Error('retention: the connection must enforce foreign keys (PRAGMA foreign_keys = ON)');
  const prepared = new Map(
    targets.map((t) => [t.table, { statement: store.sqlite.prepare(t.sql), target: t }] as const),
  );
  const fallbackZone = options.timeZone ?? 'UTC';
  let days: { zone: string; dayOf: (ms: number) => string } | undefined;
  // Read at every batch: the service rebuilds the figures in another zone when TIME_ZONE changes.
  const dayOf = (ms: number): string => {
    const zone = storedRollupZone(store.sqlite) ?? fallbackZone;
    if (days?.zone !== zone) days = { zone, dayOf: dayFormatter(zone) };
    return days.dayOf(ms);
  };
  return {
    tables: targets.map((t) => ({ table: t.table, window: t.window })),
    deleteBatch(table, cutoff, limit) {
      const entry = prepared.get(table);
      if (!entry) throw new Error(`retention: no table '${table}'`);
      const at = entry.target.cutoffAs === 'day' ? dayOf(cutoff) : cutoff;
      // BEGIN IMMEDIATE: a second process waits for the lock rather than failing mid-transaction.
      return store.sqlite.transaction(() => entry.statement.run({ cutoff: at, limit }).changes).immediate();
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

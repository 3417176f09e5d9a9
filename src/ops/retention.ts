import type { Logger } from 'pino';
import type { Clock } from '../clock.js';
import { isBusy, retryWhileBusy } from '../store/db.js';
import type { RetentionBatches, RetentionWindow } from '../store/retention.js';

/**
 * Retention (RETENTION_DAYS, RESULTS_RETENTION_DAYS): deletes what is older than its window, off the
 * hot path. A pass walks
 * every table of src/store/retention.ts in batches of `batchSize` rows, each batch its own short write
 * transaction, and lets the event loop run between batches, so webhooks and the worker are never held
 * up behind a long delete. A batch runs on the event loop (better-sqlite3 is synchronous), so its size
 * adapts to keep it near `targetBatchMs`: a webhook's answer waits at most about one batch (measured
 * in BENCHMARKS.md).
 *
 * Freed pages go to SQLite's free list and are reused by later inserts, so under steady load the file
 * stops growing once the window is full; it does not shrink (bench/retention.ts shows both).
 */
export interface RetentionOptions {
  batches: RetentionBatches;
  clock: Clock;
  log: Logger;
  /**
   * Age past which rows go (ms), per window (src/store/retention.ts says which table has which); a
   * window of 0 (or none) keeps its tables' rows, and the pass does not walk them.
   */
  windows: Partial<Record<RetentionWindow, number>>;
  /** Most rows per batch. Default 500. */
  batchSize?: number;
  /**
   * How long one batch should hold the write lock at most (ms). Batches shrink (halving, down to 10
   * rows) when one takes longer, and grow back (up to batchSize) when they are quick: how many rows
   * fit depends on the table (a random-key index costs a page per row) and the disk. Default 20 ms.
   */
  targetBatchMs?: number;
  /** Real elapsed time (ms) for sizing batches; performance.now() unless a test gives one. */
  stopwatch?: () => number;
  /** Between passes. Default one hour. */
  intervalMs?: number;
  /** Before the first pass (start-up has other work to do first). Default one minute. */
  firstPassAfterMs?: number;
  /** Hears how many rows each batch deleted (metrics). */
  onDeleted?: (table: string, rows: number) => void;
  /** Lets the event loop run between batches. Default: setImmediate. */
  yieldToLoop?: () => Promise<void>;
}

export interface RetentionPass {
  /** Per window: rows older than this went (absent: the window keeps everything). */
  cutoffs: Partial<Record<RetentionWindow, number>>;
  deleted: Record<string, number>;
  batches: number;
  /** The longest a batch held the write lock (ms, real time). */
  longestBatchMs: number;
  durationMs: number;
  /** True when stopped before every table was done. */
  interrupted: boolean;
}

export interface Retention {
  /** One pass now; resolves with what it deleted (and logs one line). */
  runPass(): Promise<RetentionPass>;
  /** Passes every `intervalMs` until stop(). */
  start(): void;
  /** Stops between two batches; resolves once a pass in progress has stopped. */
  stop(): Promise<void>;
}

const setImmediatePromise = () => new Promise<void>((resolve) => setImmediate(resolve));

export function createRetention(options: RetentionOptions): Retention {
  const { batches, clock, log, windows } = options;
  const batchSize = options.batchSize ?? 500;
  const targetBatchMs = options.targetBatchMs ?? 20;
  const stopwatch = options.stopwatch ?? (() => performance.now());
  const MIN_BATCH = Math.min(10, batchSize);
  // Per table, the batch size that last fit the target (kept across passes).
  const sizes = new Map<string, number>();
  const intervalMs = options.intervalMs ?? 3_600_000;
  const firstPassAfterMs = options.firstPassAfterMs ?? 60_000;
  const yieldToLoop = options.yieldToLoop ?? setImmediatePromise;
  const stopping = new AbortController();
  let running: Promise<RetentionPass> | undefined;
  let loop: Promise<void> | undefined;

  async function pass(): Promise<RetentionPass> {
    const started = clock.now();
    const cutoffs: Partial<Record<RetentionWindow, number>> = {};
    for (const [window, ms] of Object.entries(windows) as [RetentionWindow, number | undefined][])
      if (ms !== undefined && ms > 0) cutoffs[window] = started - ms;
    const tables = batches.tables.filter((t) => cutoffs[t.window] !== undefined);
    const deleted: Record<string, number> = Object.fromEntries(tables.map((t) => [t.table, 0]));
    let count = 0;
    let longestBatchMs = 0;
    let interrupted = false;
    for (const { table, window } of tables) {
      const cutoff = cutoffs[window]!;
      for (;;) {
        if (stopping.signal.aborted) {
          interrupted = true;
          break;
        }
        const size = sizes.get(table) ?? batchSize;
        let took = 0;
        // Another process holding the lock is waited for with timers (a few ms of busy_timeout, then
        // retries), never on the event loop; past a lease-length of trying, the pass ends here and the
        // next one goes on.
        const rows = await retryWhileBusy(
          () => {
            const before = stopwatch();
            try {
              return batches.deleteBatch(table, cutoff, size);
            } finally {
              took = stopwatch() - before;
            }
          },
          { clock, budgetMs: 15_000, signal: stopping.signal },
        );
        longestBatchMs = Math.max(longestBatchMs, took);
        // Only a full batch says what `size` rows cost: a short one (the table's last rows, or nothing
        // to delete this hour) is quick because it deleted little, and growing on it would send the
        // next burst (a whole day of daily figures at once) in at full size.
        if (took > targetBatchMs) sizes.set(table, Math.max(MIN_BATCH, Math.floor(size / 2)));
        else if (rows === size && took < targetBatchMs / 4) sizes.set(table, Math.min(batchSize, size * 2));
        count++;
        deleted[table] = (deleted[table] ?? 0) + rows;
        if (rows > 0) options.onDeleted?.(table, rows);
        if (rows < size) break;
        await yieldToLoop();
      }
      if (interrupted) break;
    }
    const result: RetentionPass = {
      cutoffs,
      deleted,
      batches: count,
      longestBatchMs,
      durationMs: clock.now() - started,
      interrupted,
    };
    log.info(
      {
        unit: 'retention',
        cutoffs: Object.fromEntries(
          Object.entries(cutoffs).map(([window, at]) => [window, new Date(at).toISOString()]),
        ),
        deleted,
        batches: count,
        longestBatchMs,
        durationMs: result.durationMs,
        ...(interrupted ? { interrupted } : {}),
      },
      'retention pass finished',
    );
    return result;
  }

  const runPass = (): Promise<RetentionPass> => {
    running ??= pass().finally(() => {
      running = undefined;
    });
    return running;
  };

  return {
    runPass,
    start() {
      if (loop || stopping.signal.aborted) return;
      loop = (async () => {
        let wait = firstPassAfterMs;
        for (;;) {
          try {
            await clock.sleep(wait, stopping.signal);
          } catch {
            return;
          }
          wait = intervalMs;
          try {
            await runPass();
          } catch (error) {
            if (stopping.signal.aborted) return;
            // The database stayed locked past the pass's patience, or failed: the next pass tries again.
            if (isBusy(error))
              log.warn({ unit: 'retention' }, 'retention pass gave up: the database stayed locked');
            else log.error({ err: error, unit: 'retention' }, 'retention pass failed');
          }
        }
      })();
    },
    async stop() {
      stopping.abort();
      await running?.catch(() => undefined);
      await loop;
    },
  };
}

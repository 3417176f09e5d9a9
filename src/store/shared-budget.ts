import Database from 'better-sqlite3';
import type { Clock } from '../clock.js';
import { DEFAULT_BUDGET_SCOPE, type RequestBudget } from '../cxone/types.js';
import { COMMAND_BUSY_TIMEOUT_MS, isBusy, setBusyTimeout } from './db.js';

// While another process holds the database, how long a waiter pauses before asking again (a timer,
// so the event loop runs meanwhile).
const LOCKED_RETRY_MS = 25;

/**
 * The CXone call budget kept in the database, so every process on it (`npm start` and
 * `npm run sweep` together) shares one sliding minute.
 *
 * Grants are counted per second. A call may go when the grants of the last 61 seconds (the current
 * one included) sum to less than `maxPerMinute`: every grant of the minute before `now` lies in those
 * seconds, so the sum never undercounts and no 60 s window can ever hold more than the budget; the
 * price is that a slot comes back up to one second late. A row per call would be exact, but counting
 * thousands of rows on every call cost ~0.8 ms at 200 calls/s (BENCHMARKS.md).
 *
 * It uses its own connection with synchronous=NORMAL: a grant needs no fsync on commit (after a power
 * loss the minute has passed anyway). Not OFF: any connection may run SQLite's automatic checkpoint,
 * and with OFF that checkpoint would skip the fsync that keeps the webhooks' FULL commits durable. Within this
 * process, waiters of one scope queue in order, so only one of them polls the table at a time; waiters
 * of another scope queue on their own, so an API paused by a 429 does not hold up the others.
 */
export function createSharedBudget(options: {
  path: string;
  maxPerMinute: number;
  clock: Clock;
  /**
   * The connection's busy timeout. The service passes a few milliseconds (SERVICE_BUSY_TIMEOUT_MS): a
   * lock held longer is waited for with timers instead of blocking the event loop.
   */
  busyTimeoutMs?: number;
  /**
   * Longest pause honoured from the table (CXONE_MAX_RETRY_AFTER_SECONDS): a longer one, written by
   * an older version or a process with a larger setting, is cut down to it when read. Default: none.
   */
  maxPauseMs?: number;
}): RequestBudget & { pausedUntil(scope?: string): number; close(): void } {
  const { maxPerMinute, clock } = options;
  const maxPauseMs = options.maxPauseMs ?? Number.POSITIVE_INFINITY;
  const sqlite = new Database(options.path);
  setBusyTimeout(sqlite, options.busyTimeoutMs ?? COMMAND_BUSY_TIMEOUT_MS);
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('synchronous = NORMAL');
  const prune = sqlite.prepare('DELETE FROM budget_seconds WHERE second < ?');
  const window = sqlite.prepare(
    'SELECT coalesce(sum(grants), 0) AS n, min(second) AS oldest FROM budget_seconds WHERE second >= ?',
  );
  const grant = sqlite.prepare(
    'INSERT INTO budget_seconds (second, grants) VALUES (?, 1) ON CONFLICT(second) DO UPDATE SET grants = grants + 1',
  );
  const pausedUntil = sqlite.prepare('SELECT paused_until AS until FROM budget_state WHERE scope = ?');
  const setPause = sqlite.prepare(
    'INSERT INTO budget_state (scope, paused_until) VALUES (?, ?) ON CONFLICT(scope) DO UPDATE SET paused_until = max(paused_until, excluded.paused_until)',
  );
  const shortenPause = sqlite.prepare(
    'UPDATE budget_state SET paused_until = ? WHERE scope = ? AND paused_until > ?',
  );

  /** The pause of `scope` in force, never further than maxPauseMs from now. */
  const pauseOf = (now: number, scope: string): number => {
    const stored = (pausedUntil.get(scope) as { until: number } | undefined)?.until ?? 0;
    return Math.min(stored, now + maxPauseMs);
  };

  /** Takes a slot now (0), or says how long to wait before asking again. */
  const tryAcquireTx = sqlite.transaction((now: number, scope: string): number => {
    const pause = pauseOf(now, scope);
    if (Number.isFinite(maxPauseMs)) {
      // Write the cut-down pause back: `npm run status` then shows what is really honoured.
      shortenPause.run(Math.round(now + maxPauseMs), scope, Math.round(now + maxPauseMs));
    }
    if (pause > now) return pause - now;
    const first = Math.floor((now - 60_000) / 1000);
    prune.run(first);
    const { n, oldest } = window.get(first) as { n: number; oldest: number | null };
    if (n < maxPerMinute) {
      grant.run(Math.floor(now / 1000));
      return 0;
    }
    // The oldest counted second stops counting once `first` has passed it.
    return Math.max(1, ((oldest ?? first) + 1) * 1000 + 60_000 - now);
  });
  // Pauses this process was told of but could not write yet (the database was locked): honoured here
  // at once, and written at the next look at the table.
  const unwrittenPauses = new Map<string, number>();
  const writePauses = (): void => {
    for (const [scope, until] of unwrittenPauses) {
      setPause.run(scope, until);
      unwrittenPauses.delete(scope);
    }
  };

  // BEGIN IMMEDIATE: the count and the grant must not interleave with another process's. A lock held
  // by another process is not a reason to spend the budget: the caller waits and asks again.
  const tryAcquire = (now: number, scope: string): number => {
    const unwritten = unwrittenPauses.get(scope) ?? 0;
    try {
      writePauses();
      return unwritten > now ? unwritten - now : tryAcquireTx.immediate(now, scope);
    } catch (error) {
      if (!isBusy(error)) throw error;
      return Math.max(unwritten - now, LOCKED_RETRY_MS);
    }
  };

  /** Per scope, the last waiter's turn: the next one of that scope starts polling after it. */
  const queues = new Map<string, Promise<void>>();

  return {
    acquire(signal, scope = DEFAULT_BUDGET_SCOPE) {
      const turn = (queues.get(scope) ?? Promise.resolve()).then(async () => {
        for (;;) {
          signal?.throwIfAborted();
          const wait = tryAcquire(clock.now(), scope);
          if (wait === 0) return;
          // Poll at least every second: another process may have paused or used the budget.
          await clock.sleep(Math.min(wait, 1_000), signal);
        }
      });
      // A waiter that gives up must not block the ones behind it.
      const settled = turn.catch(() => undefined);
      queues.set(scope, settled);
      // The last waiter of a scope leaves no entry behind.
      void settled.then(() => {
        if (queues.get(scope) === settled) queues.delete(scope);
      });
      return turn;
    },
    pauseUntil(untilMs, scope = DEFAULT_BUDGET_SCOPE) {
      if (!Number.isFinite(untilMs)) return;
      const until = Math.max(Math.round(untilMs), unwrittenPauses.get(scope) ?? 0);
      try {
        setPause.run(scope, until);
      } catch (error) {
        if (!isBusy(error)) throw error;
        unwrittenPauses.set(scope, until);
      }
    },
    pausedUntil(scope = DEFAULT_BUDGET_SCOPE) {
      const unwritten = unwrittenPauses.get(scope) ?? 0;
      try {
        return Math.max(unwritten, pauseOf(clock.now(), scope));
      } catch (error) {
        // For a message only: a locked table is no reason to fail; say what this process knows.
        if (!isBusy(error)) throw error;
        return unwritten;
      }
    },
    close() {
      if (sqlite.open) sqlite.close();
    },
  };
}

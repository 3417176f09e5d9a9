import Database from 'better-sqlite3';
import type { Clock } from '../clock.js';
import type { RequestBudget } from '../cxone/types.js';

/**
 * The CXone call budget kept in the database, so every process on it (`npm start` and
 * `npm run sweep` together) shares one sliding minute. Each grant is a row; a call may go when
 * fewer than `maxPerMinute` grants fall in the last 60 s and no 429 pause is running.
 *
 * It uses its own connection with synchronous=OFF: a grant needs no fsync (after a power loss the
 * minute has passed anyway), and it must not wait behind the main connection's fsyncs. Within this
 * process, waiters queue in order, so only one of them polls the table at a time.
 */
export function createSharedBudget(options: {
  path: string;
  maxPerMinute: number;
  clock: Clock;
}): RequestBudget & { close(): void } {
  const { maxPerMinute, clock } = options;
  const sqlite = new Database(options.path);
  sqlite.pragma('busy_timeout = 10000');
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('synchronous = OFF');
  const prune = sqlite.prepare('DELETE FROM budget_grants WHERE at <= ?');
  const count = sqlite.prepare('SELECT count(*) AS n, min(at) AS oldest FROM budget_grants WHERE at > ?');
  const grant = sqlite.prepare('INSERT INTO budget_grants (at) VALUES (?)');
  const pausedUntil = sqlite.prepare('SELECT paused_until AS until FROM budget_state WHERE id = 1');
  const setPause = sqlite.prepare(
    'INSERT INTO budget_state (id, paused_until) VALUES (1, ?) ON CONFLICT(id) DO UPDATE SET paused_until = max(paused_until, excluded.paused_until)',
  );

  /** Takes a slot now, or says how long to wait before asking again. */
  const tryAcquireTx = sqlite.transaction((now: number): number => {
    prune.run(now - 60_000);
    const pause = (pausedUntil.get() as { until: number } | undefined)?.until ?? 0;
    if (pause > now) return pause - now;
    const { n, oldest } = count.get(now - 60_000) as { n: number; oldest: number | null };
    if (n < maxPerMinute) {
      grant.run(now);
      return 0;
    }
    return Math.max(1, (oldest ?? now) + 60_000 - now + 1);
  });
  // BEGIN IMMEDIATE: the count and the insert must not interleave with another process's.
  const tryAcquire = (now: number): number => tryAcquireTx.immediate(now);

  let queue: Promise<void> = Promise.resolve();

  return {
    acquire(signal) {
      const turn = queue.then(async () => {
        for (;;) {
          signal?.throwIfAborted();
          const wait = tryAcquire(clock.now());
          if (wait === 0) return;
          // Poll at least every second: another process may have been granted or released slots.
          await clock.sleep(Math.min(wait, 1_000), signal);
        }
      });
      // A waiter that gives up must not block the ones behind it.
      queue = turn.catch(() => undefined);
      return turn;
    },
    pauseUntil(untilMs) {
      setPause.run(untilMs);
    },
    close() {
      if (sqlite.open) sqlite.close();
    },
  };
}

import type { Clock } from '../clock.js';
import { DEFAULT_BUDGET_SCOPE, type RequestBudget } from './types.js';

export const BUDGET_WINDOW_MS = 60_000;

export interface SlidingWindowBudgetOptions {
  /** At most this many acquisitions in any sliding window of 60 s. */
  maxPerMinute: number;
  clock: Clock;
}

interface Waiter {
  scope: string;
  resolve: () => void;
  reject: (reason: unknown) => void;
  signal?: AbortSignal;
  onAbort?: () => void;
}

/**
 * An in-memory sliding-window budget for one process.
 *
 * Why a log of grant times and not a counter per minute: a fixed window (p-queue's `interval`) lets
 * the whole budget through at the end of one window and again at the start of the next, i.e. twice
 * the budget within one real minute. Keeping the times of the last `maxPerMinute` grants makes the
 * rule exact: the next grant may happen no earlier than the oldest of them + 60 s, so no half-open
 * window [t, t + 60 s) ever holds more than `maxPerMinute` grants.
 *
 * Waiters are served first come, first served: a single pump grants the first waiter whose scope is
 * not paused by a 429 and only then looks at the next, so a late caller cannot overtake one that has
 * waited longer, and a paused API does not hold up the calls of the others.
 */
export function createSlidingWindowBudget(options: SlidingWindowBudgetOptions): RequestBudget & {
  /** Callers waiting for a slot (for tests and metrics). */
  readonly waiting: number;
  pausedUntil(scope?: string): number;
} {
  const { clock } = options;
  const max = Math.floor(options.maxPerMinute);
  if (!Number.isFinite(max) || max < 1) {
    throw new RangeError(`maxPerMinute must be a positive integer, got ${options.maxPerMinute}`);
  }

  /** Times of the most recent grants, oldest first, at most `max` of them. */
  const grants: number[] = [];
  const waiters: Waiter[] = [];
  /** Per scope: no call of it before this time (a 429's wait). */
  const pausedUntil = new Map<string, number>();
  let pumping = false;
  /**
   * Cancels the pump's sleep: when the queue empties (every waiter aborted), so no timer lingers, and
   * when a waiter arrives, since it may be of a scope that can go before the one the pump sleeps for.
   */
  let pumpSleep: AbortController | undefined;

  /** Earliest time at which one more grant fits the window. */
  function windowFreeAt(): number {
    return grants.length < max ? Number.NEGATIVE_INFINITY : grants[0]! + BUDGET_WINDOW_MS;
  }

  function pauseOf(scope: string): number {
    return pausedUntil.get(scope) ?? 0;
  }

  function grant(now: number): void {
    grants.push(now);
    if (grants.length > max) grants.shift();
  }

  function removeWaiter(waiter: Waiter): void {
    const index = waiters.indexOf(waiter);
    if (index >= 0) waiters.splice(index, 1);
    if (waiters.length === 0) pumpSleep?.abort();
  }

  async function pump(): Promise<void> {
    if (pumping) return;
    pumping = true;
    try {
      while (waiters.length > 0) {
        const now = clock.now();
        let at = windowFreeAt();
        if (at <= now) {
          const index = waiters.findIndex((w) => pauseOf(w.scope) <= now);
          if (index >= 0) {
            const [head] = waiters.splice(index, 1);
            if (head!.onAbort) head!.signal?.removeEventListener('abort', head!.onAbort);
            grant(now);
            head!.resolve();
            continue;
          }
          // Every waiter's scope is paused: sleep until the first pause ends.
          at = Math.min(...waiters.map((w) => pauseOf(w.scope)));
        }
        // Sleep until a slot opens. A pause that arrives meanwhile only ever moves a time later, so
        // waking at the old time and re-checking is enough; a new waiter interrupts the sleep.
        pumpSleep = new AbortController();
        try {
          await clock.sleep(at - now, pumpSleep.signal);
        } catch {
          // Interrupted: the loop looks again (and ends when the queue emptied).
        } finally {
          pumpSleep = undefined;
        }
      }
    } finally {
      pumping = false;
    }
  }

  return {
    get waiting() {
      return waiters.length;
    },

    acquire(signal?: AbortSignal, scope = DEFAULT_BUDGET_SCOPE): Promise<void> {
      if (signal?.aborted) return Promise.reject(signal.reason);
      const now = clock.now();
      // Fast path keeps FIFO: only when nobody is queued may a caller take a free slot directly.
      if (waiters.length === 0 && windowFreeAt() <= now && pauseOf(scope) <= now) {
        grant(now);
        return Promise.resolve();
      }
      return new Promise<void>((resolve, reject) => {
        const waiter: Waiter = { scope, resolve, reject };
        if (signal) {
          waiter.signal = signal;
          waiter.onAbort = () => {
            removeWaiter(waiter);
            reject(signal.reason);
          };
          signal.addEventListener('abort', waiter.onAbort, { once: true });
        }
        waiters.push(waiter);
        pumpSleep?.abort();
        void pump();
      });
    },

    pauseUntil(untilMs: number, scope = DEFAULT_BUDGET_SCOPE): void {
      // A later pause extends the current one; an earlier one never shortens it.
      if (Number.isFinite(untilMs) && untilMs > pauseOf(scope)) pausedUntil.set(scope, untilMs);
    },

    pausedUntil(scope = DEFAULT_BUDGET_SCOPE): number {
      return pauseOf(scope);
    },
  };
}

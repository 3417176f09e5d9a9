import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { BUDGET_WINDOW_MS, createSlidingWindowBudget } from '../../src/cxone/budget.js';

/** Lets resolved promises' continuations run. */
async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
}

/** Largest number of times falling in any half-open window [t, t + windowMs). */
function maxInAnyWindow(times: number[], windowMs = BUDGET_WINDOW_MS): number {
  const sorted = [...times].sort((a, b) => a - b);
  let best = 0;
  let start = 0;
  for (let end = 0; end < sorted.length; end++) {
    while (sorted[end]! - sorted[start]! >= windowMs) start++;
    best = Math.max(best, end - start + 1);
  }
  return best;
}

describe('createSlidingWindowBudget', () => {
  it('grants up to the budget at once, then makes the next caller wait for the oldest grant to age out', async () => {
    const clock = new ManualClock();
    const budget = createSlidingWindowBudget({ maxPerMinute: 3, clock });
    const t0 = clock.now();
    for (let i = 0; i < 3; i++) await budget.acquire();

    let granted = false;
    const fourth = budget.acquire().then(() => {
      granted = true;
    });
    await settle();
    expect(granted).toBe(false);
    await clock.advance(BUDGET_WINDOW_MS - 1);
    await settle();
    expect(granted).toBe(false);
    await clock.advance(1);
    await fourth;
    expect(clock.now()).toBe(t0 + BUDGET_WINDOW_MS);
  });

  it('never lets more than N through in any sliding minute, across the edge of a fixed minute', async () => {
    const clock = new ManualClock();
    const budget = createSlidingWindowBudget({ maxPerMinute: 5, clock });
    const times: number[] = [];
    // A burst late in one "fixed" minute: a fixed window would let 5 more through right after the edge.
    await clock.advance(55_000);
    const callers = Array.from({ length: 23 }, () => budget.acquire().then(() => times.push(clock.now())));
    await settle();
    for (let i = 0; i < 40 && times.length < 23; i++) {
      await clock.advance(7_000);
      await settle();
    }
    await Promise.all(callers);
    expect(times).toHaveLength(23);
    expect(maxInAnyWindow(times)).toBe(5);
    // Spacing is also not wasteful: grant k+5 happens exactly one minute after grant k here.
    expect(times[5]! - times[0]!).toBeLessThanOrEqual(BUDGET_WINDOW_MS + 7_000);
  });

  it('counts grants with mixed spacing correctly (irregular arrivals)', async () => {
    const clock = new ManualClock();
    const budget = createSlidingWindowBudget({ maxPerMinute: 4, clock });
    const times: number[] = [];
    const pending: Promise<unknown>[] = [];
    const arrivals = [0, 100, 20_000, 59_000, 59_900, 60_050, 61_000, 90_000, 119_000, 119_500, 121_000];
    let last = 0;
    for (const at of arrivals) {
      await clock.advance(at - last);
      last = at;
      pending.push(budget.acquire().then(() => times.push(clock.now())));
      await settle();
    }
    for (let i = 0; i < 100 && times.length < arrivals.length; i++) {
      await clock.advance(1_000);
      await settle();
    }
    await Promise.all(pending);
    expect(maxInAnyWindow(times)).toBeLessThanOrEqual(4);
  });

  it('serves waiters first come, first served', async () => {
    const clock = new ManualClock();
    const budget = createSlidingWindowBudget({ maxPerMinute: 1, clock });
    await budget.acquire();
    const order: number[] = [];
    const callers = [1, 2, 3, 4].map((n) => budget.acquire().then(() => order.push(n)));
    await settle();
    for (let i = 0; i < 5; i++) {
      await clock.advance(BUDGET_WINDOW_MS);
      await settle();
    }
    await Promise.all(callers);
    expect(order).toEqual([1, 2, 3, 4]);
  });

  it('does not let a newcomer overtake a queued waiter even when a slot is free by then', async () => {
    // A clock whose time moves without waking sleepers: the moment between a slot opening and the
    // queue's pump noticing it is exactly when a newcomer could jump the queue.
    let now = 0;
    const wakeups: (() => void)[] = [];
    const clock = {
      now: () => now,
      sleep: () => new Promise<void>((resolve) => wakeups.push(resolve)),
    };
    const budget = createSlidingWindowBudget({ maxPerMinute: 1, clock });
    await budget.acquire();
    const order: string[] = [];
    const first = budget.acquire().then(() => order.push('queued'));
    await settle();
    now += BUDGET_WINDOW_MS;
    const late = budget.acquire().then(() => order.push('late'));
    await settle();
    expect(order).toEqual([]);
    wakeups.shift()?.();
    await first;
    now += BUDGET_WINDOW_MS;
    wakeups.shift()?.();
    await late;
    expect(order).toEqual(['queued', 'late']);
  });

  it('pauseUntil blocks every acquisition, even with budget left, and an earlier pause never shortens it', async () => {
    const clock = new ManualClock();
    const budget = createSlidingWindowBudget({ maxPerMinute: 100, clock });
    const t0 = clock.now();
    budget.pauseUntil(t0 + 10_000);
    budget.pauseUntil(t0 + 2_000); // earlier: ignored
    const granted: number[] = [];
    const a = budget.acquire().then(() => granted.push(clock.now()));
    const b = budget.acquire().then(() => granted.push(clock.now()));
    await clock.advance(5_000);
    await settle();
    expect(granted).toEqual([]);
    budget.pauseUntil(t0 + 15_000); // later: extends
    await clock.advance(5_000);
    await settle();
    expect(granted).toEqual([]);
    await clock.advance(5_000);
    await Promise.all([a, b]);
    expect(granted).toEqual([t0 + 15_000, t0 + 15_000]);
    // After the pause, calls go straight through again.
    await budget.acquire();
  });

  it('an aborted wait rejects with the reason, frees its place and costs no budget', async () => {
    const clock = new ManualClock();
    const budget = createSlidingWindowBudget({ maxPerMinute: 1, clock });
    await budget.acquire();
    const controller = new AbortController();
    const aborted = budget.acquire(controller.signal);
    const next = budget.acquire();
    expect(budget.waiting).toBe(2);
    controller.abort(new Error('caller gave up'));
    await expect(aborted).rejects.toThrow('caller gave up');
    expect(budget.waiting).toBe(1);
    await clock.advance(BUDGET_WINDOW_MS);
    await next;
    // The aborted waiter took no slot: the one after `next` waits a full minute after `next`.
    let third = false;
    const p = budget.acquire().then(() => {
      third = true;
    });
    await clock.advance(BUDGET_WINDOW_MS - 1);
    await settle();
    expect(third).toBe(false);
    await clock.advance(1);
    await p;
  });

  it('rejects at once when the signal is already aborted, and stops sleeping when every waiter aborted', async () => {
    const clock = new ManualClock();
    const budget = createSlidingWindowBudget({ maxPerMinute: 1, clock });
    await expect(budget.acquire(AbortSignal.abort(new Error('already')))).rejects.toThrow('already');
    await budget.acquire();
    const controller = new AbortController();
    const waiting = budget.acquire(controller.signal);
    await settle();
    expect(clock.pendingSleeps).toBe(1);
    controller.abort(new Error('stop'));
    await expect(waiting).rejects.toThrow('stop');
    await settle();
    expect(clock.pendingSleeps).toBe(0);
  });

  it('refuses a budget that is not a positive number', () => {
    const clock = new ManualClock();
    expect(() => createSlidingWindowBudget({ maxPerMinute: 0, clock })).toThrow(RangeError);
  });
});

describe('429 pauses per scope (the API that answered 429)', () => {
  it('a pause holds the calls of its scope only; the others go on, and the paused ones keep their order', async () => {
    const clock = new ManualClock();
    const budget = createSlidingWindowBudget({ maxPerMinute: 100, clock });
    const t0 = clock.now();
    budget.pauseUntil(t0 + 10_000, 'reporting');
    const granted: string[] = [];
    const take = (name: string, scope: string) =>
      budget.acquire(undefined, scope).then(() => granted.push(name));
    const r1 = take('reporting-1', 'reporting');
    const m1 = take('media-1', 'media');
    const r2 = take('reporting-2', 'reporting');
    const m2 = take('media-2', 'media');
    await Promise.all([m1, m2]);
    await settle();
    expect(granted).toEqual(['media-1', 'media-2']);
    // Another scope, and the default one, are not paused either.
    await budget.acquire();
    await clock.advance(10_000);
    await Promise.all([r1, r2]);
    expect(granted).toEqual(['media-1', 'media-2', 'reporting-1', 'reporting-2']);
  });

  it('a waiter of an unpaused scope is served at once even while the pump sleeps for a paused one', async () => {
    const clock = new ManualClock();
    const budget = createSlidingWindowBudget({ maxPerMinute: 100, clock });
    budget.pauseUntil(clock.now() + 60_000, 'a');
    const paused = budget.acquire(undefined, 'a');
    await settle();
    let other = false;
    const free = budget.acquire(undefined, 'b').then(() => {
      other = true;
    });
    await settle();
    expect(other).toBe(true);
    await free;
    await clock.advance(60_000);
    await paused;
  });

  it('the sliding minute stays one for every scope', async () => {
    const clock = new ManualClock();
    const budget = createSlidingWindowBudget({ maxPerMinute: 2, clock });
    await budget.acquire(undefined, 'a');
    await budget.acquire(undefined, 'b');
    let third = false;
    const p = budget.acquire(undefined, 'c').then(() => {
      third = true;
    });
    await clock.advance(BUDGET_WINDOW_MS - 1);
    await settle();
    expect(third).toBe(false);
    await clock.advance(1);
    await p;
  });
});

/**
 * How threads split a backtest's window: the window cut into shares of CHUNK results (where each
 * starts, read once before the threads begin), and a counter in shared memory each thread advances
 * to claim the next share. A thread that starts late (loading its code) or runs on a busier core
 * takes fewer shares instead of holding up the others.
 */
import type { ResultCursor } from '../store/results.js';
import type { ClaimShare } from './partition.js';

export interface Shares {
  starts: ResultCursor[];
  /** One Int32: the index of the next unclaimed share. */
  counter: SharedArrayBuffer;
}

export function makeShares(starts: ResultCursor[]): Shares {
  return { starts, counter: new SharedArrayBuffer(4) };
}

export function claimFrom(shares: Shares): ClaimShare {
  const next = new Int32Array(shares.counter);
  return () => {
    const i = Atomics.add(next, 0, 1);
    const from = shares.starts[i];
    if (!from) return null;
    const to = shares.starts[i + 1];
    return to ? { from, to } : { from };
  };
}

import { describe, expect, it } from 'vitest';
import { parseTimestamp } from '../../src/scoring/index.js';

describe('parseTimestamp: seconds from the start of the call, null when unreadable', () => {
  it.each([
    ['00:01:23.5', 83.5],
    ['01:23', 83],
    ['83.5', 83.5],
    ['1:02:03', 3723],
    ['2024-05-10T14:30:00Z', Date.UTC(2024, 4, 10, 14, 30) / 1000],
    ['', null],
    ['soon', null],
    ['00:99:00', null],
  ])('%j → %j', (raw, seconds) => {
    expect(parseTimestamp(raw)?.seconds ?? null).toBe(seconds);
  });
});

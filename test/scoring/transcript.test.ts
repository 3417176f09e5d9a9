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
    // Offsets read character by character: what the pattern [H+:]M{1,2}:S{1,2}[.F+] | S+[.F+] allows.
    [' 00:01:02.50 ', 62.5],
    ['75:30', 4530],
    ['1:2.000', 62],
    ['007', 7],
    ['123456:00:00', 123456 * 3600],
    ['00:61', null],
    ['00:00:60', null],
    ['1:2:3:4', null],
    ['123:45', null],
    ['12:34:56.', null],
    ['1.5:30', null],
    ['.5', null],
    ['١٢:٣٤', null],
    // ISO times: CXone's own form computed directly, anything else as Date.parse reads it.
    ['2024-05-10T14:30:04.250Z', Date.UTC(2024, 4, 10, 14, 30, 4, 250) / 1000],
    ['2024-02-29T23:59:59Z', Date.UTC(2024, 1, 29, 23, 59, 59) / 1000],
    ['2024-05-10T14:30:04+02:00', Date.UTC(2024, 4, 10, 12, 30, 4) / 1000],
    ['2024-02-30T00:00:00Z', Date.parse('2024-02-30T00:00:00Z') / 1000 || null],
    ['2024-13-01T00:00:00Z', null],
    ['2024-05-10T24:00:00Z', Date.parse('2024-05-10T24:00:00Z') / 1000 || null],
    ['0099-01-01T00:00:00Z', Date.parse('0099-01-01T00:00:00Z') / 1000],
  ])('%j → %j', (raw, seconds) => {
    expect(parseTimestamp(raw)?.seconds ?? null).toBe(seconds);
  });

  it('tells offsets from absolute times', () => {
    expect(parseTimestamp('00:00:05')?.kind).toBe('offset');
    expect(parseTimestamp('5')?.kind).toBe('offset');
    expect(parseTimestamp('2024-05-10T14:30:04.000Z')?.kind).toBe('absolute');
    expect(parseTimestamp('2024-05-10 14:30')?.kind).toBe('absolute');
  });
});

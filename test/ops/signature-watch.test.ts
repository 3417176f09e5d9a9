import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { createSignatureWatch } from '../../src/ops/signature-watch.js';
import {
  createSignatureFailureWriter,
  readSignatureFailures,
  type SignatureFailureCount,
} from '../../src/store/signature-failures.js';
import { tempStore } from '../support/db.js';

const START = Date.UTC(2026, 0, 1, 12, 0, 0);
const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

function watch(write: (counts: SignatureFailureCount[]) => void = () => undefined) {
  const clock = new ManualClock(START);
  const lines: Record<string, unknown>[] = [];
  const log = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line)) });
  const w = createSignatureWatch({ clock, log, write });
  const warnings = () => lines.filter((l) => l.level === 40);
  return { clock, w, warnings };
}

describe('signature watch', () => {
  it('warns at the first refusal, then at most once a minute with how many and why, and when the last valid delivery came', async () => {
    const { clock, w, warnings } = watch();
    w.accepted();
    await clock.advance(5_000);
    w.refused('no_match');
    expect(warnings()).toHaveLength(1);
    expect(warnings()[0]).toMatchObject({
      refused: 1,
      reasons: { no_match: 1 },
      lastValidDeliveryAt: new Date(START).toISOString(),
    });
    expect(String(warnings()[0]!.hint)).toContain('WEBHOOK_SECRET');
    // A flood within the minute: no line per request.
    for (let i = 0; i < 500; i++) w.refused('no_match');
    w.refused('stale');
    expect(warnings()).toHaveLength(1);
    await clock.advance(60_000);
    expect(warnings()).toHaveLength(2);
    expect(warnings()[1]).toMatchObject({ refused: 501, reasons: { no_match: 500, stale: 1 } });
    expect(String(warnings()[1]!.msg)).toMatch(/in the last 60 s/);
    // A quiet minute: nothing more, and no timer left ticking.
    await clock.advance(10 * 60_000);
    expect(warnings()).toHaveLength(2);
    expect(clock.pendingSleeps).toBe(0);
    // The next refusal after the quiet spell warns at once again.
    w.refused('future');
    expect(warnings()).toHaveLength(3);
    expect(String(warnings()[2]!.hint)).toMatch(/clock/);
    w.close();
  });

  it('writes the counts per minute and reason at most once a minute, never once per request, and the rest on close', async () => {
    const writes: SignatureFailureCount[][] = [];
    const { clock, w } = watch((counts) => writes.push(counts.map((c) => ({ ...c }))));
    w.refused('no_match');
    expect(writes).toHaveLength(1);
    for (let i = 0; i < 100; i++) w.refused('no_match');
    expect(writes).toHaveLength(1);
    await clock.advance(60_000);
    expect(writes).toHaveLength(2);
    expect(writes[1]!.reduce((n, c) => n + c.failures, 0)).toBe(100);
    w.refused('stale');
    w.close();
    expect(writes).toHaveLength(3);
    expect(writes[2]).toEqual([
      expect.objectContaining({ reason: 'stale', failures: 1, minute: Math.floor(clock.now() / 60_000) }),
    ]);
  });

  it('counts a write could not make (a locked database) are kept for the next one', async () => {
    let fail = true;
    const written: SignatureFailureCount[] = [];
    const { clock, w } = watch((counts) => {
      if (fail) throw Object.assign(new Error('database is locked'), { code: 'SQLITE_BUSY' });
      written.push(...counts);
    });
    w.refused('no_match');
    fail = false;
    await clock.advance(60_000);
    expect(written.reduce((n, c) => n + c.failures, 0)).toBe(1);
    w.close();
  });
});

describe('signature failures in the database (what npm run status reads)', () => {
  it('sums the last hour and day per reason, and keeps the last one', () => {
    const db = tempStore();
    cleanups.push(db.cleanup);
    const write = createSignatureFailureWriter(db.store);
    const minute = Math.floor(START / 60_000);
    write([
      { minute: minute - 2 * 1440, reason: 'no_match', failures: 1000, lastAt: START - 2 * 86_400_000 },
      { minute: minute - 120, reason: 'stale', failures: 7, lastAt: START - 7_200_000 },
      { minute: minute - 5, reason: 'no_match', failures: 3, lastAt: START - 300_000 },
    ]);
    // Added to, not replaced.
    write([{ minute: minute - 5, reason: 'no_match', failures: 2, lastAt: START - 290_000 }]);
    expect(readSignatureFailures(db.store, START)).toEqual({
      last_hour: 5,
      last_day: 12,
      by_reason: [
        { reason: 'stale', n: 7 },
        { reason: 'no_match', n: 5 },
      ],
      last_at: START - 290_000,
      last_reason: 'no_match',
    });
  });
});

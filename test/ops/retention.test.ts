import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { createRetention } from '../../src/ops/retention.js';
import type { DeleteBatch, RetentionWindow } from '../../src/store/retention.js';

const DAY = 86_400_000;

/** Tables of `rows` old rows each (window `raw` unless `windows` says), deleted by a fake batch that records what it was asked. */
function fakeTables(rows: Record<string, number>, windows: Record<string, RetentionWindow> = {}) {
  const left = { ...rows };
  const calls: { table: string; cutoff: number; limit: number }[] = [];
  const deleteBatch: DeleteBatch = (table, cutoff, limit) => {
    calls.push({ table, cutoff, limit });
    const n = Math.min(limit, left[table] ?? 0);
    left[table] = (left[table] ?? 0) - n;
    return n;
  };
  const tables = Object.keys(rows).map((table) => ({ table, window: windows[table] ?? ('raw' as const) }));
  return { batches: { tables, deleteBatch }, calls, left };
}

function logLines() {
  const lines: Record<string, unknown>[] = [];
  const log = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line)) });
  return { log, lines };
}

describe('retention runner', () => {
  it('one pass deletes every table in small batches, lets the event loop run between them, and says what it deleted in one line', async () => {
    const clock = new ManualClock(Date.UTC(2026, 6, 1));
    const tables = fakeTables({ webhook_events: 1_250, jobs: 400, sweeps: 0 });
    const { log, lines } = logLines();
    let yields = 0;
    const deleted: [string, number][] = [];
    const retention = createRetention({
      batches: tables.batches,
      clock,
      log,
      windows: { raw: 90 * DAY, results: 0 },
      batchSize: 500,
      onDeleted: (table, n) => deleted.push([table, n]),
      yieldToLoop: async () => {
        yields++;
      },
    });
    const pass = await retention.runPass();
    expect(pass).toMatchObject({
      cutoffs: { raw: clock.now() - 90 * DAY },
      deleted: { webhook_events: 1_250, jobs: 400, sweeps: 0 },
      batches: 5,
      interrupted: false,
    });
    expect(tables.calls.map((c) => [c.table, c.limit])).toEqual([
      ['webhook_events', 500],
      ['webhook_events', 500],
      ['webhook_events', 500],
      ['jobs', 500],
      ['sweeps', 500],
    ]);
    // Between the full batches of a table, the loop ran.
    expect(yields).toBe(2);
    expect(deleted).toEqual([
      ['webhook_events', 500],
      ['webhook_events', 500],
      ['webhook_events', 250],
      ['jobs', 400],
    ]);
    const passLines = lines.filter((l) => l.msg === 'retention pass finished');
    expect(passLines).toHaveLength(1);
    expect(passLines[0]).toMatchObject({
      unit: 'retention',
      deleted: { webhook_events: 1_250, jobs: 400, sweeps: 0 },
      cutoffs: { raw: new Date(clock.now() - 90 * DAY).toISOString() },
    });
  });

  it('sizes its batches to hold the write lock about targetBatchMs: smaller after a slow one, larger again after quick ones', async () => {
    const clock = new ManualClock();
    let now = 0;
    let costPerRow = 0.1; // ms: 500 rows take 50 ms
    const tables = fakeTables({ webhook_events: 2_000 });
    const slow: DeleteBatch = (table, cutoff, limit) => {
      now += limit * costPerRow;
      return tables.batches.deleteBatch(table, cutoff, limit);
    };
    const retention = createRetention({
      batches: { tables: tables.batches.tables, deleteBatch: slow },
      clock,
      log: pino({ level: 'silent' }),
      windows: { raw: DAY, results: 0 },
      batchSize: 500,
      targetBatchMs: 20,
      stopwatch: () => now,
    });
    const first = await retention.runPass();
    // 50 ms, then 25 ms, then 12.5 ms a batch: within the target, so it stays (the last one finds none).
    expect(tables.calls.map((c) => c.limit)).toEqual([500, 250, ...Array<number>(11).fill(125)]);
    expect(first.longestBatchMs).toBe(50);
    expect(first.deleted.webhook_events).toBe(2_000);
    // The disk got faster: the next pass grows the batches back.
    costPerRow = 0.001;
    tables.left.webhook_events = 5_000;
    tables.calls.length = 0;
    await retention.runPass();
    expect(tables.calls.slice(0, 3).map((c) => c.limit)).toEqual([125, 250, 500]);
  });

  it('each table goes by its window: results keep theirs longer, and a window of 0 keeps its tables whole', async () => {
    const clock = new ManualClock(Date.UTC(2026, 6, 1));
    const tables = fakeTables({ jobs: 10, results: 10 }, { results: 'results' });
    const retention = createRetention({
      batches: tables.batches,
      clock,
      log: pino({ level: 'silent' }),
      windows: { raw: 90 * DAY, results: 730 * DAY },
    });
    await retention.runPass();
    expect(tables.calls.map((c) => [c.table, c.cutoff])).toEqual([
      ['jobs', clock.now() - 90 * DAY],
      ['results', clock.now() - 730 * DAY],
    ]);
    const keep = fakeTables({ jobs: 10, results: 10 }, { results: 'results' });
    const keeping = createRetention({
      batches: keep.batches,
      clock,
      log: pino({ level: 'silent' }),
      windows: { raw: 90 * DAY, results: 0 },
    });
    expect((await keeping.runPass()).deleted).toEqual({ jobs: 10 });
    expect(keep.calls.map((c) => c.table)).toEqual(['jobs']);
  });

  it('runs a first pass after start-up, then every interval, until stopped', async () => {
    const clock = new ManualClock(Date.UTC(2026, 6, 1));
    const tables = fakeTables({ jobs: 0 });
    const { log, lines } = logLines();
    const retention = createRetention({
      batches: tables.batches,
      clock,
      log,
      windows: { raw: 7 * DAY, results: 0 },
      firstPassAfterMs: 60_000,
      intervalMs: 3_600_000,
    });
    retention.start();
    await clock.advance(59_000);
    expect(tables.calls).toHaveLength(0);
    await clock.advance(1_000);
    expect(tables.calls).toHaveLength(1);
    await clock.advance(3_600_000);
    expect(tables.calls).toHaveLength(2);
    expect(tables.calls[1]!.cutoff).toBe(clock.now() - 7 * DAY);
    await retention.stop();
    await clock.advance(10 * 3_600_000);
    expect(tables.calls).toHaveLength(2);
    expect(lines.filter((l) => l.msg === 'retention pass finished')).toHaveLength(2);
  });

  it('stop() ends a pass between two batches', async () => {
    const clock = new ManualClock();
    const tables = fakeTables({ webhook_events: 100_000, jobs: 100_000 });
    const { log, lines } = logLines();
    let release: () => void = () => undefined;
    const retention = createRetention({
      batches: tables.batches,
      clock,
      log,
      windows: { raw: DAY, results: 0 },
      batchSize: 10,
      yieldToLoop: () => new Promise<void>((r) => (release = r)),
    });
    const pass = retention.runPass();
    await Promise.resolve();
    const stopped = retention.stop();
    release();
    const result = await pass;
    await stopped;
    expect(result.interrupted).toBe(true);
    expect(tables.calls.length).toBeLessThanOrEqual(2);
    expect(tables.left.jobs).toBe(100_000);
    expect(lines.at(-1)).toMatchObject({ msg: 'retention pass finished', interrupted: true });
  });
});

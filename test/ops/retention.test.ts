import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { loadConfig } from '../../src/config.js';
import { createRetention } from '../../src/ops/retention.js';
import { retentionWindows } from '../../src/service.js';
import { AccountStore } from '../../src/store/accounts.js';
import { JobStore } from '../../src/store/jobs.js';
import { ResultStore } from '../../src/store/results.js';
import { createRetentionBatches, type DeleteBatch, type RetentionWindow } from '../../src/store/retention.js';
import { ReviewStore } from '../../src/store/reviews.js';
import { tempStore } from '../support/db.js';
import { storedRule } from '../support/results.js';

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

  it('an hour with nothing to delete does not grow the batches back: the next burst starts at the size that fit', async () => {
    const clock = new ManualClock();
    let now = 0;
    const tables = fakeTables({ daily_agent_rule_stats: 1_000 });
    // 0.1 ms a row deleted (500 rows: 50 ms); a batch that finds nothing costs a tenth of a millisecond.
    const costly: DeleteBatch = (table, cutoff, limit) => {
      const n = tables.batches.deleteBatch(table, cutoff, limit);
      now += 0.1 + n * 0.1;
      return n;
    };
    const retention = createRetention({
      batches: { tables: tables.batches.tables, deleteBatch: costly },
      clock,
      log: pino({ level: 'silent' }),
      windows: { raw: DAY },
      batchSize: 500,
      targetBatchMs: 20,
      stopwatch: () => now,
    });
    await retention.runPass();
    for (let hour = 0; hour < 5; hour++) await retention.runPass();
    tables.left.daily_agent_rule_stats = 1_000;
    tables.calls.length = 0;
    await retention.runPass();
    expect(tables.calls[0]!.limit).toBe(125);
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

  it("on a real database, each table goes by its setting's window, and the pass's line names every table it walked", async () => {
    const db = tempStore();
    try {
      const now = Date.UTC(2026, 6, 1, 12);
      const clock = new ManualClock(now);
      const config = loadConfig({
        CXONE_ORG: 'acme',
        CXONE_CLIENT_ID: 'id',
        CXONE_CLIENT_SECRET: 'secret',
        WEBHOOK_SECRET: 'whsec_YWJj',
        RETENTION_DAYS: '30',
        RESULTS_RETENTION_DAYS: '100',
      });
      if (!config.ok) throw new Error(config.problems.join('; '));
      const results = new ResultStore(db.store);
      const reviews = new ReviewStore(db.store);
      const jobs = new JobStore(db.store, 'form-1');
      const accounts = new AccountStore(db.store);
      const record = (id: string, at: number) =>
        results.record({
          conversationId: id,
          destination: 'form-1',
          agentId: 'agent-1',
          evaluatedAt: at,
          overallScore: 100,
          rubric: { name: 'r', version: '1', hash: 'h' },
          rules: [storedRule('greeting', 'pass')],
          comment: '',
          delivery: { state: 'not_configured' },
          transcript: [{ speaker: 'agent', text: 'hello', timestamp: '' }],
        });
      // 200 days old: result and transcript go. 50 days old: the transcript goes, the result and
      // its review stay. A day old: everything stays.
      const ancient = record('ancient', now - 200 * DAY);
      const middle = record('middle', now - 50 * DAY);
      record('recent', now - DAY);
      reviews.record(ancient, { id: null, name: 'rita' }, [{ rule: 'greeting', verdict: 'agree' }], now);
      reviews.record(middle, { id: null, name: 'rita' }, [{ rule: 'greeting', verdict: 'fail' }], now);
      // A job nobody finished, first seen 200 days ago, stays.
      jobs.transaction(() => jobs.onSwept({ conversationId: 'stuck', agentId: 'agent-1' }, now - 200 * DAY));
      const user = accounts.addUser('rita', 'reviewer', 'x', now);
      if (user === 'exists') throw new Error('exists');
      accounts.createSession(user.id, 'expired', 'c', now - 2 * DAY, now - DAY);
      accounts.createSession(user.id, 'live', 'c', now - 60_000, now + 3_600_000);

      const { log, lines } = logLines();
      const retention = createRetention({
        batches: createRetentionBatches(db.store),
        clock,
        log,
        windows: retentionWindows(config.config),
      });
      const pass = await retention.runPass();
      const rows = (sql: string) => db.store.sqlite.prepare(sql).pluck().all();
      expect(rows('SELECT conversation_id FROM results ORDER BY evaluated_at')).toEqual(['middle', 'recent']);
      expect(rows('SELECT conversation_id FROM transcripts')).toEqual(['recent']);
      expect(rows('SELECT verdict FROM reviews')).toEqual(['fail']);
      expect(rows('SELECT conversation_id FROM jobs')).toEqual(['stuck']);
      expect(rows('SELECT id_hash FROM sessions')).toEqual(['live']);
      expect(rows('SELECT DISTINCT day FROM daily_stats ORDER BY day')).toEqual(['2026-05-12', '2026-06-30']);
      expect(pass.cutoffs).toEqual({ raw: now - 30 * DAY, results: now - 100 * DAY, spent: now - 3_600_000 });
      const line = lines.find((l) => l.msg === 'retention pass finished');
      expect(line?.deleted).toEqual({
        webhook_events: 0,
        jobs: 0,
        transcripts: 2,
        sweeps: 0,
        signature_failures: 0,
        results: 1,
        daily_stats: 1,
        daily_rule_stats: 1,
        daily_agent_rule_stats: 1,
        sessions: 1,
        login_throttle: 0,
      });

      // RETENTION_DAYS=0 keeps every record (results too), but still clears what nobody can use.
      const keepAll = loadConfig({
        CXONE_ORG: 'acme',
        CXONE_CLIENT_ID: 'id',
        CXONE_CLIENT_SECRET: 'secret',
        WEBHOOK_SECRET: 'whsec_YWJj',
        RETENTION_DAYS: '0',
      });
      if (!keepAll.ok) throw new Error(keepAll.problems.join('; '));
      accounts.createSession(user.id, 'expired-2', 'c', now - 2 * DAY, now - DAY);
      await clock.advance(1000 * DAY);
      const kept = await createRetention({
        batches: createRetentionBatches(db.store),
        clock,
        log: pino({ level: 'silent' }),
        windows: retentionWindows(keepAll.config),
      }).runPass();
      expect(kept.deleted).toEqual({ sessions: 2, login_throttle: 0 });
      expect(rows('SELECT count(*) FROM results')).toEqual([2]);
    } finally {
      db.cleanup();
    }
  });
});

import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { formatBacktestReport } from '../../src/backtest/report-text.js';
import { runBacktest } from '../../src/backtest/run.js';
import { createRetentionBatches } from '../../src/store/retention.js';
import { ReviewStore } from '../../src/store/reviews.js';
import { seedResults } from '../support/console.js';
import { tempStore } from '../support/db.js';

let t: ReturnType<typeof tempStore> | undefined;
afterEach(() => t?.cleanup());

const CHANGED = readFileSync('rubrics/example.yaml', 'utf8').replace(
  'within: { first_seconds: 30, first_turns: 4 }',
  'within: { first_seconds: 10, first_turns: 2 }',
);

describe('backtest', { timeout: 60_000 }, () => {
  it('threads count what one thread counts, and the stored rubric against itself changes nothing', async () => {
    t = tempStore();
    const { results } = seedResults(t.store, { count: 60, endAt: Date.now(), spacingMs: 60_000 });
    const first = results.list({}, 1).rows[0]!;
    new ReviewStore(t.store).record(
      first.id,
      { id: null, name: 'r' },
      [{ rule: 'recording_notice', verdict: 'agree' }],
      Date.now(),
    );
    const request = {
      rubricText: CHANGED,
      rubricFile: 'new.yaml',
      window: {},
      databasePath: t.path,
      store: t.store,
    };
    const inThread = await runBacktest({ ...request, threads: 0 });
    const threaded = await runBacktest({ ...request, threads: 2 });
    // As qm rescore runs it: this thread claims shares too, next to a worker (60 results: 1 share
    // of 500, so whichever claims it first scores them all; the other finds none left).
    const both = await runBacktest({ ...request, store: undefined, threads: 1, alsoOnThisThread: true });
    if (!inThread.ok || !threaded.ok || !both.ok) throw new Error('backtest failed');
    // The same counts; which few conversations are named as examples depends on who read them first.
    const counts = (x: typeof inThread.report.tally) =>
      JSON.parse(JSON.stringify(x, (k, v) => (k === 'examples' ? v.length : v)));
    expect(counts(threaded.report.tally)).toEqual(counts(inThread.report.tally));
    expect(counts(both.report.tally)).toEqual(counts(inThread.report.tally));
    expect(both.report.threads).toBe(2);
    expect(threaded.report.threads).toBe(2);
    expect(inThread.report.tally.conversations).toBe(60);
    expect(inThread.report.tally.rules.recording_notice!.before).toHaveLength(1);

    const same = await runBacktest({
      ...request,
      rubricText: readFileSync('rubrics/example.yaml', 'utf8'),
      threads: 0,
    });
    if (!same.ok) throw new Error('backtest failed');
    expect(same.report.tally.changedConversations).toBe(0);
    expect(same.report.tally.scoreChanged).toBe(0);
  });

  it('skips the results whose transcript retention deleted, and says how many', async () => {
    t = tempStore();
    const now = Date.now();
    const base = readFileSync('rubrics/example.yaml', 'utf8');
    // 20 results an hour apart: retention at a 10.5-hour cutoff deletes the oldest 10 transcripts.
    seedResults(t.store, { count: 20, endAt: now, spacingMs: 3_600_000 });
    const deleted = createRetentionBatches(t.store).deleteBatch('transcripts', now - 10.5 * 3_600_000, 500);
    expect(deleted).toBe(10);
    const request = { rubricFile: 'new.yaml', window: {}, databasePath: t.path, store: t.store, threads: 0 };
    // Rescored whole, rescored by the plan (changed rules only), and by a plan with nothing to rerun.
    for (const [rubricText, baselineText] of [
      [CHANGED, undefined],
      [CHANGED, base],
      [base, base],
    ] as const) {
      const outcome = await runBacktest({
        ...request,
        rubricText,
        ...(baselineText ? { baselineText } : {}),
      });
      if (!outcome.ok) throw new Error(outcome.problems.join('; '));
      expect(outcome.report.tally).toMatchObject({ conversations: 20, withoutTranscript: 10 });
      expect(Object.values(outcome.report.tally.rules).every((r) => r.compared === 10)).toBe(true);
      expect(formatBacktestReport(outcome.report, 'every stored result')).toMatch(
        /^10 conversation\(s\) rescored in [\d.]+ s on 1 thread\(s\); 10 without a stored transcript skipped; nothing was written$/m,
      );
    }
  });

  it('threads that claim shares of a window count each result once', async () => {
    t = tempStore();
    // 1,200 results: three shares of 500, claimed by this thread and two workers as they come.
    seedResults(t.store, { count: 1_200, endAt: Date.now(), spacingMs: 60_000 });
    const request = { rubricText: CHANGED, rubricFile: 'new.yaml', window: {}, databasePath: t.path };
    const one = await runBacktest({ ...request, store: t.store, threads: 0 });
    const three = await runBacktest({ ...request, threads: 2, alsoOnThisThread: true });
    if (!one.ok || !three.ok) throw new Error('backtest failed');
    const counts = (x: typeof one.report.tally) =>
      JSON.parse(JSON.stringify(x, (k, v) => (k === 'examples' ? v.length : v)));
    expect(three.report.tally.conversations).toBe(1_200);
    expect(counts(three.report.tally)).toEqual(counts(one.report.tally));
    expect(three.report.threads).toBe(3);
  });

  it('a backtest that outlasts its time is stopped and says so', async () => {
    t = tempStore();
    seedResults(t.store, { count: 5, endAt: Date.now() });
    const outcome = await runBacktest({
      rubricText: CHANGED,
      rubricFile: 'new.yaml',
      window: {},
      threads: 1,
      databasePath: t.path,
      timeoutMs: 1,
    });
    expect(outcome).toEqual({ ok: false, problems: ['the backtest took longer than 0 s and was stopped'] });
  });
});

/**
 * One thread's part of a backtest: read results and transcripts from the database in chunks, score
 * them with the new rubric, count. The whole window on one thread, or, with several threads, the
 * shares it claims one after another (src/backtest/shares.ts). Runs in a worker thread
 * (src/backtest/thread.ts) or on the caller's thread.
 */
import { type Rubric, type ScoreResult, scoreOutcomes } from '../scoring/index.js';
import type { Store } from '../store/db.js';
import { type BacktestWindowFilter, type ResultCursor, ResultStore } from '../store/results.js';
import { ReviewStore } from '../store/reviews.js';
import { type RescorePlan, rescoreWithPlan } from './plan.js';
import { addToTally, emptyTally, type Tally } from './tally.js';

export type BacktestWindow = BacktestWindowFilter;

/** Rows per database read, and per share when threads split a window. */
export const CHUNK = 500;

/** The next share to score, [from, to) in (evaluated_at, id) order; null when none is left. */
export type ClaimShare = () => { from: ResultCursor; to?: ResultCursor } | null;

export function tallyPartition(
  store: Store,
  rubric: Rubric,
  window: BacktestWindow,
  claim: ClaimShare | null = null,
  plan: RescorePlan | null = null,
): Tally {
  const results = new ResultStore(store);
  const reviews = new ReviewStore(store);
  const tally = emptyTally();
  const score = (filter: Parameters<ResultStore['eachForBacktest']>[0]) =>
    results.eachForBacktest(filter, CHUNK, (rows) => {
      const reviewed = rows.filter((r) => r.reviewCount > 0).map((r) => r.id);
      const verdicts = reviewed.length > 0 ? reviews.forResults(reviewed) : new Map();
      for (const row of rows) {
        const usePlan = plan !== null && row.rubricHash === plan.baselineHash;
        let rescored: ScoreResult | null = null;
        if (usePlan && plan.partial === null && row.hasTranscript) {
          // Nothing that decides an outcome changed: no need to read the transcript at all.
          rescored = rescoreWithPlan(rubric, plan, row.rules, []);
        }
        if (!rescored) {
          const transcript = row.transcript();
          if (transcript) {
            // The plan gives null when the stored result lacks a rule it would reuse: score it whole.
            rescored =
              (usePlan ? rescoreWithPlan(rubric, plan, row.rules, transcript) : null) ??
              scoreOutcomes(rubric, transcript);
          }
        }
        addToTally(tally, row, rescored, verdicts.get(row.id) ?? []);
      }
      return true;
    });
  if (!claim) score(window);
  else for (let share = claim(); share; share = claim()) score({ ...window, ...share });
  return tally;
}

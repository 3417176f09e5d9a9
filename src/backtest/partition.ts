/**
 * One thread's share of a backtest: read its results and transcripts from the database in chunks,
 * score them with the new rubric, count. Runs in a worker thread (src/backtest/thread.ts) or, for
 * small jobs and tests, on the caller's thread.
 */
import { type Rubric, type ScoreResult, scoreTranscript } from '../scoring/index.js';
import type { Store } from '../store/db.js';
import { ResultStore } from '../store/results.js';
import { ReviewStore } from '../store/reviews.js';
import { type RescorePlan, rescoreWithPlan } from './plan.js';
import { addToTally, emptyTally, type Tally } from './tally.js';

export interface BacktestWindow {
  since?: number;
  until?: number;
  destination?: string;
}

const CHUNK = 500;

export function tallyPartition(
  store: Store,
  rubric: Rubric,
  window: BacktestWindow,
  part: { index: number; of: number } = { index: 0, of: 1 },
  plan: RescorePlan | null = null,
): Tally {
  const results = new ResultStore(store);
  const reviews = new ReviewStore(store);
  const tally = emptyTally();
  results.eachForBacktest({ ...window, part }, CHUNK, (rows) => {
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
            scoreTranscript(rubric, transcript);
        }
      }
      addToTally(tally, row, rescored, verdicts.get(row.id) ?? []);
    }
    return true;
  });
  return tally;
}

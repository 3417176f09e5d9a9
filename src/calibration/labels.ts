import type { RuleOutcome } from '../scoring/index.js';

/** The reviewers' outcome for each rule: the majority; a tie has no label. */
export function labelsOf(verdicts: { rule: string; reviewerOutcome: RuleOutcome }[]): {
  labels: Record<string, RuleOutcome>;
  ties: string[];
} {
  const counts = new Map<string, Map<RuleOutcome, number>>();
  for (const v of verdicts) {
    const byOutcome = counts.get(v.rule) ?? new Map<RuleOutcome, number>();
    byOutcome.set(v.reviewerOutcome, (byOutcome.get(v.reviewerOutcome) ?? 0) + 1);
    counts.set(v.rule, byOutcome);
  }
  const labels: Record<string, RuleOutcome> = {};
  const ties: string[] = [];
  for (const [rule, byOutcome] of counts) {
    const ranked = [...byOutcome].sort((a, b) => b[1] - a[1]);
    if (ranked.length > 1 && ranked[0]![1] === ranked[1]![1]) ties.push(rule);
    else labels[rule] = ranked[0]![0];
  }
  return { labels, ties };
}

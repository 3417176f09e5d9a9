/**
 * Agreement between the engine and reviewers: the share of verdicts that agree, and Cohen's kappa,
 * which discounts the agreement two raters would reach by chance given how often each says pass,
 * fail and N/A. Pure: counts in, figures out.
 */
import type { RuleOutcome } from '../scoring/index.js';

/**
 * Kappa is shown from this many verdicts on. Below it the figure swings too much to act on: with
 * 30 verdicts, 90 % observed agreement and 50 % chance agreement, kappa's standard error is about
 * 0.11 (±0.2 at 95 %), which already spans "moderate" to "almost perfect"; with 10 it is ±0.4.
 */
export const MIN_VERDICTS_FOR_KAPPA = 30;

const OUTCOMES: readonly RuleOutcome[] = ['pass', 'fail', 'na'];

export interface Cell {
  engineOutcome: RuleOutcome;
  reviewerOutcome: RuleOutcome;
  n: number;
}

export interface Agreement {
  verdicts: number;
  agreed: number;
  /** agreed / verdicts, or null without verdicts. */
  rate: number | null;
  /** Cohen's kappa, or null when there are too few verdicts or it is undefined (see `kappaNote`). */
  kappa: number | null;
  kappaNote: string | null;
  /** Where they disagree: the engine said X, the reviewer Y. */
  disagreements: { engineOutcome: RuleOutcome; reviewerOutcome: RuleOutcome; n: number }[];
}

export function agreementOf(cells: readonly Cell[]): Agreement {
  let verdicts = 0;
  let agreed = 0;
  const engine = new Map<RuleOutcome, number>();
  const reviewer = new Map<RuleOutcome, number>();
  const disagreements: Agreement['disagreements'] = [];
  for (const c of cells) {
    if (c.n <= 0) continue;
    verdicts += c.n;
    if (c.engineOutcome === c.reviewerOutcome) agreed += c.n;
    else disagreements.push({ engineOutcome: c.engineOutcome, reviewerOutcome: c.reviewerOutcome, n: c.n });
    engine.set(c.engineOutcome, (engine.get(c.engineOutcome) ?? 0) + c.n);
    reviewer.set(c.reviewerOutcome, (reviewer.get(c.reviewerOutcome) ?? 0) + c.n);
  }
  const rate = verdicts === 0 ? null : agreed / verdicts;
  let kappa: number | null = null;
  let kappaNote: string | null = null;
  if (verdicts < MIN_VERDICTS_FOR_KAPPA) {
    kappaNote = `needs ${MIN_VERDICTS_FOR_KAPPA} verdicts (has ${verdicts})`;
  } else {
    let chance = 0;
    for (const o of OUTCOMES)
      chance += ((engine.get(o) ?? 0) / verdicts) * ((reviewer.get(o) ?? 0) / verdicts);
    if (chance >= 1) {
      // Both always said the same one outcome: agreement is total but says nothing about skill.
      kappaNote = 'undefined: engine and reviewers only ever gave one outcome';
    } else {
      kappa = (rate! - chance) / (1 - chance);
    }
  }
  disagreements.sort((a, b) => b.n - a.n);
  return { verdicts, agreed, rate, kappa, kappaNote, disagreements };
}

/** Landis & Koch's words for a kappa, as QA teams usually quote them. */
export function describeKappa(kappa: number): string {
  if (kappa < 0) return 'worse than chance';
  if (kappa <= 0.2) return 'slight';
  if (kappa <= 0.4) return 'fair';
  if (kappa <= 0.6) return 'moderate';
  if (kappa <= 0.8) return 'substantial';
  return 'almost perfect';
}

/** Per rule and overall, from per-rule cells. */
export function agreementByRule(cells: readonly (Cell & { rule: string })[]): {
  rules: { rule: string; agreement: Agreement }[];
  overall: Agreement;
} {
  const byRule = new Map<string, Cell[]>();
  for (const c of cells) {
    const list = byRule.get(c.rule) ?? [];
    list.push(c);
    byRule.set(c.rule, list);
  }
  return {
    rules: [...byRule.entries()]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([rule, list]) => ({ rule, agreement: agreementOf(list) })),
    overall: agreementOf(cells),
  };
}

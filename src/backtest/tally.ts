/**
 * What a backtest counts: stored results against what a new rubric says of the same transcripts,
 * and both against the reviewers' verdicts. Pure and mergeable, so the work can be split across
 * threads and added up.
 */
import type { Cell } from '../calibration/agreement.js';
import type { RuleOutcome, ScoreResult } from '../scoring/index.js';

export interface StoredOutcomes {
  conversationId: string;
  overallScore: number;
  passed: boolean;
  rules: readonly { name: string; outcome: RuleOutcome }[];
}

export interface RuleTally {
  rule: string;
  /** In the stored results / in the new rubric. */
  inStored: boolean;
  inNew: boolean;
  /** Conversations where both have the rule. */
  compared: number;
  changed: number;
  /** "pass>fail": how many went from the first outcome to the second. */
  transitions: Record<string, number>;
  /** A few conversations that changed, to look at. */
  examples: string[];
  /** Reviewer verdicts against the stored outcome, and against the new one. */
  before: Cell[];
  after: Cell[];
}

export interface Tally {
  conversations: number;
  /** Results whose transcript is no longer stored (retention) or unreadable: not rescored. */
  withoutTranscript: number;
  /** Conversations where at least one rule's outcome changed. */
  changedConversations: number;
  /** Composite moved by at least 0.01. */
  scoreChanged: number;
  scoreDeltaSum: number;
  passToFail: number;
  failToPass: number;
  rules: Record<string, RuleTally>;
}

const EXAMPLES = 5;

export function emptyTally(): Tally {
  return {
    conversations: 0,
    withoutTranscript: 0,
    changedConversations: 0,
    scoreChanged: 0,
    scoreDeltaSum: 0,
    passToFail: 0,
    failToPass: 0,
    rules: {},
  };
}

function ruleOf(t: Tally, rule: string): RuleTally {
  let r = t.rules[rule];
  if (!r) {
    r = {
      rule,
      inStored: false,
      inNew: false,
      compared: 0,
      changed: 0,
      transitions: {},
      examples: [],
      before: [],
      after: [],
    };
    t.rules[rule] = r;
  }
  return r;
}

function addCell(cells: Cell[], engineOutcome: RuleOutcome, reviewerOutcome: RuleOutcome, n = 1): void {
  const cell = cells.find((c) => c.engineOutcome === engineOutcome && c.reviewerOutcome === reviewerOutcome);
  if (cell) cell.n += n;
  else cells.push({ engineOutcome, reviewerOutcome, n });
}

/** The composite as delivered: two decimals. */
const cents = (x: number) => Math.round(x * 100) / 100;

/** Counts one conversation: its stored result, the new rubric's result (null: no transcript), its verdicts. */
export function addToTally(
  t: Tally,
  stored: StoredOutcomes,
  rescored: ScoreResult | null,
  verdicts: readonly { rule: string; reviewerOutcome: RuleOutcome }[],
): void {
  t.conversations++;
  if (!rescored) {
    t.withoutTranscript++;
    return;
  }
  const before = new Map(stored.rules.map((r) => [r.name, r.outcome]));
  const after = new Map(rescored.rules.map((r) => [r.name, r.outcome]));
  let changed = false;
  for (const [rule, outcome] of before) {
    const r = ruleOf(t, rule);
    r.inStored = true;
    const next = after.get(rule);
    if (next === undefined) continue;
    r.compared++;
    if (next !== outcome) {
      changed = true;
      r.changed++;
      const key = `${outcome}>${next}`;
      r.transitions[key] = (r.transitions[key] ?? 0) + 1;
      if (r.examples.length < EXAMPLES) r.examples.push(stored.conversationId);
    }
  }
  for (const rule of after.keys()) ruleOf(t, rule).inNew = true;
  if (changed) t.changedConversations++;
  const newScore = cents(rescored.overallScore);
  const delta = newScore - stored.overallScore;
  if (Math.abs(delta) >= 0.005) t.scoreChanged++;
  t.scoreDeltaSum += delta;
  const newPassed = !rescored.criticalFailure;
  if (stored.passed && !newPassed) t.passToFail++;
  if (!stored.passed && newPassed) t.failToPass++;
  for (const v of verdicts) {
    const r = ruleOf(t, v.rule);
    const old = before.get(v.rule);
    const next = after.get(v.rule);
    if (old !== undefined) addCell(r.before, old, v.reviewerOutcome);
    if (next !== undefined) addCell(r.after, next, v.reviewerOutcome);
  }
}

export function mergeTallies(into: Tally, from: Tally): Tally {
  into.conversations += from.conversations;
  into.withoutTranscript += from.withoutTranscript;
  into.changedConversations += from.changedConversations;
  into.scoreChanged += from.scoreChanged;
  into.scoreDeltaSum += from.scoreDeltaSum;
  into.passToFail += from.passToFail;
  into.failToPass += from.failToPass;
  for (const r of Object.values(from.rules)) {
    const mine = ruleOf(into, r.rule);
    mine.inStored ||= r.inStored;
    mine.inNew ||= r.inNew;
    mine.compared += r.compared;
    mine.changed += r.changed;
    for (const [k, n] of Object.entries(r.transitions)) mine.transitions[k] = (mine.transitions[k] ?? 0) + n;
    for (const e of r.examples) if (mine.examples.length < EXAMPLES) mine.examples.push(e);
    for (const c of r.before) addCell(mine.before, c.engineOutcome, c.reviewerOutcome, c.n);
    for (const c of r.after) addCell(mine.after, c.engineOutcome, c.reviewerOutcome, c.n);
  }
  return into;
}

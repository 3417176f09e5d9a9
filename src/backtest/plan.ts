/**
 * Rescoring only what changed. A backtest usually tries a change to one or two rules of the rubric
 * that scored the stored results; the other rules' outcomes cannot change, so for results scored by
 * that rubric (same content hash) only the changed rules are run on the transcript and the others'
 * stored outcomes and scores are taken as they are. The composite is then recomputed as the engine
 * computes it (weighted average of the rules that apply, 0 when a critical rule failed), with the
 * new rubric's weights and critical flags. Results scored by any other rubric are rescored whole.
 *
 * A rule counts as unchanged when its definition, all but the fields that do not decide its outcome
 * or score (description, comments, form ids, weight and criticality: those two are applied from the
 * new rubric anyway), is the same in both files, and so is every rule its `before:` names.
 */
import { createHash } from 'node:crypto';
import { parse as parseYaml } from 'yaml';
import {
  type Rubric,
  type RuleOutcome,
  type ScoreResult,
  scoreOutcomes,
  type TranscriptLine,
} from '../scoring/index.js';

const COSMETIC = new Set([
  'description',
  'pass_comment',
  'fail_comment',
  'section_id',
  'item_id',
  'weight',
  'critical',
]);

/** Each rule's outcome-deciding definition as canonical JSON, by name; null when the text is not a rubric. */
function definitions(
  text: string,
): { shape: 'native' | 'tutorial'; rules: Map<string, { def: string; before?: string }> } | null {
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch {
    return null;
  }
  if (!doc || typeof doc !== 'object' || Array.isArray(doc)) return null;
  const canonical = (rule: Record<string, unknown>) =>
    JSON.stringify(
      Object.keys(rule)
        .filter((k) => !COSMETIC.has(k))
        .sort()
        .map((k) => [k, rule[k]]),
    );
  const rules = new Map<string, { def: string; before?: string }>();
  const record = doc as Record<string, unknown>;
  if (Array.isArray(record.rules)) {
    for (const r of record.rules) {
      if (!r || typeof r !== 'object') continue;
      const rule = r as Record<string, unknown>;
      if (typeof rule.name !== 'string') continue;
      rules.set(rule.name, {
        def: canonical(rule),
        ...(typeof rule.before === 'string' ? { before: rule.before } : {}),
      });
    }
    return { shape: 'native', rules };
  }
  for (const [name, rule] of Object.entries(record)) {
    if (rule && typeof rule === 'object')
      rules.set(name, { def: canonical(rule as Record<string, unknown>) });
  }
  return { shape: 'tutorial', rules };
}

export interface RescorePlan {
  /** The stored results' rubric this plan applies to (its sha256). */
  baselineHash: string;
  /** What to run on each transcript: the changed rules (and rules their `before:` needs); null = nothing. */
  partial: Rubric | null;
  /** Names of the rules whose outcome is taken from the stored result. */
  reused: ReadonlySet<string>;
}

/**
 * The plan for results scored by the rubric file `baselineText` (recognised by its sha256, as the
 * engine hashes it), or null when nothing can be reused (a different shape, or not a rubric).
 */
export function planRescore(next: Rubric, nextText: string, baselineText: string): RescorePlan | null {
  const a = definitions(baselineText);
  const b = definitions(nextText);
  if (!a || !b || a.shape !== b.shape) return null;
  const changed = new Set<string>();
  for (const [name, rule] of b.rules) {
    if (a.rules.get(name)?.def !== rule.def) changed.add(name);
  }
  // A rule whose `before:` rule changed can change too (transitively).
  for (let grew = true; grew; ) {
    grew = false;
    for (const [name, rule] of b.rules) {
      if (!changed.has(name) && rule.before && changed.has(rule.before)) {
        changed.add(name);
        grew = true;
      }
    }
  }
  const reused = new Set(next.rules.map((r) => r.name).filter((n) => !changed.has(n)));
  // The changed rules, and the rules their `before:` looks at (scanned for their first match only).
  const needed = new Set(changed);
  for (let grew = true; grew; ) {
    grew = false;
    for (const name of [...needed]) {
      const before = b.rules.get(name)?.before;
      if (before && !needed.has(before)) {
        needed.add(before);
        grew = true;
      }
    }
  }
  const partialRules = next.rules.filter((r) => needed.has(r.name));
  return {
    baselineHash: createHash('sha256').update(baselineText).digest('hex'),
    partial: partialRules.length > 0 ? { ...next, rules: partialRules } : null,
    reused,
  };
}

/**
 * Rescores one transcript by the plan: the changed rules run, the others come from the stored
 * result, the composite as the engine computes it. Null when the stored result lacks a rule the plan
 * would reuse: the caller then scores the transcript whole.
 */
export function rescoreWithPlan(
  next: Rubric,
  plan: RescorePlan,
  stored: readonly { name: string; outcome: RuleOutcome; score: number | null }[],
  transcript: TranscriptLine[],
): ScoreResult | null {
  const old = new Map(stored.map((r) => [r.name, r]));
  for (const name of plan.reused) if (!old.has(name)) return null;
  const fresh = plan.partial ? scoreOutcomes(plan.partial, transcript) : null;
  const byName = new Map(fresh?.rules.map((r) => [r.name, r]) ?? []);
  let weighted = 0;
  let total = 0;
  const criticals: string[] = [];
  const rules: ScoreResult['rules'] = next.rules.map((rule) => {
    const from = plan.reused.has(rule.name) ? old.get(rule.name)! : byName.get(rule.name)!;
    const outcome = from.outcome;
    const score = outcome === 'na' ? null : from.score;
    if (score !== null) {
      // The engine's order of operations, so the composite is the same number.
      total += rule.weight;
      weighted += score * rule.weight;
      if (rule.critical && outcome === 'fail') criticals.push(rule.name);
    }
    return { name: rule.name, outcome, score, weight: rule.weight, comment: '', evidence: '' };
  });
  const result: ScoreResult = { overallScore: total > 0 ? weighted / total : 0, rules };
  if (criticals.length > 0) {
    result.overallScore = 0;
    result.criticalFailure = `critical rule failed: ${criticals.join(', ')}`;
  }
  return result;
}

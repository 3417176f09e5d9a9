/**
 * The active rubric in plain words, for QA managers who never open the YAML: what each rule looks
 * for, in whose turns, when, how it scores, and what makes it critical or not applicable.
 */
import type { Rubric } from '../scoring/index.js';

type Rule = Rubric['rules'][number];
type Finder = Extract<Rule['check'], { kind: 'native' }>['finder'];

export interface RuleWords {
  name: string;
  description: string | null;
  /** Sentences, in reading order. */
  sentences: string[];
  weight: number;
  /** Share of the total weight, 0-100. */
  weightShare: number;
  critical: boolean;
  passComment: string;
  failComment: string;
}

function list(items: string[], joiner = 'or'): string {
  if (items.length <= 1) return items.join('');
  return `${items.slice(0, -1).join(', ')} ${joiner} ${items[items.length - 1]}`;
}

function needles(finder: Finder): string {
  return list(
    finder.needles.map((n) => (n.kind === 'phrase' ? `“${n.label}”` : `words matching /${n.label}/`)),
  );
}

function who(finder: Finder): string {
  switch (finder.speaker) {
    case 'agent':
      return 'The agent';
    case 'customer':
      return 'The customer';
    case 'system':
      return 'The system';
    default:
      return 'Anyone';
  }
}

function when(finder: Finder): string {
  const w = finder.within;
  if (!w) return 'anywhere in the call';
  const first = w.firstSeconds !== undefined || w.firstTurns !== undefined;
  const side = first ? 'first' : 'last';
  const seconds = w.firstSeconds ?? w.lastSeconds;
  const turns = w.firstTurns ?? w.lastTurns;
  if (seconds !== undefined && turns !== undefined)
    return `in the ${side} ${seconds} seconds (the ${side} ${turns} turns when the transcript has no times)`;
  if (seconds !== undefined) return `in the ${side} ${seconds} seconds`;
  return `in the ${side} ${turns} turns`;
}

export function describeRubric(rubric: Rubric): RuleWords[] {
  const total = rubric.rules.reduce((s, r) => s + r.weight, 0);
  return rubric.rules.map((rule) => {
    const sentences: string[] = [];
    const check = rule.check;
    if (check.kind === 'tutorial') {
      sentences.push(
        `Looks for /${check.pattern}/ anywhere in the call (all lines joined).`,
        `Found: scores ${check.scoreIfPresent}. Not found: scores ${check.scoreIfAbsent}.`,
      );
    } else {
      const f = check.finder;
      if (check.appliesIf) {
        const a = check.appliesIf;
        sentences.push(
          `Only applies when ${who(a).toLowerCase()} says ${needles(a)} ${when(a)}; otherwise it is not applicable and left out of the score.`,
        );
      }
      const times = check.minCount > 1 ? ` at least ${check.minCount} times` : '';
      if (check.mode === 'must_not') {
        sentences.push(
          `${who(f)} must not say ${needles(f)} ${when(f)}${check.minCount > 1 ? ` (fails from ${check.minCount} times on)` : ''}.`,
        );
      } else if (check.scoreLevels) {
        sentences.push(`${who(f)} should say ${needles(f)} ${when(f)}.`);
        sentences.push(
          `Partial credit: ${check.scoreLevels.map((l) => `${l.atLeast} of them scores ${l.score}`).join(', ')}; fewer scores 0.`,
        );
      } else {
        sentences.push(`${who(f)} must say ${needles(f)}${times} ${when(f)}.`);
      }
      if (check.before)
        sentences.push(`Only what is said before rule “${check.before}” first matches counts.`);
    }
    if (rule.critical) sentences.push('Critical: when it fails, the conversation fails and its score is 0.');
    return {
      name: rule.name,
      description: rule.description ?? null,
      sentences,
      weight: rule.weight,
      weightShare: total > 0 ? (100 * rule.weight) / total : 0,
      critical: rule.critical,
      passComment: rule.passComment,
      failComment: rule.failComment,
    };
  });
}

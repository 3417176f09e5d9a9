/**
 * What `npm run score` prints for one conversation: a JSON line, or a table for a rubric author.
 * Pure; shared by the command and its worker threads (score-batch.ts), so both print byte for byte
 * the same.
 */
import {
  EMPTY_TRANSCRIPT,
  evaluationComment,
  formatScore,
  type Rubric,
  type ScoreResult,
} from '../scoring/index.js';

export type OutputFormat = 'json' | 'table';

export function formatScored(
  format: OutputFormat,
  rubric: Rubric,
  id: string,
  file: string,
  result: ScoreResult,
  width: number,
): string {
  return format === 'json' ? toJsonLine(rubric, id, file, result) : toTable(rubric, id, result, width);
}

/** A conversation with an empty transcript: not scored, as the service does not score it either. */
export function formatSkipped(format: OutputFormat, id: string, file: string): string {
  return format === 'json'
    ? `${JSON.stringify({ id, file, skipped: EMPTY_TRANSCRIPT })}\n`
    : `${id}: not scored: ${EMPTY_TRANSCRIPT} (the service does not score such conversations either)\n\n`;
}

/**
 * The JSON line of one result, as JSON.stringify writes this object (same keys, order and escapes):
 *
 *   { id, file, overall_score, overall_score_exact, rubric: { name, version, hash },
 *     critical_failure?, comment, rules: [{ name, outcome, score, weight, evidence, comment }] }
 *
 * Written piece by piece rather than built as an object and stringified: on a large file that was a
 * tenth of `qm score`'s work, and the rubric's part is the same on every line.
 */
function toJsonLine(rubric: Rubric, id: string, file: string, result: ScoreResult): string {
  const parts = partsOf(rubric);
  let line =
    `{"id":${JSON.stringify(id)},"file":${JSON.stringify(file)}` +
    `,"overall_score":${number(Number(formatScore(result.overallScore)))}` +
    `,"overall_score_exact":${number(result.overallScore)}${parts.rubric}`;
  if (result.criticalFailure) line += `,"critical_failure":${JSON.stringify(result.criticalFailure)}`;
  line += `,"comment":${JSON.stringify(evaluationComment(rubric, result))},"rules":[`;
  const rules = result.rules;
  for (let i = 0; i < rules.length; i++) {
    const r = rules[i]!;
    line +=
      `${i > 0 ? ',' : ''}${parts.ruleHead(r.name, r.outcome)}` +
      `,"score":${r.score === null ? 'null' : number(r.score)},"weight":${parts.weight(r.weight)}` +
      `,"evidence":${JSON.stringify(r.evidence)},"comment":${JSON.stringify(r.comment)}}`;
  }
  return `${line}]}\n`;
}

/** A number as JSON.stringify writes it (NaN and the infinities as null). */
const number = (x: number) => (Number.isFinite(x) ? String(x) : 'null');

/**
 * The pieces of a line that repeat from one result to the next, written once per rubric: the rubric
 * object, each rule's `{"name":..,"outcome":..` and each weight (a number such as 0.3 takes a while to
 * write). Keyed by value, so that a result whose rules are not the rubric's is written all the same.
 */
interface Parts {
  rubric: string;
  ruleHead(name: string, outcome: string): string;
  weight(weight: number): string;
}

const partsCache = new WeakMap<Rubric, Parts>();

function partsOf(rubric: Rubric): Parts {
  let parts = partsCache.get(rubric);
  if (parts === undefined) {
    const heads = new Map<string, string>();
    const weights = new Map<number, string>();
    parts = {
      rubric: `,"rubric":${JSON.stringify({ name: rubric.name, version: rubric.version, hash: rubric.hash })}`,
      ruleHead(name, outcome) {
        const key = `${outcome}\u0000${name}`;
        let head = heads.get(key);
        if (head === undefined) {
          head = `{"name":${JSON.stringify(name)},"outcome":${JSON.stringify(outcome)}`;
          // Bounded: a rubric has a few rules and three outcomes; anything else is written each time.
          if (heads.size < 1000) heads.set(key, head);
        }
        return head;
      },
      weight(weight) {
        let text = weights.get(weight);
        if (text === undefined) {
          text = number(weight);
          if (weights.size < 1000) weights.set(weight, text);
        }
        return text;
      },
    };
    partsCache.set(rubric, parts);
  }
  return parts;
}

function toTable(rubric: Rubric, id: string, result: ScoreResult, width: number): string {
  const nameWidth = Math.max(4, ...result.rules.map((r) => r.name.length));
  const out = [
    `${id}: ${formatScore(result.overallScore)}  (rubric ${rubric.name} v${rubric.version}, sha256 ${rubric.hash.slice(0, 12)})`,
  ];
  if (result.criticalFailure) out.push(`  score set to 0: ${result.criticalFailure}`);
  out.push(`  ${'rule'.padEnd(nameWidth)}  outcome  score  weight  evidence`);
  for (const r of result.rules) {
    const head = `  ${r.name.padEnd(nameWidth)}  ${r.outcome.padEnd(7)}  ${String(r.score ?? '-').padStart(5)}  ${String(r.weight).padStart(6)}  `;
    const room = Math.max(20, width - head.length);
    out.push(head + (r.evidence.length > room ? `${r.evidence.slice(0, room - 1)}…` : r.evidence));
  }
  return `${out.join('\n')}\n\n`;
}

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
  let line =
    `{"id":${JSON.stringify(id)},"file":${JSON.stringify(file)}` +
    `,"overall_score":${number(Number(formatScore(result.overallScore)))}` +
    `,"overall_score_exact":${number(result.overallScore)},"rubric":${rubricJson(rubric)}`;
  if (result.criticalFailure) line += `,"critical_failure":${JSON.stringify(result.criticalFailure)}`;
  line += `,"comment":${JSON.stringify(evaluationComment(rubric, result))},"rules":[`;
  const rules = result.rules;
  for (let i = 0; i < rules.length; i++) {
    const r = rules[i]!;
    line +=
      `${i > 0 ? ',' : ''}{"name":${JSON.stringify(r.name)},"outcome":${JSON.stringify(r.outcome)}` +
      `,"score":${r.score === null ? 'null' : number(r.score)},"weight":${number(r.weight)}` +
      `,"evidence":${JSON.stringify(r.evidence)},"comment":${JSON.stringify(r.comment)}}`;
  }
  return `${line}]}\n`;
}

/** A number as JSON.stringify writes it (NaN and the infinities as null). */
const number = (x: number) => (Number.isFinite(x) ? String(x) : 'null');

const rubricJsonCache = new WeakMap<Rubric, string>();

function rubricJson(rubric: Rubric): string {
  let json = rubricJsonCache.get(rubric);
  if (json === undefined) {
    json = JSON.stringify({ name: rubric.name, version: rubric.version, hash: rubric.hash });
    rubricJsonCache.set(rubric, json);
  }
  return json;
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

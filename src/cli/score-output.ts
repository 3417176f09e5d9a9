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
  return format === 'json'
    ? `${JSON.stringify(toJson(rubric, id, file, result))}\n`
    : toTable(rubric, id, result, width);
}

/** A conversation with an empty transcript: not scored, as the service does not score it either. */
export function formatSkipped(format: OutputFormat, id: string, file: string): string {
  return format === 'json'
    ? `${JSON.stringify({ id, file, skipped: EMPTY_TRANSCRIPT })}\n`
    : `${id}: not scored: ${EMPTY_TRANSCRIPT} (the service does not score such conversations either)\n\n`;
}

function toJson(rubric: Rubric, id: string, file: string, result: ScoreResult) {
  return {
    id,
    file,
    overall_score: Number(formatScore(result.overallScore)),
    overall_score_exact: result.overallScore,
    rubric: { name: rubric.name, version: rubric.version, hash: rubric.hash },
    ...(result.criticalFailure ? { critical_failure: result.criticalFailure } : {}),
    comment: evaluationComment(rubric, result),
    rules: result.rules.map((r) => ({
      name: r.name,
      outcome: r.outcome,
      score: r.score,
      weight: r.weight,
      evidence: r.evidence,
      comment: r.comment,
    })),
  };
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

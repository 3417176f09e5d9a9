/**
 * `qm score [--rubric FILE] [--format json|table] FILE...` (`npm run score -- ...`): scores conversation files with no
 * network. Exit code 0 when every file scored, 1 when some file or line could not be read, 2 on a usage
 * error or an invalid rubric.
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  evaluationComment,
  formatScore,
  parseConversations,
  parseRubric,
  type Rubric,
  type ScoreResult,
  scoreTranscript,
} from '../scoring/index.js';
import type { CommandArgs } from './commands.js';

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const DEFAULT_RUBRIC = resolve(REPO_ROOT, 'rubrics/tutorial.yaml');

function fail(lines: string[], code: number): void {
  for (const line of lines) process.stderr.write(`${line}\n`);
  process.exitCode = code;
}

/** Flags, their values and the file count are checked by the dispatcher (./commands.ts). */
export function run(args: CommandArgs): void {
  const format = args.values.format ?? (process.stdout.isTTY ? 'table' : 'json');
  const rubricPath = typeof args.values.rubric === 'string' ? args.values.rubric : DEFAULT_RUBRIC;
  let rubricText: string;
  try {
    rubricText = readFileSync(rubricPath, 'utf8');
  } catch (e) {
    fail(
      [
        `${rubricPath}: cannot read the rubric (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`,
      ],
      2,
    );
    return;
  }
  const parsed = parseRubric(rubricText, rubricPath);
  if (!parsed.ok) {
    fail(parsed.errors, 2);
    return;
  }
  const rubric = parsed.rubric;
  let failed = false;
  for (const file of args.positionals) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (e) {
      process.stderr.write(
        `${file}: cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})\n`,
      );
      failed = true;
      continue;
    }
    const { conversations, errors } = parseConversations(text, file);
    for (const error of errors) process.stderr.write(`${error}\n`);
    if (errors.length > 0) failed = true;
    for (const conversation of conversations) {
      const result = scoreTranscript(rubric, conversation.transcript);
      process.stdout.write(
        format === 'json'
          ? `${JSON.stringify(toJson(rubric, conversation.id, file, result))}\n`
          : toTable(rubric, conversation.id, result),
      );
    }
  }
  if (failed) process.exitCode = 1;
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

function toTable(rubric: Rubric, id: string, result: ScoreResult): string {
  const width = Math.max(60, process.stdout.columns ?? 120);
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

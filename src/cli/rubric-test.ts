/**
 * `qm rubric:test FILE...` (`npm run rubric:test -- ...`): scores each rubric's labelled examples and compares every rule's
 * outcome with the reviewer's label. Prints each disagreement with its evidence and the agreement per
 * rule and overall. Exit code 0 when all agree, 1 on any disagreement or unreadable example, 2 on a usage
 * error or an invalid rubric.
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import {
  EMPTY_TRANSCRIPT,
  isEmptyTranscript,
  parseConversations,
  parseRubric,
  type RuleOutcome,
  scoreTranscript,
  type TranscriptLine,
} from '../scoring/index.js';
import type { CommandArgs } from './commands.js';

/** Usage (at least one file, no unknown flags, --help) is checked by the dispatcher (./commands.ts). */
export function run(args: CommandArgs): void {
  const files = args.positionals;
  let code = 0;
  for (const file of files) code = Math.max(code, testRubric(file));
  process.exitCode = code;
}

function testRubric(file: string): number {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    process.stderr.write(
      `${file}: cannot read the rubric (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})\n`,
    );
    return 2;
  }
  const parsed = parseRubric(text, file);
  if (!parsed.ok) {
    for (const error of parsed.errors) process.stderr.write(`${error}\n`);
    return 2;
  }
  const rubric = parsed.rubric;
  const out: string[] = [
    `${file}: rubric ${rubric.name} v${rubric.version}, ${rubric.examples.length} labelled examples`,
  ];
  if (rubric.examples.length === 0) {
    out.push('  no labelled examples to test (add `examples:` to the rubric)');
    process.stdout.write(`${out.join('\n')}\n`);
    return 1;
  }
  const perRule = new Map<string, { agree: number; total: number }>(
    rubric.rules.map((r) => [r.name, { agree: 0, total: 0 }]),
  );
  let agree = 0;
  let total = 0;
  let broken = 0;
  for (const example of rubric.examples) {
    let transcript: TranscriptLine[] | undefined = example.transcript;
    if (!transcript && example.transcriptFile) {
      const path = resolve(dirname(file), example.transcriptFile);
      try {
        const conv = parseConversations(readFileSync(path, 'utf8'), path);
        if (conv.errors.length > 0 || conv.conversations.length !== 1) {
          out.push(
            `  example '${example.name}': ${conv.errors[0] ?? `${path}: expected exactly one conversation`}`,
          );
        } else transcript = conv.conversations[0]!.transcript;
      } catch (e) {
        out.push(
          `  example '${example.name}': ${path}: cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`,
        );
      }
    }
    if (transcript && isEmptyTranscript(transcript)) {
      // As the service: an empty transcript is not scored, so its labels cannot be checked.
      out.push(
        `  example '${example.name}': not scored: ${EMPTY_TRANSCRIPT} (the service does not score such conversations)`,
      );
      transcript = undefined;
    }
    if (!transcript) {
      broken++;
      continue;
    }
    const result = scoreTranscript(rubric, transcript);
    const byName = new Map(result.rules.map((r) => [r.name, r]));
    for (const [ruleName, expected] of Object.entries(example.expect) as [string, RuleOutcome][]) {
      const got = byName.get(ruleName)!;
      const stats = perRule.get(ruleName)!;
      stats.total++;
      total++;
      if (got.outcome === expected) {
        stats.agree++;
        agree++;
      } else {
        out.push(
          `  DISAGREE example '${example.name}': rule '${ruleName}': labelled ${expected}, engine says ${got.outcome}`,
        );
        out.push(`           evidence: ${got.evidence}`);
      }
    }
  }
  const pct = (a: number, t: number) => (t === 0 ? '  -  ' : `${((100 * a) / t).toFixed(1)}%`);
  out.push('  agreement per rule:');
  const width = Math.max(...rubric.rules.map((r) => r.name.length));
  for (const [name, s] of perRule) {
    out.push(
      `    ${name.padEnd(width)}  ${String(s.agree).padStart(3)}/${String(s.total).padEnd(3)} ${pct(s.agree, s.total)}`,
    );
  }
  out.push(
    `  overall: ${agree}/${total} labels agree (${pct(agree, total)})${broken > 0 ? `, ${broken} example(s) could not be read or scored` : ''}`,
  );
  process.stdout.write(`${out.join('\n')}\n`);
  return agree === total && broken === 0 ? 0 : 1;
}

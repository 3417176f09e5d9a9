/**
 * `qm examples --reviewed [--since 7d|DAY] [--rubric FILE] [--out FILE]`: turns reviewed
 * conversations into labelled examples (docs/rubrics.md §7), so reviewers' verdicts become
 * `npm run rubric:test` cases. Writes a copy of the rubric (RUBRIC_PATH unless --rubric) with the
 * examples added to its `examples:` (an example of the same name, or one this command made earlier
 * from the same conversation, is replaced; comments are kept), to --out or standard output. Each example's label for a rule is the reviewers' outcome (the
 * majority when several reviewed it; a tie is left out). Reads the database only.
 *
 * Exit codes: 0 written; 1 nothing reviewed in the window; 2 usage, settings, database or rubric.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, isAbsolute, relative, resolve } from 'node:path';
import { isMap, isSeq, parseDocument, stringify, type YAMLMap, YAMLSeq } from 'yaml';
import { labelsOf } from '../calibration/labels.js';
import { systemClock } from '../clock.js';
import { loadOperatorConfig } from '../config.js';
import { DEFAULT_RUBRIC_PATH, decodeRubricText } from '../rubric-file.js';
import { parseRubric, type RuleOutcome } from '../scoring/index.js';
import { openExistingStore } from '../store/reports.js';
import { ResultStore } from '../store/results.js';
import { ReviewStore } from '../store/reviews.js';
import { parseTime } from '../web/filters.js';
import type { CommandArgs } from './commands.js';
import { readEnvironment, reportProblems } from './env.js';
import { EXIT } from './exit.js';

const USAGE = 'usage: qm examples --reviewed [--since 7d|DAY|all] [--rubric FILE] [--out FILE]';

interface Example {
  name: string;
  transcript: { speaker: string; text: string; timestamp: string }[];
  expect: Record<string, RuleOutcome>;
}

const REVIEWED_BY = / \(reviewed by [^()]*\)$/;

/** The name of the example made from a reviewed conversation: its id and who reviewed it. */
function exampleName(conversationId: string, reviewers: string): string {
  return `${conversationId} (reviewed by ${reviewers})`;
}

/** The conversation an example was made from by this command, or null for any other example. */
function conversationOfExample(name: string): string | null {
  return REVIEWED_BY.test(name) ? name.replace(REVIEWED_BY, '') : null;
}

/** `qm examples ...`; flags and `--help` are handled by the dispatcher (./commands.ts). */
export async function run(args: CommandArgs): Promise<void> {
  const text = (name: string) =>
    typeof args.values[name] === 'string' ? (args.values[name] as string) : undefined;
  const v = {
    reviewed: args.values.reviewed === true,
    since: text('since'),
    rubric: text('rubric'),
    out: text('out'),
  };
  if (!v.reviewed)
    return reportProblems(
      ['--reviewed is required (examples come from reviewed conversations)', USAGE],
      EXIT.config,
    );
  const loaded = loadOperatorConfig(readEnvironment());
  if (!loaded.ok) return reportProblems(loaded.problems, EXIT.config);
  const { config } = loaded;
  const now = systemClock.now();
  const sinceText = v.since ?? 'all';
  const since = sinceText === 'all' ? 0 : parseTime(sinceText, 'since', config.timeZone, now);
  if (since === null)
    return reportProblems([`--since: not a day, instant or span such as 7d: '${sinceText}'`], EXIT.config);

  const rubricPath = v.rubric ?? config.rubricPath ?? DEFAULT_RUBRIC_PATH;
  let rubricBytes: Buffer;
  try {
    rubricBytes = readFileSync(rubricPath);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    return reportProblems([`${rubricPath}: cannot read the rubric (${code})`], EXIT.config);
  }
  // Strictly: a Latin-1 file read leniently would be written back (often over itself, --out) with
  // U+FFFD in place of every accented letter.
  const rubricText = decodeRubricText(rubricBytes);
  if (rubricText === null)
    return reportProblems([`${rubricPath}: not UTF-8 text (save it as UTF-8)`], EXIT.config);
  const parsed = parseRubric(rubricText, rubricPath);
  if (!parsed.ok) return reportProblems(parsed.errors, EXIT.config);
  const rubric = parsed.rubric;
  const ruleNames = new Set(rubric.rules.map((r) => r.name));

  const opened = openExistingStore(config.databasePath, { write: false });
  if (!opened.ok) return reportProblems([opened.problem], EXIT.config);
  const { store } = opened;
  const examples: Example[] = [];
  const notes: string[] = [];
  let withoutTranscript = 0;
  try {
    const results = new ResultStore(store);
    const reviews = new ReviewStore(store);
    const ids = reviews.reviewedResultIds(since);
    for (let i = 0; i < ids.length; i += 200) {
      const chunk = ids.slice(i, i + 200);
      const verdicts = reviews.forResults(chunk);
      for (const id of chunk) {
        const result = results.byId(id);
        if (!result) continue;
        const transcript = results.transcript(result.conversationId);
        if (!transcript) {
          withoutTranscript++;
          continue;
        }
        const mine = verdicts.get(id) ?? [];
        const { labels, ties } = labelsOf(mine);
        for (const rule of ties)
          notes.push(`${result.conversationId}: reviewers disagree on '${rule}': left out`);
        const expect: Record<string, RuleOutcome> = {};
        for (const [rule, outcome] of Object.entries(labels)) {
          if (ruleNames.has(rule)) expect[rule] = outcome;
          else notes.push(`${result.conversationId}: '${rule}' is not a rule of ${rubric.name}: left out`);
        }
        if (Object.keys(expect).length === 0) continue;
        const reviewers = [...new Set(mine.map((m) => m.reviewer))].join(', ');
        examples.push({
          name: exampleName(result.conversationId, reviewers),
          transcript: transcript.map((l) => ({
            speaker: String(l.speaker),
            text: String(l.text),
            timestamp: String(l.timestamp ?? ''),
          })),
          expect,
        });
      }
    }
  } finally {
    store.close();
  }
  for (const note of notes) process.stderr.write(`${note}\n`);
  if (examples.length === 0) {
    process.stderr.write(
      `no reviewed conversations${since ? ` since ${new Date(since).toISOString()}` : ''} with a stored transcript${withoutTranscript ? ` (${withoutTranscript} without one)` : ''}\n`,
    );
    process.exitCode = 1;
    return;
  }

  let output: string;
  if (rubric.shape === 'tutorial') {
    // The tutorial's shape is a bare map of rules: it has no place for examples.
    process.stderr.write(
      `${rubricPath} is in the tutorial's shape, which cannot carry examples: printing the examples alone (move the rules into the native format, docs/rubrics.md §2, to test them with npm run rubric:test)\n`,
    );
    output = stringify({ examples }, { lineWidth: 0 });
  } else {
    const doc = parseDocument(rubricText);
    let list = doc.get('examples');
    if (!isSeq(list)) {
      list = new YAMLSeq();
      doc.set('examples', list);
    }
    const seq = list as YAMLSeq;
    // An example this command wrote earlier for the same conversation is replaced, whoever had
    // reviewed it then: its name carries the reviewers, so after a second review the name differs,
    // and keeping both would leave the old label beside the new one (a stale disagreement in
    // rubric:test). Examples named by hand are replaced only by an exact name.
    const names = new Set(examples.map((e) => e.name));
    const conversations = new Set(examples.map((e) => conversationOfExample(e.name)));
    seq.items = seq.items.filter((item) => {
      if (!isMap(item)) return true;
      const name = String((item as YAMLMap).get('name'));
      const conversation = conversationOfExample(name);
      return !(names.has(name) || (conversation !== null && conversations.has(conversation)));
    });
    for (const example of examples) seq.items.push(doc.createNode(example));
    // Examples that name a conversation file do so relative to the rubric: keep them pointing at it
    // from wherever the copy is written.
    if (v.out && resolve(dirname(v.out)) !== resolve(dirname(rubricPath))) {
      for (const item of seq.items) {
        const file = isMap(item) ? (item as YAMLMap).get('transcript') : undefined;
        if (typeof file === 'string' && !isAbsolute(file)) {
          (item as YAMLMap).set(
            'transcript',
            relative(dirname(resolve(v.out)), resolve(dirname(rubricPath), file)),
          );
        }
      }
    }
    output = doc.toString({ lineWidth: 0 });
  }
  if (v.out) writeFileSync(v.out, output);
  else process.stdout.write(output);
  process.stderr.write(
    `${examples.length} reviewed conversation(s) written as examples${v.out ? ` to ${v.out}` : ''}${withoutTranscript ? `; ${withoutTranscript} skipped (transcript no longer stored)` : ''}\n`,
  );
}

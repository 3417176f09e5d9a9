/**
 * `qm rescore --rubric NEW.yaml [--since 7d] [--until DAY] [--threads N] [--json]`: a
 * backtest. Scores the stored transcripts of the window with another rubric and reports, per rule,
 * how many outcomes would change and how the reviewers' verdicts agree before and after. Writes
 * nothing: the database is opened read-only.
 *
 * Exit codes: 0 reported; 2 usage, settings, database or a rubric that does not load; 1 unexpected.
 */
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { formatBacktestReport } from '../backtest/report-text.js';
import { runBacktest } from '../backtest/run.js';
import { systemClock } from '../clock.js';
import { loadOperatorConfig } from '../config.js';
import { DEFAULT_RUBRIC_PATH, decodeRubricText } from '../rubric-file.js';
import { openExistingStore } from '../store/reports.js';
import { parseTime } from '../web/filters.js';
import type { CommandArgs } from './commands.js';
import { readEnvironment, reportProblems } from './env.js';
import { EXIT } from './exit.js';

const USAGE =
  'usage: qm rescore --rubric FILE [--since 7d|DAY|INSTANT|all] [--until DAY|INSTANT] [--destination KEY] [--threads N] [--json]';

/** `qm rescore ...`; flags and `--help` are handled by the dispatcher (./commands.ts). */
export async function run(args: CommandArgs): Promise<void> {
  const text = (name: string) =>
    typeof args.values[name] === 'string' ? (args.values[name] as string) : undefined;
  const v = {
    rubric: text('rubric'),
    since: text('since'),
    until: text('until'),
    destination: text('destination'),
    threads: text('threads'),
    json: args.values.json === true,
  };
  if (!v.rubric) return reportProblems(['--rubric is required', USAGE], EXIT.config);
  const loaded = loadOperatorConfig(readEnvironment());
  if (!loaded.ok) return reportProblems(loaded.problems, EXIT.config);
  const { config } = loaded;
  const now = systemClock.now();
  const zone = config.timeZone;
  const sinceText = v.since ?? '7d';
  const since = sinceText === 'all' ? undefined : parseTime(sinceText, 'since', zone, now);
  const until = v.until === undefined ? undefined : parseTime(v.until, 'until', zone, now);
  if (since === null)
    return reportProblems([`--since: not a day, instant or span such as 7d: '${sinceText}'`], EXIT.config);
  if (until === null)
    return reportProblems([`--until: not a day, instant or span: '${v.until}'`], EXIT.config);
  const threads = v.threads === undefined ? Math.min(4, availableParallelism()) : Number(v.threads);
  if (!Number.isInteger(threads) || threads < 1 || threads > 64)
    return reportProblems(['--threads must be a whole number from 1 to 64'], EXIT.config);
  let rubricBytes: Buffer;
  try {
    rubricBytes = readFileSync(v.rubric);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    return reportProblems([`${v.rubric}: cannot read the rubric (${code})`], EXIT.config);
  }
  // As the console's upload: a file that is not UTF-8 is named as such, not scored with U+FFFD.
  const rubricText = decodeRubricText(rubricBytes);
  if (rubricText === null)
    return reportProblems([`${v.rubric}: not UTF-8 text (save it as UTF-8)`], EXIT.config);
  // Checked here so a missing or unmigrated database is one line, not one per thread.
  const opened = openExistingStore(config.databasePath, { write: false });
  if (!opened.ok) return reportProblems([opened.problem], EXIT.config);
  opened.store.close();
  const window = {
    ...(since !== undefined ? { since } : {}),
    ...(until !== undefined ? { until } : {}),
    ...(v.destination ? { destination: v.destination } : {}),
  };
  // The active rubric scored most stored results: their unchanged rules need not run again.
  let baselineText: string | undefined;
  try {
    baselineText = readFileSync(config.rubricPath ?? DEFAULT_RUBRIC_PATH, 'utf8');
  } catch {
    baselineText = undefined;
  }
  const outcome = await runBacktest({
    rubricText,
    rubricFile: v.rubric,
    ...(baselineText !== undefined ? { baselineText } : {}),
    window,
    // This command has nothing else to do meanwhile: its own thread is one of the N, and starts
    // scoring at once while the workers load.
    threads: threads - 1,
    alsoOnThisThread: true,
    databasePath: config.databasePath,
  });
  if (!outcome.ok) return reportProblems(outcome.problems, EXIT.config);
  if (v.json) {
    process.stdout.write(`${JSON.stringify(outcome.report)}\n`);
    return;
  }
  const described = `${since === undefined ? 'every stored result' : `results since ${new Date(since).toISOString()}`}${until !== undefined ? ` until ${new Date(until).toISOString()}` : ''}`;
  process.stdout.write(formatBacktestReport(outcome.report, described));
}

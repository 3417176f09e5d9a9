import pino from 'pino';
import { systemClock } from '../clock.js';
import type { Config } from '../config.js';
import { loadConfig } from '../config.js';
import type { CxoneError } from '../cxone/types.js';
import { createLogger } from '../logger.js';
import { dryRun } from '../pipeline/dry-run.js';
import { sweepHorizon } from '../pipeline/sweep.js';
import type { JobOutcome } from '../pipeline/worker.js';
import { openCore, sweepWith, workerFor } from '../service.js';
import type { CommandArgs } from './commands.js';
import { processOwner, readEnvironment, reportProblems } from './env.js';
import { EXIT, StartupError } from './exit.js';

/**
 * `qm sweep` (`npm run sweep`): one reconciliation pass, then works what it found (and anything already due)
 * until nothing runnable is left. Logs go to stderr as JSON; the summary goes to stdout.
 * Safe next to `npm start` on the same database: jobs are leased, the call budget is shared.
 */
async function main(args: { dryRun: boolean; limit: number }): Promise<void> {
  const loaded = loadConfig(readEnvironment(), 'sweep');
  if (!loaded.ok) return reportProblems(loaded.problems, EXIT.config);
  const { config } = loaded;
  const log = createLogger(config.logLevel, pino.destination(2));
  const deps = { clock: systemClock, log, owner: processOwner('sweep') };
  const tty = process.stderr.isTTY === true;
  const progress = (text: string) => {
    if (tty) process.stderr.write(`\r\x1b[2K${text}`);
  };

  const core = openCore(config, deps);
  const interrupted = new AbortController();
  process.once('SIGINT', () => interrupted.abort());
  process.once('SIGTERM', () => interrupted.abort());
  try {
    progress(config.api === 'platform' ? 'connecting to CXone…' : 'reading the QM form…');
    const destination = await core.profile.prepare(
      AbortSignal.any([interrupted.signal, AbortSignal.timeout(config.sweep.connectTimeoutMs)]),
    );
    if (args.dryRun) {
      progress('');
      await dryRunCommand(core, config, deps, args.limit, interrupted.signal);
      return;
    }

    progress('looking for completed conversations…');
    const sweep = await sweepWith(core, config, deps, log, interrupted.signal);
    if (sweep.interrupted) throw new StartupError(['sweep interrupted'], EXIT.interrupted);
    if (!sweep.ok) {
      progress('');
      throw sweepFailure(sweep.error!, core.profile.pausedUntil());
    }

    const tally: Record<JobOutcome, number> = {
      submitted: 0,
      skipped: 0,
      failed: 0,
      retry: 0,
      credentials_refused: 0,
      waiting_transcript: 0,
      lease_lost: 0,
    };
    let refusal: string | undefined;
    // Submissions CXone answered with an evaluation it already had (a new database, another rubric).
    let already = 0;
    const worker = workerFor(core, config, deps, destination, log);
    worker.onJobDone = (_job, outcome, reason, details) => {
      tally[outcome]++;
      if (details?.code === 'already_evaluated') already++;
      if (outcome === 'credentials_refused') refusal ??= reason;
      progress(
        `scoring: ${tally.submitted} submitted, ${tally.skipped} skipped, ${tally.failed} failed, ${worker.inFlight} in flight`,
      );
    };
    // A signal that already fired does not call listeners added later: check first.
    const stopOnSignal = () => void worker.stop(config.shutdownGraceMs);
    if (interrupted.signal.aborted) stopOnSignal();
    else interrupted.signal.addEventListener('abort', stopOnSignal, { once: true });
    // Short retries (a 5xx, a 429) are waited for; a transcript still being made is left for later.
    await worker.runUntilIdle(60_000);
    if (!interrupted.signal.aborted) await worker.stop(config.shutdownGraceMs);
    progress('');

    const states = core.jobs.countByState(sweep.conversationIds);
    const waiting = states.waiting_transcript + states.waiting_agent + states.due + states.in_progress;
    const lines = [
      `sweep: ${sweep.seen} completed conversation(s) in the window, ${sweep.created} new, ${sweep.pages} page(s)` +
        (sweep.refused > 0 ? `, ${sweep.refused} skipped (an id that cannot be a conversation id)` : ''),
      `this run: ${tally.submitted} submitted${already > 0 ? ` (${already} already evaluated in CXone: it kept its earlier evaluation)` : ''}, ${tally.skipped + sweep.skipped} skipped, ${tally.failed} failed`,
      `of the conversations found: ${states.submitted} evaluated, ${states.skipped} skipped, ${states.failed} failed, ${waiting} still waiting`,
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
    if (refusal) {
      // Nothing can be evaluated until the operator fixes the client's scopes or secret: say so
      // with an exit code a scheduler notices.
      throw new StartupError([`sweep: CXone refused the credentials (${refusal})`], EXIT.credentials);
    }
    if (interrupted.signal.aborted) throw new StartupError(['sweep interrupted'], EXIT.interrupted);
  } finally {
    await core.close();
  }
}

/**
 * Why the pass failed, in the operator's words, with the exit code a scheduler acts on: refused
 * credentials (4); otherwise 3, saying whether CXone asked us to wait (a call that never went out is
 * not CXone failing to answer), answered something unusable (an HTML page, a page token repeated in
 * a loop), or could not be reached.
 */
export function sweepFailure(
  error: CxoneError,
  pausedUntil: number | null,
  what = 'sweep failed',
): StartupError {
  if (error.kind === 'unauthorized' || error.kind === 'forbidden') {
    return new StartupError([`${what}: CXone refused the credentials (${error.message})`], EXIT.credentials);
  }
  let why = 'CXone could not be reached';
  // A rate_limited message already says "paused by CXone until ...".
  if (error.kind === 'rate_limited') why = 'CXone asked us to wait';
  else if (pausedUntil !== null)
    why = `CXone asked us to wait: paused by CXone until ${new Date(pausedUntil).toISOString()}`;
  // An answer it could not use, an HTTP 4xx among them (a wrong CXONE_API_ENDPOINT answers 404):
  // CXone was reached, and saying otherwise sends the operator after the network.
  else if (['bad_response', 'too_large', 'rejected', 'not_found'].includes(error.kind))
    why = 'CXone answered something unusable';
  return new StartupError([`${what}: ${why} (${error.message})`], EXIT.unreachable);
}

/**
 * `--dry-run`: lists what a sweep would find from the same horizon, fetches and scores up to `limit`
 * transcripts, and prints one line each; writes no job, no watermark and delivers nothing.
 */
async function dryRunCommand(
  core: ReturnType<typeof openCore>,
  config: Config,
  deps: { clock: typeof systemClock },
  limit: number,
  signal: AbortSignal,
): Promise<void> {
  const now = deps.clock.now();
  const horizon = sweepHorizon(
    now,
    core.sweeps.lastSuccessfulStart(),
    config.sweep.lookbackMs,
    config.sweep.safetyMarginMs,
  );
  const out = (line: string) => process.stdout.write(`${line}\n`);
  out(
    `dry run (${config.api} profile): nothing is written; conversations completed since ${new Date(horizon).toISOString()}`,
  );
  const result = await dryRun({
    lister: core.profile.lister,
    source: core.profile.source,
    scorer: core.scorer,
    horizon,
    limit,
    maxPages: config.sweep.maxPages,
    clock: deps.clock,
    signal,
    onRow: (row) =>
      out(
        `${row.conversationId}\t${row.agentId ?? '-'}\twould ${row.verdict === 'unchecked' ? 'be checked' : row.verdict}\t${row.detail}`,
      ),
  });
  const count = (verdict: string) => result.rows.filter((r) => r.verdict === verdict).length;
  out(
    `dry run: ${result.rows.length} conversation(s) found; would score ${count('score')}, skip ${count('skip')}, wait for ${count('wait')}; ${count('error')} error(s); ${count('unchecked')} not fetched (--limit ${limit})`,
  );
  if (result.error) throw sweepFailure(result.error, core.profile.pausedUntil(), 'dry run');
  if (result.refused)
    throw new StartupError([`dry run: CXone refused a call (${result.refused.message})`], EXIT.credentials);
  if (signal.aborted) throw new StartupError(['dry run interrupted'], EXIT.interrupted);
}

/** `qm sweep [--dry-run [--limit N]]`. */
export function run(args?: CommandArgs): Promise<void> {
  const limit = args?.values.limit;
  const options = {
    dryRun: args?.values['dry-run'] === true,
    limit: typeof limit === 'string' ? Number(limit) : 20,
  };
  return main(options).catch((error: unknown) => {
    if (error instanceof StartupError) return reportProblems(error.lines, error.exitCode);
    process.stderr.write(`unexpected error: ${(error as Error)?.stack ?? String(error)}\n`);
    process.exitCode = EXIT.unexpected;
  });
}

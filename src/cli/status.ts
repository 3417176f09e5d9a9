import { systemClock } from '../clock.js';
import { loadOperatorConfig } from '../config.js';
import { openExistingStore, readStatusReport, type StatusReport } from '../store/reports.js';
import type { CommandArgs } from './commands.js';
import { readEnvironment, reportProblems } from './env.js';
import { EXIT } from './exit.js';

/**
 * `qm status` (`npm run status`): what the queue holds, read-only, from DATABASE_PATH. For operators: how many
 * conversations are in each state, what failed and why, what is waiting and since when, how the last
 * sweeps went, and whether CXone asked us to wait. `--json` prints one JSON object instead.
 * It never creates a database: a wrong path, a file that is not the service's database, one not
 * migrated yet or one it cannot read is one line on stderr, exit 2.
 */
export function run(args: CommandArgs): void {
  // Only the database path matters here; do not insist on credentials to read a file.
  const loaded = loadOperatorConfig(readEnvironment());
  if (!loaded.ok) return void reportProblems(loaded.problems, EXIT.config);
  const path = loaded.config.databasePath;
  const opened = openExistingStore(path, { write: false });
  if (!opened.ok) return void reportProblems([opened.problem], EXIT.config);
  const now = systemClock.now();
  let report: StatusReport;
  try {
    report = readStatusReport(opened.store, now);
  } catch (error) {
    // A lock held past the busy timeout, a disk error: one line, no stack trace.
    return void reportProblems(
      [`DATABASE_PATH: cannot read '${path}' (${(error as Error).message})`],
      EXIT.config,
    );
  } finally {
    opened.store.close();
  }

  if (args.values.json) {
    process.stdout.write(`${JSON.stringify({ database: path, ...report })}\n`);
    return;
  }
  process.stdout.write(`${render(path, report).join('\n')}\n`);
}

const time = (ms: number | null) =>
  ms === null ? '-' : new Date(ms).toISOString().replace('T', ' ').slice(0, 19);

const HINTS: Record<string, string> = {
  no_match: 'check WEBHOOK_SECRET against the secret CXone signs with',
  stale: "check the sender's and this machine's clocks",
  future: "check the sender's and this machine's clocks",
  missing_headers: 'check that the webhook signs its deliveries (Standard Webhooks)',
};

function render(path: string, report: StatusReport): string[] {
  const { counts, waiting, failed, sweeps, events, pauses } = report;
  const refused = report.signature_failures;
  const out: string[] = [`database ${path}`, ''];
  for (const p of pauses)
    out.push(`paused by CXone until ${time(p.until)} (429): no call to the ${p.scope} API before then`);
  // Refusals since the last delivery that got through: the webhooks are not arriving at all.
  const alerts: string[] = [];
  if (refused.last_hour > 0 && refused.last_at !== null && (events.last ?? 0) < refused.last_at) {
    const why = refused.last_reason ?? '';
    alerts.push(
      `webhooks are being refused for their signature (${refused.last_hour} in the last hour, ${why}; last delivery recorded ${time(events.last)}): ${HINTS[why] ?? 'see the service log'}`,
    );
  }
  out.push(...alerts);
  if (pauses.length + alerts.length > 0) out.push('');
  out.push('jobs by state:');
  if (counts.length === 0) out.push('  (none yet)');
  for (const c of counts)
    out.push(`  ${c.form_id.padEnd(24)} ${c.state.padEnd(20)} ${String(c.n).padStart(7)}`);
  out.push('', 'not finished yet:');
  if (waiting.length === 0) out.push('  nothing');
  for (const w of waiting)
    out.push(`  ${w.state.padEnd(20)} ${String(w.n).padStart(7)}  oldest first seen ${time(w.oldest)}`);
  out.push('', 'most recent failures:');
  if (failed.length === 0) out.push('  none');
  for (const f of failed) {
    // Attempts count what the store counts (retries after transient failures); a job that failed at
    // its first answer has none worth showing.
    const attempts = f.attempts > 0 ? `  (after ${f.attempts} attempt${f.attempts === 1 ? '' : 's'})` : '';
    out.push(
      `  ${time(f.finished_at)}  ${f.conversation_id}${attempts}  ${f.reason ?? '(no reason recorded)'}`,
    );
  }
  out.push('', 'last sweeps:');
  if (sweeps.length === 0) out.push('  none yet');
  for (const s of sweeps) {
    out.push(
      `  ${time(s.started_at)}  ${s.status.padEnd(7)}  ${s.pages} page(s), ${s.seen} seen, ${s.created} new${s.error ? `  ${s.error}` : ''}`,
    );
  }
  out.push('', `webhook deliveries recorded: ${events.n} (last ${time(events.last)})`);
  const reasons = refused.by_reason.map((r) => `${r.reason} ${r.n}`).join(', ');
  out.push(
    `webhooks refused for their signature: ${refused.last_hour} in the last hour, ${refused.last_day} in the last day${reasons ? ` (${reasons})` : ''}${refused.last_at === null ? '' : `; last ${time(refused.last_at)}`}`,
  );
  const already = report.already_evaluated;
  if (already.n > 0) {
    out.push(
      '',
      `already evaluated: ${already.n} conversation(s) CXone answered with an evaluation it had already made (another database or an earlier rubric); that evaluation stands. Re-scoring history is npm run rescore, not a resubmission.`,
    );
    for (const a of already.latest)
      out.push(`  ${time(a.finished_at)}  ${a.conversation_id}  ${a.reason ?? ''}`);
  }
  return out;
}

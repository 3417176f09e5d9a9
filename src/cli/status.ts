import Database from 'better-sqlite3';
import { loadConfig } from '../config.js';
import { EXIT } from '../service.js';
import { readEnvironment, reportProblems } from './env.js';

/**
 * `npm run status`: what the queue holds, read-only, from DATABASE_PATH. For operators: how many
 * conversations are in each state, what failed and why, what is waiting and since when, and how
 * the last sweeps went. `--json` prints one JSON object instead.
 */

interface StateCount {
  form_id: string;
  state: string;
  n: number;
}

function main(): void {
  const env = readEnvironment();
  const loaded = loadConfig(env, 'sweep');
  // Only the database path matters here; do not insist on credentials to read a file.
  const path = loaded.ok ? loaded.config.databasePath : (env.DATABASE_PATH ?? './data/qm.sqlite');
  let db: Database.Database;
  try {
    db = new Database(path, { readonly: true, fileMustExist: true });
  } catch (error) {
    return void reportProblems(
      [`DATABASE_PATH: cannot open '${path}' (${(error as Error).message})`],
      EXIT.config,
    );
  }
  db.pragma('busy_timeout = 5000');
  try {
    const counts = db
      .prepare(
        'SELECT form_id, state, count(*) AS n FROM jobs GROUP BY form_id, state ORDER BY form_id, state',
      )
      .all() as StateCount[];
    const failed = db
      .prepare(
        "SELECT conversation_id, form_id, reason, attempts, finished_at FROM jobs WHERE state = 'failed' ORDER BY finished_at DESC LIMIT 10",
      )
      .all() as {
      conversation_id: string;
      form_id: string;
      reason: string;
      attempts: number;
      finished_at: number;
    }[];
    const waiting = db
      .prepare(
        "SELECT state, count(*) AS n, min(first_seen_at) AS oldest FROM jobs WHERE state IN ('waiting_agent', 'waiting_transcript', 'due', 'in_progress') GROUP BY state",
      )
      .all() as { state: string; n: number; oldest: number }[];
    const sweeps = db
      .prepare(
        'SELECT started_at, finished_at, status, pages, seen, created, error FROM sweeps ORDER BY id DESC LIMIT 5',
      )
      .all() as {
      started_at: number;
      finished_at: number | null;
      status: string;
      pages: number;
      seen: number;
      created: number;
      error: string | null;
    }[];
    const events = db.prepare('SELECT count(*) AS n, max(received_at) AS last FROM webhook_events').get() as {
      n: number;
      last: number | null;
    };

    if (process.argv.includes('--json')) {
      process.stdout.write(
        `${JSON.stringify({ database: path, counts, waiting, failed, sweeps, events })}\n`,
      );
      return;
    }
    const time = (ms: number | null) =>
      ms === null ? '-' : new Date(ms).toISOString().replace('T', ' ').slice(0, 19);
    const out: string[] = [`database ${path}`, ''];
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
    for (const f of failed)
      out.push(`  ${time(f.finished_at)}  ${f.conversation_id}  (${f.attempts} attempts)  ${f.reason}`);
    out.push('', 'last sweeps:');
    if (sweeps.length === 0) out.push('  none yet');
    for (const s of sweeps) {
      out.push(
        `  ${time(s.started_at)}  ${s.status.padEnd(7)}  ${s.pages} page(s), ${s.seen} seen, ${s.created} new${s.error ? `  ${s.error}` : ''}`,
      );
    }
    out.push('', `webhook deliveries recorded: ${events.n} (last ${time(events.last)})`);
    process.stdout.write(`${out.join('\n')}\n`);
  } finally {
    db.close();
  }
}

main();

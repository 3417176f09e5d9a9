import { accessSync, constants, statSync } from 'node:fs';
import Database from 'better-sqlite3';
import { asc, count, eq, sql } from 'drizzle-orm';
import { readMigrationFiles } from 'drizzle-orm/migrator';
import { MIGRATIONS_FOLDER, type Store, storeOn } from './db.js';
import { jobs, webhookEvents } from './schema.js';
import { readSignatureFailures, type SignatureFailureReport } from './signature-failures.js';

/**
 * What the operator commands (`npm run status`, `npm run requeue`) and the demo read from a database
 * the service made. Opening here never creates a file or a table: a wrong DATABASE_PATH, a file that
 * is not a database or one the service has not migrated yet is a one-line problem, not a new empty
 * database.
 */

export type OpenExisting = { ok: true; store: Store } | { ok: false; problem: string };

/**
 * Opens the service's database at `path` if it exists and is migrated to what this code expects.
 * `write: false` opens it read-only. The problem, when there is one, is one line naming DATABASE_PATH.
 */
export function openExistingStore(
  path: string,
  options: {
    write: boolean;
    /**
     * Also open a database an older version of the service made (migrations pending): what a backup
     * before an upgrade needs. Still never a file that is not the service's database.
     */
    acceptOlder?: boolean;
  },
): OpenExisting {
  const problem = (why: string): OpenExisting => ({
    ok: false,
    problem: `DATABASE_PATH: cannot open '${path}': ${why}`,
  });
  try {
    if (!statSync(path).isFile()) return problem('not a file');
    accessSync(path, options.write ? constants.R_OK | constants.W_OK : constants.R_OK);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return problem('no such file (the service creates it when it first starts)');
    return problem(`not ${options.write ? 'writable' : 'readable'} (${code ?? (error as Error).message})`);
  }
  let sqlite: Database.Database | undefined;
  try {
    sqlite = new Database(path, { readonly: !options.write, fileMustExist: true });
    sqlite.pragma('busy_timeout = 5000');
    // Removing a console account removes its sessions and tokens (ON DELETE CASCADE).
    sqlite.pragma('foreign_keys = ON');
    const { applied, pending } = migrationState(sqlite);
    if (pending > 0 && !(options.acceptOlder && applied > 0)) {
      sqlite.close();
      return problem(
        applied === 0
          ? 'not a database of this service (none of its tables; the service sets them up when it first starts)'
          : `made by an older version of the service (${pending} migration(s) not applied yet): start the service once (npm start) to upgrade it`,
      );
    }
    return { ok: true, store: storeOn(sqlite) };
  } catch (error) {
    sqlite?.close();
    const { code, message } = error as { code?: string; message: string };
    if (code === 'SQLITE_NOTADB') return problem('not a SQLite database');
    return problem(message);
  }
}

/** How many of this code's migrations the database has, and how many it lacks. */
function migrationState(sqlite: Database.Database): { applied: number; pending: number } {
  const migrations = readMigrationFiles({ migrationsFolder: MIGRATIONS_FOLDER });
  const table = sqlite
    .prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '__drizzle_migrations'")
    .get();
  if (!table) return { applied: 0, pending: migrations.length };
  // The same rule as migrate(): a migration ran when the last recorded one is not older than it.
  const last = sqlite
    .prepare('SELECT created_at FROM "__drizzle_migrations" ORDER BY created_at DESC LIMIT 1')
    .get() as { created_at: number } | undefined;
  const lastAt = last ? Number(last.created_at) : Number.NEGATIVE_INFINITY;
  const pending = migrations.filter((m) => m.folderMillis > lastAt).length;
  return { applied: migrations.length - pending, pending };
}

/** `npm run status` (snake_case: the shape `--json` prints). */
export interface StatusReport {
  counts: { form_id: string; state: string; n: number }[];
  waiting: { state: string; n: number; oldest: number }[];
  /** The most recent failures, newest first, with whatever the store records about why. */
  failed: {
    conversation_id: string;
    form_id: string;
    reason: string | null;
    attempts: number;
    finished_at: number | null;
  }[];
  sweeps: {
    started_at: number;
    finished_at: number | null;
    status: string;
    pages: number;
    seen: number;
    created: number;
    error: string | null;
  }[];
  events: { n: number; last: number | null };
  /** 429 pauses still in force at `now`: no call of that API before `until`. */
  pauses: { scope: string; until: number }[];
  /** Webhooks refused 401 for their signature (a wrong WEBHOOK_SECRET shows here). */
  signature_failures: SignatureFailureReport;
  /**
   * Submissions CXone answered with an evaluation it already had (a new database, a changed rubric):
   * how many, and the latest few, newest first.
   */
  already_evaluated: {
    n: number;
    latest: { conversation_id: string; form_id: string; reason: string | null; finished_at: number | null }[];
  };
}

/** 429 pauses still in force at `now`, per budget scope (one per API): no call before `until`. */
export function readPauses(store: Store, now: number): { scope: string; until: number }[] {
  return store.sqlite
    .prepare('SELECT scope, paused_until AS until FROM budget_state WHERE paused_until > ? ORDER BY scope')
    .all(now) as { scope: string; until: number }[];
}

export function readStatusReport(
  store: Store,
  now: number,
  limits: { failed: number; sweeps: number; alreadyEvaluated?: number } = { failed: 10, sweeps: 5 },
): StatusReport {
  const { sqlite } = store;
  // One read transaction: every part of the report is of the same moment.
  return sqlite.transaction(() => ({
    counts: sqlite
      .prepare(
        'SELECT form_id, state, count(*) AS n FROM jobs GROUP BY form_id, state ORDER BY form_id, state',
      )
      .all() as StatusReport['counts'],
    waiting: sqlite
      .prepare(
        "SELECT state, count(*) AS n, min(first_seen_at) AS oldest FROM jobs WHERE state IN ('waiting_agent', 'waiting_transcript', 'due', 'in_progress') GROUP BY state",
      )
      .all() as StatusReport['waiting'],
    failed: sqlite
      .prepare(
        "SELECT conversation_id, form_id, reason, attempts, finished_at FROM jobs WHERE state = 'failed' ORDER BY finished_at DESC LIMIT ?",
      )
      .all(limits.failed) as StatusReport['failed'],
    sweeps: sqlite
      .prepare(
        'SELECT started_at, finished_at, status, pages, seen, created, error FROM sweeps ORDER BY id DESC LIMIT ?',
      )
      .all(limits.sweeps) as StatusReport['sweeps'],
    events: sqlite
      .prepare('SELECT count(*) AS n, max(received_at) AS last FROM webhook_events')
      .get() as StatusReport['events'],
    pauses: readPauses(store, now),
    signature_failures: readSignatureFailures(store, now),
    // Both read the partial index of jobs with a reason code, not the millions of submitted jobs.
    already_evaluated: {
      n: Number(
        sqlite.prepare("SELECT count(*) FROM jobs WHERE reason_code = 'already_evaluated'").pluck().get(),
      ),
      latest: sqlite
        .prepare(
          "SELECT conversation_id, form_id, reason, finished_at FROM jobs WHERE reason_code = 'already_evaluated' ORDER BY finished_at DESC LIMIT ?",
        )
        .all(limits.alreadyEvaluated ?? 5) as StatusReport['already_evaluated']['latest'],
    },
  }))();
}

/** The forms that have a job for `conversationId` (to tell an operator where an id they gave is known). */
export function formsOfConversation(store: Store, conversationId: string): string[] {
  return store.db
    .select({ formId: jobs.formId })
    .from(jobs)
    .where(eq(jobs.conversationId, conversationId))
    .orderBy(asc(jobs.formId))
    .all()
    .map((row) => row.formId);
}

/** How many jobs there are, and how many of them have not reached an end state. */
export function countJobs(store: Store): { known: number; unfinished: number } {
  const row = store.db
    .select({
      known: count(),
      unfinished: sql<number>`coalesce(sum(${jobs.state} NOT IN ('submitted', 'skipped', 'failed')), 0)`,
    })
    .from(jobs)
    .get();
  return { known: row?.known ?? 0, unfinished: Number(row?.unfinished ?? 0) };
}

/** Every job, by conversation id: what the demo prints at the end. */
export function listJobs(store: Store) {
  return store.db
    .select({
      conversationId: jobs.conversationId,
      agentId: jobs.agentId,
      mediaType: jobs.mediaType,
      source: jobs.source,
      state: jobs.state,
      reason: jobs.reason,
      overallScore: jobs.overallScore,
      attempts: jobs.attempts,
      transcriptChecks: jobs.transcriptChecks,
    })
    .from(jobs)
    .orderBy(asc(jobs.conversationId))
    .all();
}

/** Webhook deliveries recorded. */
export function countWebhookEvents(store: Store): number {
  return store.db.select({ n: count() }).from(webhookEvents).get()?.n ?? 0;
}

import { randomBytes } from 'node:crypto';
import {
  closeSync,
  existsSync,
  fsyncSync,
  linkSync,
  openSync,
  renameSync,
  statSync,
  unlinkSync,
} from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import Database from 'better-sqlite3';
import type { Store } from './db.js';

/**
 * `npm run backup -- FILE`: a consistent copy of the service's database while the service runs.
 *
 * Why not `cp`: the database is in WAL mode. Every commit goes first to `qm.sqlite-wal`, and only a
 * checkpoint (every thousand pages or so) moves it into `qm.sqlite`; a young database's tables can all
 * still be in the WAL, so `cp qm.sqlite` alone copies a file with no tables, and copying both files
 * while commits land gives a torn copy. SQLite's backup API reads one consistent snapshot, WAL
 * included, through SQLite's own locking.
 *
 * How: the copy is made in one step (one read transaction: in WAL mode it never blocks the service's
 * writers, and a step-by-step copy would restart each time the service commits), into a temporary
 * file beside FILE, which is then switched to the rollback journal (a single self-contained file,
 * nothing to copy beside it), checked (`PRAGMA integrity_check`, the migrations recorded) and only
 * then moved to FILE. A failed or refused backup leaves FILE as it was.
 */

export interface BackupResult {
  path: string;
  bytes: number;
  /** Migrations recorded in the copy (as in the source). */
  migrations: number;
  jobs: number;
  webhookEvents: number;
  durationMs: number;
}

export type BackupOutcome =
  | { ok: true; result: BackupResult }
  /** `refused`: nothing was done (FILE exists, FILE is the database); `failed`: the copy went wrong. */
  | { ok: false; kind: 'refused' | 'failed'; problem: string };

/** The service's files at `path`: the database and the two files WAL mode keeps beside it. */
const databaseFiles = (path: string) => [path, `${path}-wal`, `${path}-shm`, `${path}-journal`];

export async function backupDatabase(
  source: Store,
  file: string,
  options: { overwrite: boolean; now?: () => number },
): Promise<BackupOutcome> {
  const now = options.now ?? (() => performance.now());
  const started = now();
  const target = resolve(file);
  const refused = (problem: string): BackupOutcome => ({ ok: false, kind: 'refused', problem });
  if (databaseFiles(resolve(source.sqlite.name)).includes(target)) {
    return refused(`${file}: that is the database itself (or one of its files); give another path`);
  }
  if (existsSync(target)) {
    if (!options.overwrite) return refused(`${file}: already exists; pass --overwrite to replace it`);
    if (!statSync(target).isFile()) return refused(`${file}: exists and is not a file`);
  }
  if (!existsSync(dirname(target))) return refused(`${file}: the folder ${dirname(target)} does not exist`);

  const partial = resolve(dirname(target), `.${basename(target)}.partial-${randomBytes(4).toString('hex')}`);
  const cleanup = () => {
    for (const f of databaseFiles(partial)) if (existsSync(f)) unlinkSync(f);
  };
  try {
    cleanup();
    // One step: the first transfer only starts the backup, the progress callback then asks for every
    // page at once (see above).
    await source.sqlite.backup(partial, { progress: () => 0x7fffffff });
    const facts = verifyCopy(partial, source);
    if (!facts.ok) {
      cleanup();
      return { ok: false, kind: 'failed', problem: `${file}: the copy failed its check: ${facts.problem}` };
    }
    place(partial, target, options.overwrite);
    return {
      ok: true,
      result: { path: target, bytes: statSync(target).size, ...facts.counts, durationMs: now() - started },
    };
  } catch (error) {
    cleanup();
    const { code, message } = error as NodeJS.ErrnoException;
    if (code === 'EEXIST') return refused(`${file}: appeared while the backup ran; nothing was replaced`);
    return { ok: false, kind: 'failed', problem: `${file}: backup failed: ${message}` };
  }
}

/**
 * Opens the copy on its own: switches it to a rollback journal (one file), checks every page and
 * index, and compares its migrations with the source's.
 */
function verifyCopy(
  path: string,
  source: Store,
):
  | { ok: true; counts: { migrations: number; jobs: number; webhookEvents: number } }
  | { ok: false; problem: string } {
  const copy = new Database(path, { fileMustExist: true });
  try {
    copy.pragma('journal_mode = DELETE');
    const integrity = copy.pragma('integrity_check') as { integrity_check: string }[];
    const verdict = integrity.map((r) => r.integrity_check).join('; ');
    if (verdict !== 'ok') return { ok: false, problem: `integrity_check: ${verdict.slice(0, 300)}` };
    const count = (db: Database.Database, table: string) =>
      Number(db.prepare(`SELECT count(*) FROM "${table}"`).pluck().get());
    const migrations = count(copy, '__drizzle_migrations');
    const expected = count(source.sqlite, '__drizzle_migrations');
    if (migrations !== expected || migrations === 0) {
      return { ok: false, problem: `${migrations} migration(s) recorded, the database has ${expected}` };
    }
    return {
      ok: true,
      counts: { migrations, jobs: count(copy, 'jobs'), webhookEvents: count(copy, 'webhook_events') },
    };
  } finally {
    copy.close();
  }
}

/**
 * Moves the checked copy to FILE and makes the move durable. Without `overwrite`, a hard link puts it
 * there only if nothing is there yet (EEXIST otherwise), even if a file appeared meanwhile; file
 * systems without hard links get a plain rename after the check above.
 */
function place(partial: string, target: string, overwrite: boolean): void {
  if (overwrite) renameSync(partial, target);
  else {
    try {
      linkSync(partial, target);
      unlinkSync(partial);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'EEXIST' || existsSync(target)) throw error;
      renameSync(partial, target);
    }
  }
  // The rename is durable once the folder is synced (best effort: not every platform allows it).
  try {
    const fd = openSync(dirname(target), 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    // A folder that cannot be opened for syncing (some network file systems): the copy is complete.
  }
}

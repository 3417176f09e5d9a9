import { mkdirSync } from 'node:fs';
import { statfs } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { type BetterSQLite3Database, drizzle } from 'drizzle-orm/better-sqlite3';
import { readMigrationFiles } from 'drizzle-orm/migrator';
import type { Clock } from '../clock.js';
import * as schema from './schema.js';

export type Db = BetterSQLite3Database<typeof schema>;

export interface Store {
  sqlite: Database.Database;
  db: Db;
  /** Runs `fn` in BEGIN IMMEDIATE and fsyncs the commit (synchronous=FULL) before returning. */
  durably<T>(fn: () => T): T;
  close(): void;
}

/** drizzle/ at the repository root, whether we run from src/ (tsx) or dist/ (compiled). */
export const MIGRATIONS_FOLDER = resolve(dirname(fileURLToPath(import.meta.url)), '../../drizzle');

/**
 * The busy timeout of a connection that serves HTTP or runs the worker. better-sqlite3 waits for a
 * lock synchronously, on the event loop: with the command-line default (10 s) a lock held by another
 * process froze every request for as long as it was held. A few milliseconds absorb the ordinary
 * brief overlaps (another process's commit); anything longer is waited for asynchronously
 * (retryWhileBusy), so the loop keeps answering meanwhile.
 */
export const SERVICE_BUSY_TIMEOUT_MS = 5;

/** Commands that do one thing and exit may simply wait for a lock. */
export const COMMAND_BUSY_TIMEOUT_MS = 10_000;

export function openStore(path: string, options: { busyTimeoutMs?: number } = {}): Store {
  if (path !== ':memory:') mkdirSync(dirname(resolve(path)), { recursive: true });
  const sqlite = new Database(path);
  // A second process (npm run sweep next to npm start) waits for the write lock instead of failing
  // at once with SQLITE_BUSY.
  setBusyTimeout(sqlite, options.busyTimeoutMs ?? COMMAND_BUSY_TIMEOUT_MS);
  sqlite.pragma('journal_mode = WAL');
  // NORMAL in WAL mode: a commit survives the process dying (kill -9) but not a power loss. That is
  // enough for job transitions (a lost "submitted" is repeated, and the Idempotency-Key makes the
  // repeat harmless) and it keeps an fsync off every step of every job. Commits that answer a
  // webhook use `durably()`, which fsyncs; since the WAL is written in order, that fsync also makes
  // every earlier commit durable.
  sqlite.pragma('synchronous = NORMAL');
  sqlite.pragma('foreign_keys = ON');
  return storeOn(sqlite);
}

/** The Store over a connection already open and configured (see openStore and reports.ts). */
export function storeOn(sqlite: Database.Database): Store {
  return {
    sqlite,
    db: drizzle(sqlite, { schema }),
    durably(fn) {
      sqlite.pragma('synchronous = FULL');
      try {
        return sqlite.transaction(fn).immediate();
      } finally {
        sqlite.pragma('synchronous = NORMAL');
      }
    },
    close: () => {
      if (sqlite.open) sqlite.close();
    },
  };
}

/**
 * Applies drizzle-kit's migrations. drizzle's own migrator reads which migrations ran *before* it
 * takes the write lock, so two processes starting together can both try to apply the first one;
 * here the read and the writes happen inside one BEGIN IMMEDIATE, and the loser of the race waits
 * (busy_timeout), then finds nothing left to do. Same bookkeeping table as drizzle's.
 */
export function migrate(store: Store, migrationsFolder = MIGRATIONS_FOLDER): { applied: number } {
  const migrations = readMigrationFiles({ migrationsFolder });
  const { sqlite } = store;
  const run = sqlite.transaction(() => {
    sqlite.exec(
      'CREATE TABLE IF NOT EXISTS "__drizzle_migrations" (id SERIAL PRIMARY KEY, hash text NOT NULL, created_at numeric)',
    );
    const last = sqlite
      .prepare('SELECT created_at FROM "__drizzle_migrations" ORDER BY created_at DESC LIMIT 1')
      .get() as { created_at: number } | undefined;
    let applied = 0;
    for (const migration of migrations) {
      if (last && Number(last.created_at) >= migration.folderMillis) continue;
      for (const statement of migration.sql) {
        if (statement.trim()) sqlite.exec(statement);
      }
      sqlite
        .prepare('INSERT INTO "__drizzle_migrations" ("hash", "created_at") VALUES (?, ?)')
        .run(migration.hash, migration.folderMillis);
      applied++;
    }
    return applied;
  });
  return { applied: run.immediate() };
}

export function setBusyTimeout(sqlite: Database.Database, ms: number): void {
  sqlite.pragma(`busy_timeout = ${Math.max(0, Math.round(ms))}`);
}

/** SQLITE_BUSY (another connection holds the lock) or SQLITE_LOCKED, in any of their extended forms. */
export function isBusy(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED'));
}

export interface BusyRetryOptions {
  clock: Clock;
  /** How long to keep trying in all; past it the last SQLITE_BUSY error is thrown. */
  budgetMs: number;
  signal?: AbortSignal;
}

/**
 * Runs `fn` (a synchronous statement or transaction on a connection with a short busy timeout) and,
 * while it fails with SQLITE_BUSY, runs it again after growing pauses (10 ms doubling to 250 ms) until
 * `budgetMs` has passed. The pauses are timers, not busy_timeout's sleep, so the event loop keeps
 * running while another process holds the lock. Any other error is thrown at once.
 */
export async function retryWhileBusy<T>(fn: () => T, options: BusyRetryOptions): Promise<T> {
  const { clock, budgetMs, signal } = options;
  const deadline = clock.now() + budgetMs;
  for (let pause = 10; ; pause = Math.min(pause * 2, 250)) {
    try {
      return fn();
    } catch (error) {
      const left = deadline - clock.now();
      if (!isBusy(error) || left <= 0 || signal?.aborted) throw error;
      await clock.sleep(Math.min(pause, left), signal);
    }
  }
}

export type WriteProbe = { ok: true } | { ok: false; reason: 'locked' | 'not_writable' | 'disk_full' };

/**
 * Below this much free space on the database's file system the store counts as full. A commit into
 * space the WAL already holds can still succeed on a full disk, so the probe's write alone would
 * turn red only once the WAL must grow; a webhook needs a few pages, so 1 MiB is "full".
 */
export const MIN_FREE_BYTES = 1024 * 1024;

/** Free bytes (for an unprivileged process) on the file system holding `path`. */
export async function freeBytesAt(path: string): Promise<number> {
  const fs = await statfs(dirname(resolve(path)));
  return Number(fs.bavail) * Number(fs.bsize);
}

/**
 * Whether the database takes a write now: free space on its file system (see MIN_FREE_BYTES), then
 * one tiny committed write (an upsert of one row), not a read or a rolled-back transaction, because a
 * read-only file or an I/O error only shows when a commit reaches the file. Waits for a lock up to
 * `budgetMs` (asynchronously), so a brief overlap with another process's commit does not turn a probe
 * red. At most one probe runs at a time and its answer is reused for `cacheMs`, so a load balancer
 * polling /readyz costs at most one small write per `cacheMs`.
 */
export function createWriteProbe(
  store: Store,
  options: {
    clock: Clock;
    budgetMs?: number;
    cacheMs?: number;
    onProblem?: (error: unknown) => void;
    /** Free bytes where the database lives; the real file system's (statfs) unless a test gives one. */
    freeBytes?: () => Promise<number>;
  },
): () => Promise<WriteProbe> {
  const { clock } = options;
  const path = store.sqlite.name;
  const freeBytes =
    options.freeBytes ??
    (path === ':memory:' || path === '' ? async () => Number.POSITIVE_INFINITY : () => freeBytesAt(path));
  const budgetMs = options.budgetMs ?? 250;
  const cacheMs = options.cacheMs ?? 1_000;
  const upsert = store.sqlite.prepare(
    'INSERT INTO store_probe (id, checked_at) VALUES (1, ?) ON CONFLICT(id) DO UPDATE SET checked_at = excluded.checked_at',
  );
  const write = store.sqlite.transaction((now: number) => upsert.run(now));
  let last: { at: number; result: WriteProbe } | undefined;
  let running: Promise<WriteProbe> | undefined;
  const probe = async (): Promise<WriteProbe> => {
    // A file system that cannot say (statfs unsupported) is not a reason to stop taking webhooks.
    const free = await freeBytes().catch(() => Number.POSITIVE_INFINITY);
    if (free < MIN_FREE_BYTES) return { ok: false, reason: 'disk_full' };
    try {
      await retryWhileBusy(() => write.immediate(clock.now()), { clock, budgetMs });
      return { ok: true };
    } catch (error) {
      if (isBusy(error)) return { ok: false, reason: 'locked' };
      options.onProblem?.(error);
      return { ok: false, reason: 'not_writable' };
    }
  };
  return () => {
    if (last && clock.now() - last.at < cacheMs) return Promise.resolve(last.result);
    running ??= probe().then((result) => {
      last = { at: clock.now(), result };
      running = undefined;
      return result;
    });
    return running;
  };
}

import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { type BetterSQLite3Database, drizzle } from 'drizzle-orm/better-sqlite3';
import { readMigrationFiles } from 'drizzle-orm/migrator';
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

export function openStore(path: string, options: { busyTimeoutMs?: number } = {}): Store {
  if (path !== ':memory:') mkdirSync(dirname(resolve(path)), { recursive: true });
  const sqlite = new Database(path);
  // A second process (npm run sweep next to npm start) waits for the write lock instead of failing
  // at once with SQLITE_BUSY.
  sqlite.pragma(`busy_timeout = ${options.busyTimeoutMs ?? 10_000}`);
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

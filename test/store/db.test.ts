import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock, systemClock } from '../../src/clock.js';
import {
  createWriteProbe,
  freeBytesAt,
  isBusy,
  MIN_FREE_BYTES,
  migrate,
  openStore,
  retryWhileBusy,
  SERVICE_BUSY_TIMEOUT_MS,
  setBusyTimeout,
} from '../../src/store/db.js';
import { tempStore } from '../support/db.js';

describe('durably()', () => {
  let t: ReturnType<typeof tempStore>;
  beforeEach(() => {
    t = tempStore();
  });
  afterEach(() => t.cleanup());

  const synchronous = () => t.store.sqlite.pragma('synchronous', { simple: true });

  it('commits made durably() are fsynced (FULL); the rest of the time the connection runs NORMAL', () => {
    // 1 = NORMAL, 2 = FULL. A 202 waits for a durably() commit (the event recorder's test checks it
    // goes through here), so this is what makes an answered webhook survive a power loss too.
    expect(synchronous()).toBe(1);
    const inside = t.store.durably(() => {
      t.store.sqlite.prepare("INSERT INTO sweeps (owner, started_at, status) VALUES ('t', 1, 'ok')").run();
      return synchronous();
    });
    expect(inside).toBe(2);
    expect(synchronous()).toBe(1);
  });

  it('a failed durably() transaction rolls back and leaves the connection NORMAL', () => {
    expect(() =>
      t.store.durably(() => {
        t.store.sqlite.prepare("INSERT INTO sweeps (owner, started_at, status) VALUES ('t', 1, 'ok')").run();
        throw new Error('boom');
      }),
    ).toThrow('boom');
    expect((t.store.sqlite.prepare('SELECT count(*) AS n FROM sweeps').get() as { n: number }).n).toBe(0);
    expect(synchronous()).toBe(1);
  });
});

function migrateInChild(
  path: string,
  startAt: number,
): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [
      '--import',
      'tsx',
      'test/support/migrate-child.ts',
      path,
      String(startAt),
    ]);
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('close', (code) => resolve({ code, out: out.trim(), err }));
  });
}

describe('migrate', () => {
  let dir: string;
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('applies migrations once and is a no-op the second time', () => {
    dir = mkdtempSync(join(tmpdir(), 'qm-migrate-'));
    const store = openStore(join(dir, 'db.sqlite'));
    expect(migrate(store).applied).toBeGreaterThan(0);
    expect(migrate(store).applied).toBe(0);
    store.close();
  });

  it('four processes migrating one new database at once all succeed, and it is migrated once', async () => {
    dir = mkdtempSync(join(tmpdir(), 'qm-migrate-'));
    const path = join(dir, 'db.sqlite');
    const startAt = Date.now() + 3_000;
    const results = await Promise.all([1, 2, 3, 4].map(() => migrateInChild(path, startAt)));
    for (const r of results) expect(r.code, r.err).toBe(0);
    // Exactly one process applied the migrations; the others found nothing to do.
    expect(results.map((r) => Number(r.out)).filter((n) => n > 0)).toHaveLength(1);
    const store = openStore(path);
    const rows = store.sqlite.prepare('SELECT count(*) AS n FROM "__drizzle_migrations"').get() as {
      n: number;
    };
    store.close();
    expect(rows.n).toBeGreaterThan(0);
  }, 60_000);
});

describe('a lock held by another process', () => {
  let t: ReturnType<typeof tempStore>;
  let other: Database.Database;
  beforeEach(() => {
    t = tempStore();
    setBusyTimeout(t.store.sqlite, SERVICE_BUSY_TIMEOUT_MS);
    other = new Database(t.path);
  });
  afterEach(() => {
    if (other.inTransaction) other.exec('ROLLBACK');
    other.close();
    t.cleanup();
  });
  const hold = () =>
    other.exec("BEGIN IMMEDIATE; INSERT INTO sweeps (owner, started_at, status) VALUES ('o', 1, 'ok')");
  const insert = () =>
    t.store.sqlite.prepare("INSERT INTO sweeps (owner, started_at, status) VALUES ('me', 1, 'ok')").run();

  it('fails a write within a few milliseconds instead of blocking the event loop', () => {
    hold();
    const started = performance.now();
    let error: unknown;
    try {
      insert();
    } catch (e) {
      error = e;
    }
    expect(isBusy(error)).toBe(true);
    // A hang detector: the command-line timeout would have blocked for 10 s.
    expect(performance.now() - started).toBeLessThan(2_000);
  });

  it('retryWhileBusy waits for it with timers and then writes', async () => {
    hold();
    setTimeout(() => other.exec('ROLLBACK'), 150);
    const result = await retryWhileBusy(insert, { clock: systemClock, budgetMs: 5_000 });
    expect(result.changes).toBe(1);
  });

  it('retryWhileBusy gives up after its budget with the SQLITE_BUSY error, and throws anything else at once', async () => {
    hold();
    const clock = new ManualClock();
    const attempt = retryWhileBusy(insert, { clock, budgetMs: 1_000 });
    const settled = attempt.catch((e: unknown) => e);
    await clock.advance(1_000);
    expect(isBusy(await settled)).toBe(true);
    let calls = 0;
    await expect(
      retryWhileBusy(
        () => {
          calls++;
          throw new Error('disk I/O error');
        },
        { clock, budgetMs: 1_000 },
      ),
    ).rejects.toThrow('disk I/O error');
    expect(calls).toBe(1);
  });

  it('the write probe says locked while the lock is held, ok once it is gone', async () => {
    const probe = createWriteProbe(t.store, { clock: systemClock, budgetMs: 50, cacheMs: 0 });
    expect(await probe()).toEqual({ ok: true });
    hold();
    expect(await probe()).toEqual({ ok: false, reason: 'locked' });
    other.exec('ROLLBACK');
    expect(await probe()).toEqual({ ok: true });
  });
});

describe('the write probe', () => {
  let t: ReturnType<typeof tempStore>;
  beforeEach(() => {
    t = tempStore();
  });
  afterEach(() => t.cleanup());

  it('commits a write: a database that cannot be written is not_writable (and the cause reported)', async () => {
    const problems: unknown[] = [];
    const probe = createWriteProbe(t.store, {
      clock: systemClock,
      cacheMs: 0,
      onProblem: (e) => problems.push(e),
    });
    expect(await probe()).toEqual({ ok: true });
    // Reads still work; only a write shows it (a read-only file system, a full disk, an I/O error).
    t.store.sqlite.pragma('query_only = ON');
    expect(await probe()).toEqual({ ok: false, reason: 'not_writable' });
    expect(problems).toHaveLength(1);
    t.store.sqlite.pragma('query_only = OFF');
    expect(await probe()).toEqual({ ok: true });
  });

  it("is disk_full while the database's file system has less than MIN_FREE_BYTES free", async () => {
    let free = 10 * MIN_FREE_BYTES;
    const probe = createWriteProbe(t.store, { clock: systemClock, cacheMs: 0, freeBytes: async () => free });
    expect(await probe()).toEqual({ ok: true });
    free = MIN_FREE_BYTES - 1;
    expect(await probe()).toEqual({ ok: false, reason: 'disk_full' });
    free = MIN_FREE_BYTES;
    expect(await probe()).toEqual({ ok: true });
  });

  it("reads the real free space of the database's file system", async () => {
    expect(await freeBytesAt(t.path)).toBeGreaterThan(0);
  });

  it('reuses its answer for cacheMs, and runs one probe for callers that ask together', async () => {
    const clock = new ManualClock();
    const probe = createWriteProbe(t.store, { clock, cacheMs: 1_000 });
    // The probe writes the clock's time: which probe wrote last shows in checked_at.
    const checkedAt = () =>
      (t.store.sqlite.prepare('SELECT checked_at AS at FROM store_probe').get() as { at: number }).at;
    const together = await Promise.all([probe(), probe(), probe()]);
    expect(together).toEqual([{ ok: true }, { ok: true }, { ok: true }]);
    expect(checkedAt()).toBe(clock.now());
    await clock.advance(500);
    await probe();
    expect(checkedAt()).toBe(clock.now() - 500);
    await clock.advance(600);
    await probe();
    expect(checkedAt()).toBe(clock.now());
  });
});

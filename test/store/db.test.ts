import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { migrate, openStore } from '../../src/store/db.js';
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

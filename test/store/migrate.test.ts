import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { migrate, openStore } from '../../src/store/db.js';

let dir: string;
afterEach(() => rmSync(dir, { recursive: true, force: true }));

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

import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { JobStore } from '../../src/store/jobs.js';
import { tempStore } from '../support/db.js';
import { runQm } from '../support/process.js';

let t: ReturnType<typeof tempStore>;
beforeEach(() => {
  t = tempStore();
});
afterEach(() => t.cleanup());

function backup(args: string[], env: Record<string, string> = {}) {
  return runQm(['backup', ...args], { env: { DATABASE_PATH: t.path, ...env } });
}

function addJobs(n: number) {
  const jobs = new JobStore(t.store, 'form-1');
  jobs.transaction(() => {
    for (let i = 0; i < n; i++) jobs.onSwept({ conversationId: `c-${i}`, agentId: 'a' }, Date.now());
  });
}

it('writes a checked, self-contained copy while the database is open, and says what it wrote', () => {
  addJobs(25);
  // The source stays open with its commits in the WAL, as with the service running.
  expect(existsSync(`${t.path}-wal`)).toBe(true);
  const file = join(t.dir, 'copy.sqlite');
  const run = backup([file]);
  expect(run.status, run.stderr).toBe(0);
  expect(run.stdout).toMatch(
    new RegExp(
      `^backup of .* written to ${file}: [\\d.]+ MiB, 25 job\\(s\\), 0 webhook delivery\\(ies\\), \\d+ migration\\(s\\), integrity ok, in [\\d.]+ s\\n$`,
    ),
  );
  // One file, nothing to carry beside it, and nothing left behind in the folder.
  expect(readdirSync(t.dir).filter((f) => f.startsWith('copy') || f.includes('partial'))).toEqual([
    'copy.sqlite',
  ]);
  const copy = new Database(file, { readonly: true });
  expect(copy.pragma('journal_mode', { simple: true })).toBe('delete');
  expect(copy.prepare('SELECT count(*) FROM jobs').pluck().get()).toBe(25);
  copy.close();
});

it('refuses to replace an existing file unless told to, and never touches it when refusing', () => {
  addJobs(3);
  const file = join(t.dir, 'existing.sqlite');
  writeFileSync(file, 'precious');
  const refused = backup([file]);
  expect(refused.status).toBe(2);
  expect(refused.stderr.trim()).toBe(`${file}: already exists; pass --overwrite to replace it`);
  expect(readFileSync(file, 'utf8')).toBe('precious');
  const replaced = backup([file, '--overwrite']);
  expect(replaced.status, replaced.stderr).toBe(0);
  const copy = new Database(file, { readonly: true });
  expect(copy.prepare('SELECT count(*) FROM jobs').pluck().get()).toBe(3);
  copy.close();
});

it('never creates a database at a wrong DATABASE_PATH, and refuses a file that is not the service’s', () => {
  const missing = join(t.dir, 'nope', 'qm.sqlite');
  const file = join(t.dir, 'copy.sqlite');
  const run = backup([file], { DATABASE_PATH: missing });
  expect(run.status).toBe(2);
  expect(run.stderr).toMatch(/^DATABASE_PATH: cannot open .*no such file/);
  expect(existsSync(join(t.dir, 'nope'))).toBe(false);
  expect(existsSync(file)).toBe(false);

  const notOurs = join(t.dir, 'other.sqlite');
  new Database(notOurs).exec('CREATE TABLE x (a)');
  const foreign = backup([file], { DATABASE_PATH: notOurs });
  expect(foreign.status).toBe(2);
  expect(foreign.stderr).toMatch(/not a database of this service/);
  expect(existsSync(file)).toBe(false);
});

it('backs up a database an older version made (back up before upgrading), and refuses the database itself as FILE', () => {
  addJobs(2);
  // What an older version leaves: its last migration is not this version's last.
  t.store.sqlite.exec(
    'DELETE FROM "__drizzle_migrations" WHERE created_at = (SELECT max(created_at) FROM "__drizzle_migrations")',
  );
  const file = join(t.dir, 'before-upgrade.sqlite');
  const run = backup([file]);
  expect(run.status, run.stderr).toBe(0);
  expect(run.stdout).toMatch(/2 job\(s\)/);
  const self = backup([t.path, '--overwrite']);
  expect(self.status).toBe(2);
  expect(self.stderr).toMatch(/that is the database itself/);
});

it('usage: one FILE is required', () => {
  for (const args of [[], ['a.sqlite', 'b.sqlite'], ['a.sqlite', '--force']]) {
    const run = backup(args);
    expect(run.status, args.join(' ')).toBe(2);
    expect(run.stderr).toMatch(/usage: qm backup FILE \[--overwrite\]/);
    expect(existsSync('a.sqlite')).toBe(false);
  }
});

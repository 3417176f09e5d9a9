import { copyFileSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { ManualClock, systemClock } from '../../src/clock.js';
import { TUTORIAL_BUDGET_SCOPE } from '../../src/cxone/types.js';
import { MIGRATIONS_FOLDER, migrate, openStore, SERVICE_BUSY_TIMEOUT_MS } from '../../src/store/db.js';
import { createSharedBudget } from '../../src/store/shared-budget.js';
import { tempStore } from '../support/db.js';

let t: ReturnType<typeof tempStore>;
beforeEach(() => {
  t = tempStore();
});
afterEach(() => t.cleanup());

/** Settles pending promise callbacks so "has it resolved yet?" can be asked. */
const settle = () => new Promise((r) => setImmediate(r));

it('two processes on one database share one budget over a sliding minute', async () => {
  const clock = new ManualClock(1_000_000);
  // Two budgets on one file stand for `npm start` and `npm run sweep`.
  const a = createSharedBudget({ path: t.path, maxPerMinute: 4, clock });
  const b = createSharedBudget({ path: t.path, maxPerMinute: 4, clock });
  const grants: { who: string; at: number }[] = [];
  const take = (who: string, budget: typeof a) =>
    budget.acquire().then(() => grants.push({ who, at: clock.now() }));

  await Promise.all([take('a', a), take('b', b)]);
  await clock.advance(30_000);
  await Promise.all([take('a', a), take('b', b)]);
  const late = [take('a', a), take('b', b)];
  await settle();
  expect(grants).toHaveLength(4); // the budget is spent for this minute, across both processes

  // The first two grants leave the window at 60 s after them, not at a fixed minute boundary.
  await clock.advance(29_000);
  await settle();
  expect(grants).toHaveLength(4);
  await clock.advance(2_000);
  await Promise.all(late);
  expect(grants).toHaveLength(6);

  // No sliding minute holds more than 4 grants.
  for (const g of grants)
    expect(grants.filter((h) => h.at >= g.at && h.at < g.at + 60_000).length).toBeLessThanOrEqual(4);
  a.close();
  b.close();
});

it('a 429 pause set by one process holds the other', async () => {
  const clock = new ManualClock(1_000_000);
  const a = createSharedBudget({ path: t.path, maxPerMinute: 100, clock });
  const b = createSharedBudget({ path: t.path, maxPerMinute: 100, clock });
  a.pauseUntil(clock.now() + 10_000);
  let granted = false;
  const waiting = b.acquire().then(() => (granted = true));
  await clock.advance(9_000);
  await settle();
  expect(granted).toBe(false);
  await clock.advance(1_500);
  await waiting;
  expect(granted).toBe(true);
  a.close();
  b.close();
});

it('an aborted wait gives up without blocking the waiters behind it', async () => {
  const clock = new ManualClock(1_000_000);
  const a = createSharedBudget({ path: t.path, maxPerMinute: 1, clock });
  await a.acquire();
  const abort = new AbortController();
  const first = a.acquire(abort.signal);
  const second = a.acquire();
  abort.abort(new Error('gave up'));
  await expect(first).rejects.toThrow('gave up');
  await clock.advance(61_000);
  await second;
  a.close();
});

it('never grants more than the budget in any sliding minute, whatever the timing', async () => {
  const clock = new ManualClock(1_000_123);
  const a = createSharedBudget({ path: t.path, maxPerMinute: 5, clock });
  const b = createSharedBudget({ path: t.path, maxPerMinute: 5, clock });
  const grants: number[] = [];
  let seed = 7;
  const random = () => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed / 2 ** 31;
  };
  const waiters = Array.from({ length: 24 }, (_, i) =>
    (i % 2 ? a : b).acquire().then(() => grants.push(clock.now())),
  );
  while (grants.length < waiters.length) {
    await clock.advance(Math.floor(random() * 3_000));
    await settle();
  }
  grants.sort((x, y) => x - y);
  for (const g of grants)
    expect(grants.filter((h) => h > g - 60_000 && h <= g).length).toBeLessThanOrEqual(5);
  // And the budget is really used: 24 grants at 5 a minute need a bit over 4 minutes, not much more.
  expect(grants.at(-1)! - grants[0]!).toBeLessThan(5 * 60_000);
  a.close();
  b.close();
});

it('a 429 pause holds its own scope in every process, and no other scope', async () => {
  const clock = new ManualClock(1_000_000);
  const a = createSharedBudget({ path: t.path, maxPerMinute: 100, clock });
  const b = createSharedBudget({ path: t.path, maxPerMinute: 100, clock });
  a.pauseUntil(clock.now() + 10_000, 'reporting');
  const granted: string[] = [];
  const reporting = b.acquire(undefined, 'reporting').then(() => granted.push('reporting'));
  await b.acquire(undefined, 'media');
  granted.push('media');
  await a.acquire();
  granted.push('default');
  await settle();
  expect(granted).toEqual(['media', 'default']);
  await clock.advance(10_500);
  await reporting;
  expect(granted).toEqual(['media', 'default', 'reporting']);
  a.close();
  b.close();
});

it('a pause persisted before pauses had scopes becomes the tutorial scope’s on upgrade', async () => {
  // The database as the migrations before scopes left it, with a pause in its one row.
  const before = join(t.dir, 'migrations-before-scopes');
  mkdirSync(join(before, 'meta'), { recursive: true });
  const journal = JSON.parse(readFileSync(join(MIGRATIONS_FOLDER, 'meta/_journal.json'), 'utf8'));
  // The first migration that gives budget_state its scope column, whatever it is named.
  const upTo = journal.entries.findIndex((e: { tag: string }) =>
    readFileSync(join(MIGRATIONS_FOLDER, `${e.tag}.sql`), 'utf8').includes('`budget_state` ADD `scope`'),
  );
  expect(upTo).toBeGreaterThan(0);
  journal.entries = journal.entries.slice(0, upTo);
  writeFileSync(join(before, 'meta/_journal.json'), JSON.stringify(journal));
  for (const file of readdirSync(MIGRATIONS_FOLDER).filter((f) => f.endsWith('.sql')))
    copyFileSync(join(MIGRATIONS_FOLDER, file), join(before, file));
  const path = join(t.dir, 'old.sqlite');
  const old = openStore(path);
  migrate(old, before);
  const clock = new ManualClock(1_000_000);
  old.sqlite.prepare('INSERT INTO budget_state (id, paused_until) VALUES (1, ?)').run(clock.now() + 10_000);
  migrate(old);
  old.close();

  const budget = createSharedBudget({ path, maxPerMinute: 100, clock });
  await budget.acquire(undefined, 'elsewhere');
  let granted = false;
  const waiting = budget.acquire(undefined, TUTORIAL_BUDGET_SCOPE).then(() => (granted = true));
  await clock.advance(9_000);
  await settle();
  expect(granted).toBe(false);
  await clock.advance(1_500);
  await waiting;
  budget.close();
});

it('while another process holds the database, a call waits with timers (the loop runs) and a 429 pause still holds', async () => {
  const budget = createSharedBudget({
    path: t.path,
    maxPerMinute: 100,
    clock: systemClock,
    busyTimeoutMs: SERVICE_BUSY_TIMEOUT_MS,
  });
  const other = new Database(t.path);
  other.exec("BEGIN IMMEDIATE; INSERT INTO sweeps (owner, started_at, status) VALUES ('o', 1, 'ok')");
  let ticks = 0;
  const ticker = setInterval(() => ticks++, 10);
  let granted = false;
  const waiting = budget.acquire().then(() => (granted = true));
  // A 429 answered meanwhile cannot be written yet; it holds this process's calls all the same.
  budget.pauseUntil(Date.now() + 400);
  await new Promise((r) => setTimeout(r, 250));
  expect(granted).toBe(false);
  expect(ticks).toBeGreaterThanOrEqual(8);
  other.exec('ROLLBACK');
  await new Promise((r) => setTimeout(r, 50));
  expect(granted).toBe(false); // the pause, not the lock, holds it now
  await waiting;
  clearInterval(ticker);
  // And the pause reached the table for the other processes.
  const until = (other.prepare('SELECT max(paused_until) AS u FROM budget_state').get() as { u: number }).u;
  expect(until).toBeGreaterThan(Date.now() - 1_000);
  other.close();
});

it('a persisted pause longer than maxPauseMs (a Retry-After of a year) is honoured only that long', async () => {
  const clock = new ManualClock(1_000_000);
  // Written by a process that honoured any Retry-After (an older version): a year.
  const old = createSharedBudget({ path: t.path, maxPerMinute: 100, clock });
  old.pauseUntil(clock.now() + 365 * 24 * 3_600_000, 'tutorial');
  old.close();

  // After a restart with the cap: the pause reads as at most five minutes, and is waited out.
  const budget = createSharedBudget({ path: t.path, maxPerMinute: 100, clock, maxPauseMs: 300_000 });
  expect(budget.pausedUntil('tutorial')).toBe(clock.now() + 300_000);
  let granted = false;
  const waiting = budget.acquire(undefined, 'tutorial').then(() => (granted = true));
  await settle();
  await clock.advance(299_000);
  await settle();
  expect(granted).toBe(false);
  await clock.advance(2_000);
  await waiting;
  expect(granted).toBe(true);
  // The row now says what was honoured, for `npm run status`.
  const row = t.store.sqlite
    .prepare("SELECT paused_until AS until FROM budget_state WHERE scope = 'tutorial'")
    .get() as {
    until: number;
  };
  expect(row.until).toBeLessThanOrEqual(1_000_000 + 300_000);
  budget.close();
});

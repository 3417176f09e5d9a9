import { chmodSync, existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { JobStore } from '../../src/store/jobs.js';
import { createSignatureFailureWriter } from '../../src/store/signature-failures.js';
import { SweepStore } from '../../src/store/sweeps.js';
import { tempStore } from '../support/db.js';
import { runQm } from '../support/process.js';

let t: ReturnType<typeof tempStore>;
beforeEach(() => {
  t = tempStore();
});
afterEach(() => t.cleanup());

function status(args: string[] = [], env: Record<string, string> = {}) {
  return runQm(['status', ...args], { env: { DATABASE_PATH: t.path, ...env } });
}

it('shows jobs by state, failures with their reasons, waiting work and the last sweeps', () => {
  const jobs = new JobStore(t.store, 'form-1');
  const now = Date.now();
  jobs.transaction(() => {
    jobs.onSwept({ conversationId: 'c-ok', agentId: 'a' }, now);
    jobs.onSwept({ conversationId: 'c-bad', agentId: 'a' }, now);
    jobs.onConversationEnded({ conversationId: 'c-wait', agentId: 'a' }, now, 60_000);
  });
  const [first, second] = jobs.claim('w', 2, now, 10_000);
  const result = {
    delivery: { target: 'cxone-qm' as const, id: 'e1' },
    overallScore: 100,
    rubric: { name: 'r', version: '1', hash: 'h' },
  };
  jobs.submitted('w', first!.conversationId, result, now);
  jobs.fail(
    'w',
    second!.conversationId,
    { code: 'rejected', reason: 'submitEvaluation: HTTP 422: item-x unknown' },
    now,
  );
  const sweeps = new SweepStore(t.store.db);
  sweeps.finish(sweeps.begin('s', now), now, { ok: true, pages: 2, seen: 7, created: 3 });

  const run = status();
  expect(run.status, run.stderr).toBe(0);
  expect(run.stdout).toMatch(/form-1\s+failed\s+1/);
  expect(run.stdout).toMatch(/form-1\s+submitted\s+1/);
  expect(run.stdout).toMatch(/waiting_transcript\s+1/);
  // The failed run counts as an attempt: a rejection does not show "0 attempts".
  expect(run.stdout).toMatch(/c-bad .*\b1 attempts?\b.*submitEvaluation: HTTP 422: item-x unknown/);
  expect(run.stdout).toMatch(/ok\s+2 page\(s\), 7 seen, 3 new/);

  const json = JSON.parse(status(['--json']).stdout);
  expect(json.counts).toContainEqual({ form_id: 'form-1', state: 'failed', n: 1 });
  expect(json.failed[0].reason).toContain('422');
});

it('says when webhooks are being refused for their signature, and which conversations CXone had already evaluated', () => {
  const now = Date.now();
  const minute = Math.floor(now / 60_000);
  t.store.sqlite
    .prepare(
      `INSERT INTO webhook_events (webhook_id, event_id, type, conversation_id, occurred_at, received_at, payload)
       VALUES ('msg-1', 'evt-1', 'conversation.ended', 'c', '2026-01-01T00:00:00Z', ?, '{}')`,
    )
    .run(now - 3 * 3_600_000);
  createSignatureFailureWriter(t.store)([
    { minute: minute - 30, reason: 'no_match', failures: 40, lastAt: now - 30 * 60_000 },
    { minute: minute - 1, reason: 'no_match', failures: 2, lastAt: now - 60_000 },
    { minute: minute - 600, reason: 'stale', failures: 1, lastAt: now - 600 * 60_000 },
  ]);
  const jobs = new JobStore(t.store, 'form-1');
  jobs.transaction(() => jobs.onSwept({ conversationId: 'c-again', agentId: 'a' }, now));
  jobs.claim('w', 1, now, 10_000);
  const reason =
    'already evaluated: CXone kept its earlier evaluation ev-0 (it holds 40, this run scored 90)';
  jobs.submitted(
    'w',
    'c-again',
    {
      delivery: { target: 'cxone-qm', id: 'ev-0' },
      overallScore: 90,
      rubric: { name: 'r', version: '2', hash: 'h' },
      note: { code: 'already_evaluated', reason },
    },
    now,
  );

  const run = status();
  expect(run.status, run.stderr).toBe(0);
  const lines = run.stdout.split('\n');
  // At the top, because no delivery got through since: the webhooks are not arriving at all.
  expect(lines[2]).toMatch(
    /^webhooks are being refused for their signature \(42 in the last hour, no_match; last delivery recorded .*\): check WEBHOOK_SECRET/,
  );
  expect(run.stdout).toMatch(
    /webhooks refused for their signature: 42 in the last hour, 43 in the last day \(no_match 42, stale 1\); last /,
  );
  expect(run.stdout).toMatch(/already evaluated: 1 conversation\(s\) .* npm run rescore/);
  expect(run.stdout).toContain(`c-again  ${reason}`);

  const json = JSON.parse(status(['--json']).stdout);
  expect(json.signature_failures).toMatchObject({ last_hour: 42, last_day: 43, last_reason: 'no_match' });
  expect(json.already_evaluated).toMatchObject({ n: 1, latest: [{ conversation_id: 'c-again', reason }] });
});

it('a quiet database says no webhook was refused and nothing was already evaluated', () => {
  const run = status();
  expect(run.status, run.stderr).toBe(0);
  expect(run.stdout).toMatch(/webhooks refused for their signature: 0 in the last hour, 0 in the last day\n/);
  expect(run.stdout).not.toMatch(/being refused|already evaluated/);
});

it('a database that does not exist is one line naming the setting, exit 2', () => {
  const run = status([], { DATABASE_PATH: `${t.dir}/nope/qm.sqlite` });
  expect(run.status).toBe(2);
  expect(run.stderr.trim().split('\n')).toHaveLength(1);
  expect(run.stderr).toMatch(/^DATABASE_PATH: cannot open/);
});

describe('never creates a database, never prints a stack trace', () => {
  const oneLine = (run: ReturnType<typeof status>) => {
    expect(run.status).toBe(2);
    expect(run.stdout).toBe('');
    const lines = run.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^DATABASE_PATH: cannot open '/);
    return lines[0]!;
  };

  it('a path that does not exist: no file, no directory made', () => {
    const missing = join(t.dir, 'nope', 'qm.sqlite');
    expect(oneLine(status([], { DATABASE_PATH: missing }))).toContain('no such file');
    expect(existsSync(join(t.dir, 'nope'))).toBe(false);
  });

  it('a file that is not a database is left as it was', () => {
    const text = join(t.dir, 'notes.txt');
    writeFileSync(text, 'hello, not SQLite\n');
    expect(oneLine(status([], { DATABASE_PATH: text }))).toContain('not a SQLite database');
    expect(readFileSync(text, 'utf8')).toBe('hello, not SQLite\n');
  });

  it('a directory', () => {
    expect(oneLine(status([], { DATABASE_PATH: t.dir }))).toContain('not a file');
  });

  it('an empty file, or a database of something else, gets no tables', () => {
    const empty = join(t.dir, 'empty.sqlite');
    writeFileSync(empty, '');
    expect(oneLine(status([], { DATABASE_PATH: empty }))).toContain('not a database of this service');
    expect(statSync(empty).size).toBe(0);
    const other = join(t.dir, 'other.sqlite');
    const db = new Database(other);
    db.exec('CREATE TABLE things (x)');
    db.close();
    expect(oneLine(status([], { DATABASE_PATH: other }))).toContain('not a database of this service');
  });

  it('a database of an older version that has not been migrated yet', () => {
    t.store.sqlite.exec(
      'DELETE FROM "__drizzle_migrations" WHERE created_at = (SELECT max(created_at) FROM "__drizzle_migrations")',
    );
    expect(oneLine(status())).toMatch(/older version .* start the service once/);
  });

  it.skipIf(process.getuid?.() === 0)('a database it may not read', () => {
    chmodSync(t.path, 0o000);
    expect(oneLine(status())).toContain('not readable (EACCES)');
  });
});

it('shows attempts only when the store counted some, and a 429 pause still in force', () => {
  const jobs = new JobStore(t.store, 'form-1');
  const now = Date.now();
  jobs.transaction(() => jobs.onSwept({ conversationId: 'c-first-answer', agentId: 'a' }, now));
  jobs.claim('w', 1, now, 10_000);
  // A transcript that never came counts checks, not attempts: nothing to show about attempts.
  jobs.transcriptTimedOut(
    'w',
    'c-first-answer',
    { reason: 'transcript not ready after 24 h (3 checks)' },
    now,
  );
  const pausedUntil = now + 10 * 60_000;
  t.store.sqlite
    .prepare("INSERT INTO budget_state (scope, paused_until) VALUES ('tutorial', ?)")
    .run(pausedUntil);

  const run = status();
  expect(run.status, run.stderr).toBe(0);
  const line = run.stdout.split('\n').find((l) => l.includes('c-first-answer'))!;
  expect(line).toContain('transcript not ready after 24 h (3 checks)');
  expect(line).not.toMatch(/attempt/);
  expect(run.stdout).toContain(
    `paused by CXone until ${new Date(pausedUntil).toISOString().replace('T', ' ').slice(0, 19)} (429): no call to the tutorial API`,
  );
  expect(JSON.parse(status(['--json']).stdout).pauses).toEqual([{ scope: 'tutorial', until: pausedUntil }]);
});

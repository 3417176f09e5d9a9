import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { JobStore } from '../../src/store/jobs.js';
import { tempStore } from '../support/db.js';
import { runQm } from '../support/process.js';

let t: ReturnType<typeof tempStore>;
beforeEach(() => {
  t = tempStore();
});
afterEach(() => t.cleanup());

const requeue = (args: string[], env: Record<string, string> = {}) =>
  runQm(['requeue', ...args], { env: { DATABASE_PATH: t.path, QM_FORM_ID: 'form-1', ...env } });

it("npm run requeue -- --failed puts the form's failed conversations back in the queue", () => {
  const jobs = new JobStore(t.store, 'form-1');
  const now = Date.now();
  jobs.transaction(() => jobs.onSwept({ conversationId: 'c1', agentId: 'a' }, now));
  jobs.claim('w', 1, now, 10_000);
  jobs.fail('w', 'c1', { code: 'rejected', reason: 'submitEvaluation: HTTP 422' }, now);

  const run = requeue(['--failed']);
  expect(run.status, run.stderr).toBe(0);
  expect(run.stdout.trim()).toBe('requeued 1 conversation(s) for form form-1');
  expect(jobs.get('c1')!.state).toBe('due');
});

it('without arguments it prints its usage and exits 2', () => {
  const run = requeue([]);
  expect(run.status).toBe(2);
  expect(run.stderr).toMatch(/usage: qm requeue --failed \| CONVERSATION_ID/);
});

it('a wrong DATABASE_PATH creates nothing: one line, exit 2', () => {
  const missing = join(t.dir, 'typo', 'qm.sqlite');
  const run = requeue(['--failed'], { DATABASE_PATH: missing });
  expect(run.status).toBe(2);
  expect(run.stdout).toBe('');
  expect(run.stderr.trim().split('\n')).toEqual([
    `DATABASE_PATH: cannot open '${missing}': no such file (the service creates it when it first starts)`,
  ]);
  expect(existsSync(join(t.dir, 'typo'))).toBe(false);
});

it('by id, it says for each id what it did or why not, and exits 1 when some could not be requeued', () => {
  const jobs = new JobStore(t.store, 'form-1');
  const now = Date.now();
  jobs.transaction(() => {
    for (const id of ['c-failed', 'c-submitted', 'c-running', 'c-due'])
      jobs.onSwept({ conversationId: id, agentId: 'a' }, now);
    jobs.onSwept({ conversationId: 'c-no-agent' }, now);
  });
  const otherForm = new JobStore(t.store, 'form-2');
  otherForm.transaction(() => otherForm.onSwept({ conversationId: 'c-other-form', agentId: 'a' }, now));
  jobs.claim('w', 3, now, 60_000);
  jobs.fail('w', 'c-failed', { code: 'rejected', reason: 'submitEvaluation: HTTP 422' }, now);
  jobs.submitted(
    'w',
    'c-submitted',
    {
      delivery: { target: 'cxone-qm' as const, id: 'ev-1' },
      overallScore: 100,
      rubric: { name: 'r', version: '1', hash: 'h' },
    },
    now,
  );

  const ids = ['c-failed', 'c-submitted', 'c-running', 'c-due', 'c-no-agent', 'c-other-form', 'c-unknown'];
  const run = requeue(ids);
  expect(run.status, run.stderr).toBe(1);
  const lines = run.stdout.trim().split('\n');
  expect(lines).toHaveLength(ids.length + 1);
  const about = (id: string) => lines.find((l) => l.startsWith(`${id}: `))!;
  expect(about('c-failed')).toBe('c-failed: requeued');
  expect(about('c-submitted')).toMatch(/not requeued: already submitted \(evaluation ev-1\)/);
  expect(about('c-running')).toMatch(/not requeued: being worked on right now \(by w\)/);
  expect(about('c-due')).toMatch(/not requeued: already in the queue \(due\)/);
  expect(about('c-no-agent')).toMatch(/not requeued: skipped: .*agent/);
  expect(about('c-other-form')).toMatch(
    /not requeued: no such conversation for form form-1 \(known for form form-2\)/,
  );
  expect(about('c-unknown')).toBe('c-unknown: not requeued: no such conversation for form form-1');
  expect(lines.at(-1)).toBe(`requeued 1 of ${ids.length} conversation(s) for form form-1`);
  expect(jobs.get('c-failed')!.state).toBe('due');
  expect(jobs.get('c-submitted')!.state).toBe('submitted');
});

it('by id, exit 0 when every id is requeued or already on its way', () => {
  const jobs = new JobStore(t.store, 'form-1');
  const now = Date.now();
  jobs.transaction(() => {
    jobs.onSwept({ conversationId: 'c1', agentId: 'a' }, now);
    jobs.onSwept({ conversationId: 'c2', agentId: 'a' }, now);
  });
  jobs.claim('w', 1, now, 10_000);
  jobs.fail('w', 'c1', { code: 'rejected', reason: 'x' }, now);
  const run = requeue(['c1', 'c2']);
  expect(run.status, run.stderr).toBe(0);
  expect(run.stdout).toContain('requeued 1 of 2 conversation(s) for form form-1');
});

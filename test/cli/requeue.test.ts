import { spawnSync } from 'node:child_process';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { JobStore } from '../../src/store/jobs.js';
import { tempStore } from '../support/db.js';

let t: ReturnType<typeof tempStore>;
beforeEach(() => {
  t = tempStore();
});
afterEach(() => t.cleanup());

const requeue = (args: string[]) =>
  spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/requeue.ts', ...args], {
    encoding: 'utf8',
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      DATABASE_PATH: t.path,
      QM_FORM_ID: 'form-1',
    },
  });

it("npm run requeue -- --failed puts the form's failed conversations back in the queue", () => {
  const jobs = new JobStore(t.store, 'form-1');
  const now = Date.now();
  jobs.transaction(() => jobs.onSwept({ conversationId: 'c1', agentId: 'a' }, now));
  jobs.claim('w', 1, now, 10_000);
  jobs.finish('w', 'c1', { state: 'failed', reason: 'submitEvaluation: HTTP 422' }, now);

  const run = requeue(['--failed']);
  expect(run.status, run.stderr).toBe(0);
  expect(run.stdout.trim()).toBe('requeued 1 conversation(s) for form form-1');
  expect(jobs.get('c1')!.state).toBe('due');
});

it('without arguments it prints its usage and exits 2', () => {
  const run = requeue([]);
  expect(run.status).toBe(2);
  expect(run.stderr).toMatch(/^usage: npm run requeue/);
});

import { spawnSync } from 'node:child_process';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { JobStore } from '../../src/store/jobs.js';
import { SweepStore } from '../../src/store/sweeps.js';
import { tempStore } from '../support/db.js';

let t: ReturnType<typeof tempStore>;
beforeEach(() => {
  t = tempStore();
});
afterEach(() => t.cleanup());

function status(args: string[] = [], env: Record<string, string> = {}) {
  return spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/status.ts', ...args], {
    encoding: 'utf8',
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', DATABASE_PATH: t.path, ...env },
  });
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
  jobs.finish('w', first!.conversationId, { state: 'submitted', evaluationId: 'e1' }, now);
  jobs.finish(
    'w',
    second!.conversationId,
    { state: 'failed', reason: 'submitEvaluation: HTTP 422: item-x unknown' },
    now,
  );
  const sweeps = new SweepStore(t.store.db);
  sweeps.finish(sweeps.begin('s', now), now, { ok: true, pages: 2, seen: 7, created: 3 });

  const run = status();
  expect(run.status, run.stderr).toBe(0);
  expect(run.stdout).toMatch(/form-1\s+failed\s+1/);
  expect(run.stdout).toMatch(/form-1\s+submitted\s+1/);
  expect(run.stdout).toMatch(/waiting_transcript\s+1/);
  expect(run.stdout).toContain('HTTP 422: item-x unknown');
  expect(run.stdout).toMatch(/ok\s+2 page\(s\), 7 seen, 3 new/);

  const json = JSON.parse(status(['--json']).stdout);
  expect(json.counts).toContainEqual({ form_id: 'form-1', state: 'failed', n: 1 });
  expect(json.failed[0].reason).toContain('422');
});

it('a database that does not exist is one line naming the setting, exit 2', () => {
  const run = status([], { DATABASE_PATH: `${t.dir}/nope/qm.sqlite` });
  expect(run.status).toBe(2);
  expect(run.stderr.trim().split('\n')).toHaveLength(1);
  expect(run.stderr).toMatch(/^DATABASE_PATH: cannot open/);
});

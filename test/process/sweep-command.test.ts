/**
 * `npm run sweep` as a process: exit 2 when its database cannot be opened, 3 when CXone cannot be
 * reached (within SWEEP_CONNECT_TIMEOUT_SECONDS), 4 when it refuses the credentials (one clear stderr
 * line each besides the JSON log), exit 0 with a summary whose counts match what happened when some
 * transcripts are still being made, and a prompt stop on SIGINT.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { migrate, openStore } from '../../src/store/db.js';
import { addPlatformContacts, platformProcessFixture } from '../support/platform-process.js';
import {
  addConversations,
  exitWithin,
  freePort,
  jobStates,
  plainLines,
  spawnSweep,
  TRANSCRIPT_MARKER,
  useProcessFixture,
} from '../support/process.js';
import { waitFor } from '../support/wait.js';

const fx = useProcessFixture();

/** A sweep refused by a pause CXone asked for: exit 3, one line saying until when, no call sent. */
async function expectPausedExit(child: ReturnType<typeof spawnSweep>, calls: () => number): Promise<void> {
  const exit = await exitWithin(child, 15_000);
  expect(exit?.code, child.stderr).toBe(3);
  const lines = plainLines(child.stderr);
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(/paused by CXone until \d{4}-\d\d-\d\dT/);
  expect(lines[0]).not.toMatch(/no answer/);
  // Read after the exit: the simulator's call log is a copy taken when asked.
  expect(calls()).toBe(0);
}

describe('npm run sweep', () => {
  it('CXone unreachable: exit 3 after SWEEP_CONNECT_TIMEOUT_SECONDS, one clear line', async () => {
    const closed = await freePort();
    const started = Date.now();
    const child = spawnSweep(
      await fx.settings({ CXONE_BASE_URL: `http://127.0.0.1:${closed}`, SWEEP_CONNECT_TIMEOUT_SECONDS: '2' }),
    );
    const exit = await exitWithin(child, 15_000);
    const tookMs = Date.now() - started;
    expect(exit?.code, child.stderr).toBe(3);
    expect(tookMs).toBeLessThan(10_000);
    const lines = plainLines(child.stderr);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/CXone/);
    expect(child.stderr).not.toMatch(/^\s+at /m);
    expect(child.stdout).toBe('');
  });

  it('wrong client secret: exit 4, one clear line', async () => {
    const child = spawnSweep(await fx.settings({ CXONE_CLIENT_SECRET: 'wrong-secret-value' }));
    const exit = await exitWithin(child, 15_000);
    expect(exit?.code, child.stderr).toBe(4);
    const lines = plainLines(child.stderr);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/credentials/);
    expect(child.stderr).not.toContain('wrong-secret-value');
    expect(child.stderr).not.toMatch(/^\s+at /m);
    expect(fx.sim.evaluations).toHaveLength(0);
  });

  it('on a new database, conversations CXone already evaluated are counted as such, not as plain submissions', async () => {
    addConversations(fx.sim, 3, 'conv');
    const first = spawnSweep(await fx.settings());
    expect((await exitWithin(first, 15_000))?.code, first.stderr).toBe(0);
    expect(first.stdout).toMatch(/^this run: 3 submitted, 0 skipped, 0 failed$/m);
    // The operator points the service at a new database (or loses the old one): same conversations.
    const second = spawnSweep(await fx.settings({ DATABASE_PATH: join(fx.dir, 'new.sqlite') }));
    expect((await exitWithin(second, 15_000))?.code, second.stderr).toBe(0);
    expect(second.stdout).toMatch(
      /^this run: 3 submitted \(3 already evaluated in CXone: it kept its earlier evaluation\), 0 skipped, 0 failed$/m,
    );
    expect(second.stderr).toMatch(/"reasonCode":"already_evaluated"/);
    expect(fx.sim.evaluations).toHaveLength(3);
  });

  it('some transcripts still 404: exit 0, summary counts evaluated, skipped and still waiting', async () => {
    const ready = addConversations(fx.sim, 6, 'ready');
    // Transcription still running for an hour: CXone answers 404.
    const later = addConversations(fx.sim, 3, 'later', { readyAt: () => Date.now() + 3_600_000 });
    // No agent: cannot be evaluated, skipped.
    fx.sim.addConversation({
      id: 'noagent-000',
      agentId: null,
      type: 'chat',
      startTime: Date.now() - 120_000,
      endTime: Date.now() - 90_000,
      transcript: [{ speaker: 'AGENT', text: 'hello', timestamp: '' }],
    });
    // A transcript retry further off than the sweep waits for (60 s): left for later at once.
    const child = spawnSweep(await fx.settings({ TRANSCRIPT_RETRY_SECONDS: '120' }));
    const exit = await exitWithin(child, 15_000);
    expect(exit?.code, child.stderr).toBe(0);
    const summary = child.stdout.trim().split('\n');
    expect(summary).toHaveLength(3);
    expect(summary[0]).toBe('sweep: 10 completed conversation(s) in the window, 10 new, 1 page(s)');
    // The conversation without an agent is skipped by the sweep itself when it records it.
    expect(summary[1]).toBe('this run: 6 submitted, 1 skipped, 0 failed');
    expect(summary[2]).toBe('of the conversations found: 6 evaluated, 1 skipped, 0 failed, 3 still waiting');
    for (const id of ready) expect(fx.sim.evaluationsFor(id), id).toHaveLength(1);
    for (const id of later) expect(fx.sim.evaluationsFor(id), id).toHaveLength(0);
    expect(fx.sim.evaluations).toHaveLength(6);

    const states = jobStates(fx.openDb());
    for (const id of later) expect(states.get(id)?.state, id).toBe('waiting_transcript');
    expect(states.get('noagent-000')?.state).toBe('skipped');
    // Logs (JSON on stderr) carry no transcript text and no secrets.
    expect(child.stderr).not.toContain(TRANSCRIPT_MARKER);
    expect(child.stderr).not.toContain(fx.sim.clientSecret);
  });

  // npm run sweep waits for short retries (5xx, 429) but not for transcripts still being made: their
  // next check is TRANSCRIPT_RETRY_SECONDS (30 s by default) away, and a cron job must not sit on it.
  it('a conversation whose transcript is 404 does not hold the sweep for a minute and more', async () => {
    addConversations(fx.sim, 2, 'ready');
    addConversations(fx.sim, 1, 'later', { readyAt: () => Date.now() + 3_600_000 });
    // The defaults an operator runs with: TRANSCRIPT_RETRY_SECONDS=30.
    const env = await fx.settings();
    delete env.TRANSCRIPT_RETRY_SECONDS;
    const child = spawnSweep(env);
    // Well under the 30 s a sweep waiting for the next check would need, with room for a loaded
    // machine's start-up (8 s was not always enough there).
    const exit = await exitWithin(child, 25_000);
    expect(exit?.code, child.stdout + child.stderr).toBe(0);
    expect(fx.sim.evaluations).toHaveLength(2);
  });

  it('a DATABASE_PATH that cannot be opened (under a file): exit 2, one line naming it', async () => {
    const file = join(fx.dir, 'a-file');
    writeFileSync(file, 'not a directory');
    const child = spawnSweep(await fx.settings({ DATABASE_PATH: join(file, 'qm.sqlite') }));
    const exit = await child.exited;
    expect(child.stderr).not.toMatch(/^\s+at /m);
    expect(plainLines(child.stderr)).toHaveLength(1);
    expect(plainLines(child.stderr)[0]).toMatch(/^DATABASE_PATH:/);
    expect(exit.code).toBe(2);
  });

  // A client without the transcript (or evaluation) scope gets 403 on every call: nothing can ever be
  // evaluated, and a cron job must learn it from the exit code.
  it('CXone refuses every transcript with 403: exit 4', async () => {
    addConversations(fx.sim, 3, 'scope');
    fx.sim.failNext('transcript', { status: 403, count: 1_000 });
    const child = spawnSweep(await fx.settings());
    const exit = await exitWithin(child, 15_000);
    expect(fx.sim.callsOf('transcript').length).toBeGreaterThan(0);
    expect(fx.sim.evaluations).toHaveLength(0);
    expect(exit?.code, child.stdout + child.stderr).toBe(4);
  });

  it('SIGINT while the sweep pass is paging stops the command within the grace period', async () => {
    addConversations(fx.sim, 20, 'slow');
    fx.sim.setLatency(1_500, 'query');
    fx.sim.setLatency(400, 'transcript');
    const child = spawnSweep(await fx.settings({ WORKER_CONCURRENCY: '1', SHUTDOWN_GRACE_SECONDS: '1' }));
    // The form has been read and the handlers are installed once the query is on its way.
    await waitFor('the conversations query', () => fx.sim.callsOf('query').length > 0, 15_000, 10);
    child.kill('SIGINT');
    const exit = await exitWithin(child, 4_000);
    expect(exit, 'still running 4 s after SIGINT').toBeDefined();
  });

  // The connect timeout bounds the CXone calls themselves (token and form), not only the pauses
  // between attempts: a CXone that accepts connections but never answers is given up on in time.
  it('SWEEP_CONNECT_TIMEOUT_SECONDS bounds the wait for a CXone that does not answer', async () => {
    fx.sim.hangNext('token', 10);
    const child = spawnSweep(
      await fx.settings({ SWEEP_CONNECT_TIMEOUT_SECONDS: '1', CXONE_TIMEOUT_MS: '8000' }),
    );
    const exit = await exitWithin(child, 15_000);
    expect(exit?.code, child.stderr).toBe(3);
    // Counted from the first call that reached CXone, so the command's own start-up is left out: given
    // up about a second later, not after a whole CXONE_TIMEOUT_MS (8 s).
    const askedAt = fx.sim.callsOf('token')[0]!.at;
    expect(Date.now() - askedAt).toBeLessThan(4_000);
  });
  describe('a 429 that asked for a year, persisted by an earlier run', () => {
    /** The database as a process that honoured `Retry-After: 31536000` left it. */
    function pausedForAYear(): number {
      const store = openStore(fx.dbPath);
      migrate(store);
      const until = Date.now() + 365 * 24 * 3_600_000;
      store.sqlite
        .prepare("INSERT INTO budget_state (scope, paused_until) VALUES ('tutorial', ?)")
        .run(until);
      store.close();
      return until;
    }

    it('is honoured only up to CXONE_MAX_RETRY_AFTER_SECONDS: the sweep runs', async () => {
      pausedForAYear();
      addConversations(fx.sim, 2, 'after-pause');
      const started = Date.now();
      const child = spawnSweep(
        await fx.settings({ CXONE_MAX_RETRY_AFTER_SECONDS: '2', SWEEP_CONNECT_TIMEOUT_SECONDS: '20' }),
      );
      const exit = await exitWithin(child, 30_000);
      expect(exit?.code, child.stderr).toBe(0);
      expect(fx.sim.evaluations).toHaveLength(2);
      // Nothing went to CXone before the capped pause was over.
      expect(fx.sim.callLog[0]!.at - started).toBeGreaterThanOrEqual(1_500);
    });

    it('a pause longer than the connect timeout: exit 3 saying "paused by CXone until", nothing sent', async () => {
      pausedForAYear();
      const child = spawnSweep(
        await fx.settings({ CXONE_MAX_RETRY_AFTER_SECONDS: '600', SWEEP_CONNECT_TIMEOUT_SECONDS: '1' }),
      );
      await expectPausedExit(child, () => fx.sim.callLog.length);
    });
  });

  it('platform profile, a pause persisted on the authentication API: exit 3 saying "paused by CXone until", nothing sent', async () => {
    const pf = await platformProcessFixture();
    try {
      const store = openStore(pf.dbPath);
      migrate(store);
      store.sqlite
        .prepare("INSERT INTO budget_state (scope, paused_until) VALUES ('cxone-auth', ?)")
        .run(Date.now() + 3_600_000);
      store.close();
      const child = spawnSweep(
        await pf.settings({ CXONE_MAX_RETRY_AFTER_SECONDS: '600', SWEEP_CONNECT_TIMEOUT_SECONDS: '1' }),
      );
      await expectPausedExit(child, () => pf.sim.callLog.length);
    } finally {
      await pf.close();
    }
  });

  it('conversations whose id cannot be one are skipped and counted in the summary', async () => {
    addConversations(fx.sim, 2, 'fine');
    for (const id of ['..', 'poison\ud800-x']) {
      fx.sim.addConversation({
        id,
        agentId: 'agent-1',
        type: 'voice',
        startTime: Date.now() - 120_000,
        endTime: Date.now() - 90_000,
        transcript: [{ speaker: 'AGENT', text: 'hello', timestamp: '' }],
      });
    }
    const child = spawnSweep(await fx.settings());
    const exit = await exitWithin(child, 15_000);
    expect(exit?.code, child.stderr).toBe(0);
    expect(child.stdout.split('\n')[0]).toBe(
      'sweep: 2 completed conversation(s) in the window, 2 new, 1 page(s), 2 skipped (an id that cannot be a conversation id)',
    );
    expect(fx.sim.evaluations).toHaveLength(2);
    expect(
      fx.sim
        .callsOf('transcript')
        .map((e) => e.conversationId)
        .sort(),
    ).toEqual(fx.sim.evaluations.map((e) => e.conversationId).sort());
  });
});

describe('npm run sweep -- --dry-run', () => {
  it('tutorial profile: lists and scores what it would, writes no job, no watermark, no evaluation', async () => {
    addConversations(fx.sim, 3, 'dry');
    const env = await fx.settings();
    const child = spawnSweep(env, ['--dry-run']);
    const exit = await exitWithin(child, 30_000);
    expect(exit?.code, child.stderr).toBe(0);
    const rows = child.stdout.split('\n').filter((l) => l.startsWith('dry-'));
    expect(rows).toHaveLength(3);
    for (const row of rows) expect(row).toMatch(/\twould score\t\d+\.\d\d (pass|fail): /);
    expect(child.stdout).toMatch(/would score 3, skip 0/);
    expect(fx.sim.evaluations).toHaveLength(0);
    const db = fx.openDb();
    expect(jobStates(db).size).toBe(0);
    expect((db.prepare('SELECT count(*) AS n FROM sweeps').get() as { n: number }).n).toBe(0);
  });

  it('platform profile: the same, and no business data written', async () => {
    const pf = await platformProcessFixture();
    try {
      const ids = addPlatformContacts(pf.sim, 3, 5, '800000000001');
      pf.sim.addContact({
        contactId: '800000000099',
        agentId: null,
        media: 'call',
        startTime: Date.now() - 90_000,
        endTime: Date.now() - 60_000,
      });
      const child = spawnSweep(await pf.settings(), ['--dry-run', '--limit', '2']);
      const exit = await exitWithin(child, 30_000);
      expect(exit?.code, child.stderr).toBe(0);
      expect(child.stdout).toMatch(/dry run \(platform profile\): nothing is written/);
      expect(child.stdout).toMatch(/800000000099\t-\twould skip\tno agent/);
      expect(child.stdout).toMatch(
        /4 conversation\(s\) found; would score 2, skip 1, wait for 0; 0 error\(s\); 1 not fetched/,
      );
      for (const id of ids) expect(child.stdout).toContain(id);
      expect(pf.sim.businessDataWrites).toEqual([]);
      const db = pf.openDb();
      expect((db.prepare('SELECT count(*) AS n FROM jobs').get() as { n: number }).n).toBe(0);
      expect((db.prepare('SELECT count(*) AS n FROM sweeps').get() as { n: number }).n).toBe(0);
    } finally {
      await pf.close();
    }
  });

  it('platform profile: refused access key, exit 4 naming the setting', async () => {
    const pf = await platformProcessFixture();
    try {
      const child = spawnSweep(await pf.settings({ CXONE_ACCESS_KEY_SECRET: 'not-the-secret' }), [
        '--dry-run',
      ]);
      const exit = await exitWithin(child, 30_000);
      expect(exit?.code, child.stderr).toBe(4);
      const lines = plainLines(child.stderr);
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(/CXONE_ACCESS_KEY_ID/);
      expect(child.stderr).not.toContain('not-the-secret');
    } finally {
      await pf.close();
    }
  });
});

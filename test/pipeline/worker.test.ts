import Database from 'better-sqlite3';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { idempotencyKey } from '../../src/pipeline/evaluation.js';
import { tutorialSource } from '../../src/pipeline/sources.js';
import type { Scorer } from '../../src/scoring/index.js';
import { SERVICE_BUSY_TIMEOUT_MS, setBusyTimeout } from '../../src/store/db.js';
import { pipelineHarness, tutorialKeywords } from '../support/harness.js';
import { clientFor } from '../support/simulator.js';
import { sleep, waitFor } from '../support/wait.js';

let h: Awaited<ReturnType<typeof pipelineHarness>>;
beforeEach(async () => {
  h = await pipelineHarness();
});
afterEach(async () => {
  await h.close();
});

describe('worker', () => {
  it('fetches, scores and submits one itemized evaluation with a stable Idempotency-Key', async () => {
    h.addConversation('c1');
    await h.worker('w1').runUntilIdle(0, { waitForTranscripts: true });
    const job = h.jobs.get('c1')!;
    expect(job.state).toBe('submitted');
    const [evaluation] = h.sim.evaluationsFor('c1');
    expect(job.evaluationId).toBe(evaluation!.id);
    expect(evaluation!.idempotencyKey).toBe(idempotencyKey('c1', 'form-demo'));
    expect(evaluation!.body.sections[0]!.items).toHaveLength(4);
    expect(evaluation!.body.sections[0]!.items.map((i) => i.comment)).toEqual([
      '[GREETING] found',
      '[VERIFICATION] found',
      '[COMPLIANCE_DISCLOSURE] found',
      '[CLOSING_SUMMARY] found',
    ]);
    expect(job.overallScore).toBe(100);
    expect(job).toMatchObject({ rubricName: 'keywords', rubricVersion: '1', rubricHash: 'test' });
    // The per-rule results are kept once, in the results table (test/pipeline/results.test.ts).
    expect(job.resultJson).toBeNull();
  });

  it('waits for a transcript that is not ready, then submits', async () => {
    h.addConversation('c1');
    // Two 404s, as CXone answers while transcription runs. (A ready-at deadline 150 ms away raced
    // the first call: run alone, a cold first call came after it and the test failed.)
    h.sim.failNext('transcript', { status: 404, count: 2 });
    await h.worker('w1').runUntilIdle(5_000, { waitForTranscripts: true });
    expect(h.jobs.get('c1')).toMatchObject({ state: 'submitted', transcriptChecks: 2, attempts: 0 });
    expect(h.sim.callsOf('transcript')).toHaveLength(3);
    expect(h.sim.evaluationsFor('c1')).toHaveLength(1);
  });

  it('marks a transcript that never becomes ready as failed once the wait is over', async () => {
    h.addConversation('c1', undefined, { readyAt: Date.now() + 3_600_000 });
    await h.worker('w1', { transcriptMaxWaitMs: 200 }).runUntilIdle(1_000, { waitForTranscripts: true });
    const job = h.jobs.get('c1')!;
    expect(job).toMatchObject({ state: 'failed', reasonCode: 'transcript_timeout', attempts: 0 });
    expect(job.reason).toMatch(/transcript not ready after .* h \(\d+ checks\)/);
    expect(job.reason).toContain(`(${job.transcriptChecks} checks)`);
    expect(h.sim.callsOf('evaluation')).toHaveLength(0);
  });

  it('a 422 is final: failed with the reason kept, submitted once, not retried', async () => {
    h.addConversation('c1');
    h.sim.failNext('evaluation', { status: 422, body: { error: { message: 'item-x is not on the form' } } });
    await h.worker('w1').runUntilIdle(1_000, { waitForTranscripts: true });
    const job = h.jobs.get('c1')!;
    expect(job).toMatchObject({ state: 'failed', reasonCode: 'rejected' });
    expect(job.reason).toMatch(/item-x is not on the form/);
    // The reason names the call once, and the failing run counts as an attempt.
    expect(job.reason).toMatch(/^submitEvaluation: HTTP 422: /);
    expect(job.reason!.split('submitEvaluation')).toHaveLength(2);
    expect(job.attempts).toBe(1);
    expect(h.sim.callsOf('evaluation')).toHaveLength(1);
  });

  it('a job whose first two calls answer 500 finishes in one job attempt', async () => {
    h.addConversation('c1');
    h.sim.failNext('transcript', { status: 500, count: 2 });
    await h.worker('w1').runUntilIdle(1_000, { waitForTranscripts: true });
    // Repeated inside the call: the job never backed off.
    expect(h.jobs.get('c1')).toMatchObject({ state: 'submitted', attempts: 0 });
    expect(h.sim.callsOf('transcript').map((e) => e.status)).toEqual([500, 500, 200]);
  });

  it('retries a 5xx that outlasts the quick repeats with backoff, and then submits', async () => {
    h.addConversation('c1');
    h.sim.failNext('transcript', { status: 503, count: 3 });
    h.sim.failNext('evaluation', { status: 500, count: 3 });
    await h.worker('w1').runUntilIdle(5_000, { waitForTranscripts: true });
    const job = h.jobs.get('c1')!;
    expect(job.state).toBe('submitted');
    expect(job.attempts).toBe(2);
    expect(h.sim.evaluationsFor('c1')).toHaveLength(1);
  });

  it('a job whose id cannot be sent (a row from before ids were checked) fails at once, nothing sent', async () => {
    // `..` made GET /api/v2/conversations/../media/transcripts reach another endpoint, again and again.
    // (A lone-surrogate id does not even read back from SQLite: the claim fails such a row as
    // invalid_id, tested with the claim; here, the URL side.)
    h.jobs.transaction(() => h.jobs.onSwept({ conversationId: '..', agentId: 'agent-1' }, Date.now()));
    await h.worker('w1').runUntilIdle(1_000, { waitForTranscripts: true });
    expect(h.jobs.get('..')).toMatchObject({ state: 'failed', reasonCode: 'rejected' });
    expect(h.jobs.get('..')!.reason).toMatch(/^getTranscript: not sent: conversationId "\.\." must not be/);
    expect(h.sim.callLog.filter((e) => e.call !== 'token')).toHaveLength(0);
  });

  it('a transcript larger than the answer cap fails the job with the reason, without retrying', async () => {
    h.addConversation('c1');
    h.sim.failNext('transcript', {
      status: 200,
      body: { transcript: [{ speaker: 'AGENT', text: 'x'.repeat(200_000) }] },
    });
    const cxone = clientFor(h.sim, h.url, { maxAnswerBytes: 64 * 1024 });
    await h.worker('w1', { source: tutorialSource(cxone) }).runUntilIdle(1_000, { waitForTranscripts: true });
    await cxone.close();
    const job = h.jobs.get('c1')!;
    expect(job).toMatchObject({ state: 'failed', reasonCode: 'too_large' });
    expect(job.reason).toMatch(/answer larger than 0\.06 MB \(CXONE_MAX_ANSWER_MB\)/);
    expect(h.sim.callsOf('transcript')).toHaveLength(1);
    expect(h.sim.evaluations).toHaveLength(0);
  });

  it('gives up after MAX_ATTEMPTS transient failures', async () => {
    h.addConversation('c1');
    h.sim.failNext('transcript', { status: 500, count: 100 });
    await h.worker('w1', { maxAttempts: 3 }).runUntilIdle(5_000, { waitForTranscripts: true });
    const job = h.jobs.get('c1')!;
    expect(job).toMatchObject({ state: 'failed', reasonCode: 'attempts_exhausted', attempts: 3 });
    expect(job.reason).toMatch(/^gave up after 3 attempts: getTranscript: HTTP 500/);
    expect(job.reason!.split('getTranscript')).toHaveLength(2);
  });

  it('refused credentials park the job for the operator without using an attempt', async () => {
    h.addConversation('c1');
    h.sim.failNext('transcript', { status: 403 });
    const before = Date.now();
    await h.worker('w1', { retryMaxMs: 60_000 }).runUntilIdle(0, { waitForTranscripts: true });
    const job = h.jobs.get('c1')!;
    expect(job).toMatchObject({ state: 'due', reasonCode: 'credentials_refused', attempts: 0 });
    expect(job.reason).toMatch(/^getTranscript: HTTP 403/);
    expect(job.nextAttemptAt).toBeGreaterThanOrEqual(before + 60_000);
  });

  it('an answer lost after CXone stored the evaluation is repeated with the same key: one evaluation', async () => {
    h.addConversation('c1');
    h.sim.dropResponseAfterCommitNext(1);
    await h.worker('w1').runUntilIdle(1_000, { waitForTranscripts: true });
    expect(h.jobs.get('c1')!.state).toBe('submitted');
    // CXone answered the repeat with the evaluation the lost attempt made: the record says so.
    expect(h.jobs.get('c1')).toMatchObject({ reasonCode: 'already_evaluated' });
    expect(h.jobs.get('c1')!.reason).toMatch(/\(same score, 100\)$/);
    expect(h.sim.callsOf('evaluation').length).toBe(2);
    expect(h.sim.evaluationsFor('c1')).toHaveLength(1);
  });

  it('a conversation CXone already evaluated (another database, an earlier rubric) is "already evaluated", not "submitted", in the record, the log and onJobDone', async () => {
    h.addConversation('c1');
    // What an earlier database or rubric left in CXone: an evaluation under the same key, scored 42.
    const earlier = await h.client().submitEvaluation(
      {
        form_id: 'form-demo',
        agent_id: 'agent-1',
        conversation_id: 'c1',
        sections: [
          {
            section_id: 'section-compliance',
            items: [{ item_id: 'item-greeting', score: 42, comment: 'earlier rubric' }],
          },
        ],
        overall_score: 42,
        comment: 'earlier',
      },
      idempotencyKey('c1', 'form-demo'),
    );
    expect(earlier.ok).toBe(true);
    const lines: Record<string, unknown>[] = [];
    const log = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line)) });
    const worker = h.worker('w1', { log });
    const done: unknown[] = [];
    worker.onJobDone = (_job, outcome, _reason, details) => done.push({ outcome, ...details });
    await worker.runUntilIdle(1_000, { waitForTranscripts: true });

    const job = h.jobs.get('c1')!;
    expect(job).toMatchObject({ state: 'submitted', reasonCode: 'already_evaluated', overallScore: 100 });
    expect(job.evaluationId).toBe(earlier.ok && earlier.value.id);
    expect(job.reason).toMatch(
      /^already evaluated: CXone kept its earlier evaluation eval-\S+ \(it holds 42, this run scored 100\)$/,
    );
    expect(h.sim.evaluationsFor('c1')).toHaveLength(1);
    const finished = lines.find((l) => l.msg === 'job finished')!;
    // Another score than CXone's: worth a warning, not the quiet "submitted" it used to be.
    expect(finished).toMatchObject({ level: 40, outcome: 'submitted', reasonCode: 'already_evaluated' });
    expect(String(finished.reason)).toContain('already evaluated');
    expect(done).toEqual([{ outcome: 'submitted', code: 'already_evaluated', overallScore: 100 }]);
  });

  it('a first submission has no reason code and tells onJobDone its score', async () => {
    h.addConversation('c1', [{ speaker: 'AGENT', text: 'hello, this call may be recorded', timestamp: '' }]);
    const worker = h.worker('w1');
    const done: unknown[] = [];
    worker.onJobDone = (_job, outcome, _reason, details) => done.push({ outcome, ...details });
    await worker.runUntilIdle(1_000, { waitForTranscripts: true });
    expect(h.jobs.get('c1')).toMatchObject({ state: 'submitted', reasonCode: null, reason: null });
    expect(done).toEqual([{ outcome: 'submitted', overallScore: 50 }]);
  });

  it('skips conversations with an empty transcript, with the reason recorded', async () => {
    h.addConversation('c1', [{ speaker: 'AGENT', text: '  ', timestamp: '' }]);
    await h.worker('w1').runUntilIdle(0, { waitForTranscripts: true });
    expect(h.jobs.get('c1')).toMatchObject({
      state: 'skipped',
      reasonCode: 'empty_transcript',
      reason: 'transcript is empty',
    });
    expect(h.sim.evaluations).toHaveLength(0);
  });

  it('two workers on one database evaluate every conversation exactly once', async () => {
    for (let i = 0; i < 40; i++) h.addConversation(`c${i}`);
    h.sim.setLatency(5);
    await Promise.all([
      h.worker('w1').runUntilIdle(500, { waitForTranscripts: true }),
      h.worker('w2').runUntilIdle(500, { waitForTranscripts: true }),
    ]);
    for (let i = 0; i < 40; i++) expect(h.sim.evaluationsFor(`c${i}`)).toHaveLength(1);
    expect(h.sim.callsOf('evaluation')).toHaveLength(40);
    expect(h.jobs.countByState().submitted).toBe(40);
  });

  it('stop() hands back the leases of jobs still running after the grace period', async () => {
    h.addConversation('c1');
    h.sim.hangNext('transcript', 1);
    const w = h.worker('w1', { concurrency: 1 });
    w.start();
    await new Promise((r) => setTimeout(r, 100));
    expect(h.jobs.get('c1')!.state).toBe('in_progress');
    await w.stop(50);
    expect(h.jobs.get('c1')).toMatchObject({ state: 'due', leaseOwner: null });
  });

  it('started, it picks up work as soon as it is notified', async () => {
    const w = h.worker('w1', { idlePollMs: 60_000 });
    w.start();
    await new Promise((r) => setTimeout(r, 50));
    h.addConversation('c1');
    const started = Date.now();
    w.notify();
    while (h.jobs.get('c1')!.state !== 'submitted' && Date.now() - started < 5_000)
      await new Promise((r) => setTimeout(r, 5));
    expect(h.jobs.get('c1')!.state).toBe('submitted');
    await w.stop(1_000);
  });
});

describe('worker and transcript.ready racing', () => {
  it('a transcript.ready that arrives while a fetch answers 404 makes the job due at once', async () => {
    h.addConversation('c1', undefined, { readyAt: Date.now() + 5_000 });
    h.sim.setLatency(150, 'transcript');
    const w = h.worker('w1', { transcriptRetryBaseMs: 60_000, transcriptRetryMaxMs: 60_000 });
    const run = w.runUntilIdle(0, { waitForTranscripts: true });
    // While the first fetch is in flight (it will answer 404), the transcript.ready webhook lands.
    await new Promise((r) => setTimeout(r, 50));
    h.jobs.transaction(() => h.jobs.onTranscriptReady({ conversationId: 'c1' }, Date.now()));
    await run;
    // The stale 404 was followed by a second look at once (not after the 60 s retry wait); that one
    // was a real 404, so the job now waits the normal way.
    expect(h.sim.callsOf('transcript')).toHaveLength(2);
    const job = h.jobs.get('c1')!;
    expect(job.transcriptChecks).toBe(2);
    expect(job.nextAttemptAt - Date.now()).toBeGreaterThan(20_000);
  });
});

describe('poison jobs and a locked database', () => {
  it('a job that keeps failing unexpectedly ends job_error after MAX_ATTEMPTS; the others are done, the sweep does not revive it', async () => {
    const scorer: Scorer = {
      ...tutorialKeywords,
      score(lines) {
        if (lines.some((l) => l.text.includes('POISON'))) throw new Error('the engine cannot score this');
        return tutorialKeywords.score(lines);
      },
    };
    const p = await pipelineHarness({ scorer });
    try {
      p.addConversation('poison', [{ speaker: 'AGENT', text: 'POISON', timestamp: '00:00:01' }]);
      for (const id of ['c1', 'c2', 'c3']) p.addConversation(id);
      await p.worker('w1', { maxAttempts: 3 }).runUntilIdle(1_000, { waitForTranscripts: true });
      expect(p.jobs.get('poison')).toMatchObject({ state: 'failed', reasonCode: 'job_error', attempts: 3 });
      expect(p.jobs.get('poison')!.reason).toMatch(/^gave up after 3 attempts: unexpected error: the engine/);
      for (const id of ['c1', 'c2', 'c3']) expect(p.jobs.get(id)!.state).toBe('submitted');
      // An outage's 'attempts_exhausted' is revived by the sweep; a job that fails of itself is not.
      const change = p.jobs.transaction(() =>
        p.jobs.onSwept({ conversationId: 'poison', agentId: 'agent-1' }, Date.now()),
      );
      expect(change).toBe('known');
      expect(p.jobs.get('poison')!.state).toBe('failed');
    } finally {
      await p.close();
    }
  });

  it('jobs that end without any I/O still leave the event loop turns to answer HTTP', async () => {
    // 200 jobs without an agent: each run ends with one write and no call to CXone.
    for (let i = 0; i < 200; i++) {
      h.jobs.transaction(() =>
        h.jobs.onTranscriptReady({ conversationId: `n${i}`, agentId: null }, Date.now()),
      );
      h.store.sqlite.prepare("UPDATE jobs SET state = 'due' WHERE conversation_id = ?").run(`n${i}`);
    }
    const worker = h.worker('w1');
    let doneAtFirstTimer = -1;
    let done = 0;
    worker.onJobDone = () => done++;
    setTimeout(() => (doneAtFirstTimer = done), 0);
    worker.start();
    await waitFor('every job done', () => h.jobs.countByState().skipped === 200, 10_000, 10);
    await worker.stop(1_000);
    // A timer due at once ran long before the 200 jobs were through.
    expect(doneAtFirstTimer).toBeGreaterThanOrEqual(0);
    expect(doneAtFirstTimer).toBeLessThan(100);
  });

  describe('another process holds the write lock', () => {
    let other: Database.Database;
    beforeEach(() => {
      setBusyTimeout(h.store.sqlite, SERVICE_BUSY_TIMEOUT_MS);
      other = new Database(h.dbPath);
    });
    afterEach(() => {
      if (other.inTransaction) other.exec('ROLLBACK');
      other.close();
    });
    const hold = () =>
      other.exec("BEGIN IMMEDIATE; INSERT INTO sweeps (owner, started_at, status) VALUES ('o', 1, 'ok')");

    it('claims wait for it with timers, never spinning, and the job is done once it goes', async () => {
      h.addConversation('c1');
      hold();
      const worker = h.worker('w1');
      let ticks = 0;
      const ticker = setInterval(() => ticks++, 10);
      worker.start();
      await sleep(400);
      expect(h.sim.callsOf('transcript')).toHaveLength(0);
      expect(ticks).toBeGreaterThanOrEqual(15);
      other.exec('ROLLBACK');
      await waitFor('the job to be submitted', () => h.jobs.get('c1')!.state === 'submitted', 5_000, 10);
      clearInterval(ticker);
      await worker.stop(1_000);
      expect(h.sim.evaluationsFor('c1')).toHaveLength(1);
    });

    it('a run that ends while it is held records its outcome once it goes, without using an attempt', async () => {
      h.addConversation('c1');
      h.sim.setLatency(300, 'evaluation');
      const worker = h.worker('w1');
      worker.start();
      await waitFor(
        'the submission to be on its way',
        () => h.sim.callsOf('evaluation').length > 0,
        5_000,
        5,
      );
      hold();
      await sleep(600);
      expect(h.jobs.get('c1')!.state).toBe('in_progress');
      other.exec('ROLLBACK');
      await waitFor('the outcome to be recorded', () => h.jobs.get('c1')!.state === 'submitted', 5_000, 10);
      expect(h.jobs.get('c1')!.attempts).toBe(0);
      await worker.stop(1_000);
      // Recorded by the run that made it, not redone after its lease lapsed.
      expect(h.sim.callsOf('evaluation')).toHaveLength(1);
      expect(h.sim.evaluationsFor('c1')).toHaveLength(1);
    });
  });
});

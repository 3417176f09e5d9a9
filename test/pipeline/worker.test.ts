import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { idempotencyKey } from '../../src/pipeline/evaluation.js';
import { pipelineHarness } from '../support/harness.js';

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
    expect(JSON.parse(job.resultJson!).map((r: { outcome: string }) => r.outcome)).toEqual([
      'pass',
      'pass',
      'pass',
      'pass',
    ]);
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

  it('retries 5xx with backoff and then submits', async () => {
    h.addConversation('c1');
    h.sim.failNext('transcript', { status: 503 });
    h.sim.failNext('evaluation', { status: 500, count: 2 });
    await h.worker('w1').runUntilIdle(1_000, { waitForTranscripts: true });
    const job = h.jobs.get('c1')!;
    expect(job.state).toBe('submitted');
    expect(job.attempts).toBe(3);
    expect(h.sim.evaluationsFor('c1')).toHaveLength(1);
  });

  it('gives up after MAX_ATTEMPTS transient failures', async () => {
    h.addConversation('c1');
    h.sim.failNext('transcript', { status: 500, count: 100 });
    await h.worker('w1', { maxAttempts: 3 }).runUntilIdle(1_000, { waitForTranscripts: true });
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
    expect(h.sim.callsOf('evaluation').length).toBe(2);
    expect(h.sim.evaluationsFor('c1')).toHaveLength(1);
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

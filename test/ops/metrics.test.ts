import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { createMetrics } from '../../src/ops/metrics.js';
import { JobStore } from '../../src/store/jobs.js';
import { createQueueDepthReader } from '../../src/store/queue-depth.js';
import { tempStore } from '../support/db.js';

/** The value of one sample line (`name{labels} value`) in a text exposition, or undefined. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

describe('metrics', () => {
  it('counts webhooks, jobs, CXone attempts and scores with bounded labels, plus the default process metrics', async () => {
    const clock = new ManualClock(Date.UTC(2026, 0, 1));
    const m = createMetrics({ clock });
    m.webhookAnswered('accepted');
    m.webhookAnswered('accepted');
    m.webhookAnswered('duplicate');
    m.webhookAnswered('invalid_signature', 'no_match');
    m.jobDone('submitted', undefined);
    m.jobDone('submitted', 'already_evaluated');
    m.jobDone('waiting_transcript', 'transcript_not_ready');
    m.cxoneAttempt({ call: 'getTranscript', scope: 'tutorial', status: 404, durationMs: 30 });
    m.cxoneAttempt({ call: 'token', scope: 'tutorial', status: 'timeout', durationMs: 15_000 });
    m.cxoneAttempt({ call: 'submitEvaluation', scope: 'tutorial', status: 9999, durationMs: 5 });
    m.evaluationScored(85.5);
    m.evaluationScored(Number.NaN);
    m.retentionDeleted('jobs', 500);
    const text = await m.render();

    expect(m.contentType).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(sample(text, 'qm_webhooks_total{outcome="accepted"}')).toBe(2);
    expect(sample(text, 'qm_webhooks_total{outcome="duplicate"}')).toBe(1);
    expect(sample(text, 'qm_webhooks_total{outcome="invalid_signature"}')).toBe(1);
    expect(sample(text, 'qm_webhook_signature_failures_total{reason="no_match"}')).toBe(1);
    expect(sample(text, 'qm_webhook_last_accepted_timestamp_seconds')).toBe(Date.UTC(2026, 0, 1) / 1000);
    expect(sample(text, 'qm_jobs_total{outcome="submitted",reason="none"}')).toBe(1);
    expect(sample(text, 'qm_jobs_total{outcome="submitted",reason="already_evaluated"}')).toBe(1);
    expect(sample(text, 'qm_jobs_total{outcome="waiting_transcript",reason="transcript_not_ready"}')).toBe(1);
    expect(sample(text, 'qm_cxone_requests_total{call="getTranscript",status="404"}')).toBe(1);
    expect(sample(text, 'qm_cxone_requests_total{call="token",status="timeout"}')).toBe(1);
    // Not a status: one label value for all of them, never the raw number.
    expect(sample(text, 'qm_cxone_requests_total{call="submitEvaluation",status="other"}')).toBe(1);
    expect(sample(text, 'qm_cxone_request_duration_seconds_bucket{le="0.05",call="getTranscript"}')).toBe(1);
    expect(sample(text, 'qm_cxone_request_duration_seconds_sum{call="token"}')).toBe(15);
    expect(sample(text, 'qm_evaluation_score_count')).toBe(1);
    expect(sample(text, 'qm_evaluation_score_bucket{le="80"}')).toBe(0);
    expect(sample(text, 'qm_evaluation_score_bucket{le="90"}')).toBe(1);
    expect(sample(text, 'qm_retention_deleted_total{table="jobs"}')).toBe(500);
    // Default process metrics.
    expect(text).toMatch(/^process_cpu_user_seconds_total /m);
    expect(text).toMatch(/^nodejs_eventloop_lag_seconds /m);
    // Every series has its help text.
    for (const name of [
      'qm_webhooks_total',
      'qm_jobs_total',
      'qm_cxone_requests_total',
      'qm_cxone_request_duration_seconds',
      'qm_queue_jobs',
      'qm_evaluation_score',
    ]) {
      expect(text).toMatch(new RegExp(`^# HELP ${name} \\S`, 'm'));
    }
  });

  it('two instances never share a count (a registry each, not the global one)', async () => {
    const clock = new ManualClock();
    const a = createMetrics({ clock, defaultMetrics: false });
    const b = createMetrics({ clock, defaultMetrics: false });
    a.webhookAnswered('accepted');
    expect(sample(await a.render(), 'qm_webhooks_total{outcome="accepted"}')).toBe(1);
    expect(sample(await b.render(), 'qm_webhooks_total{outcome="accepted"}')).toBeUndefined();
  });

  it('qm_queue_jobs and the due lag are read from the database at scrape time', async () => {
    const db = tempStore();
    cleanups.push(db.cleanup);
    const clock = new ManualClock(Date.UTC(2026, 0, 1));
    const now = clock.now();
    const jobs = new JobStore(db.store, 'form-1');
    const m = createMetrics({ clock, defaultMetrics: false });
    const read = createQueueDepthReader(db.store);
    m.readQueueFrom(() => read(clock.now()));
    let text = await m.render();
    expect(sample(text, 'qm_queue_jobs{state="due"}')).toBe(0);
    expect(sample(text, 'qm_queue_due_lag_seconds')).toBe(0);

    jobs.transaction(() => {
      for (const id of ['a', 'b', 'c']) jobs.onSwept({ conversationId: id, agentId: 'agent' }, now);
      jobs.onConversationEnded({ conversationId: 'w', agentId: 'agent' }, now, 60_000);
      jobs.onTranscriptReady({ conversationId: 'x' }, now);
    });
    jobs.claim('worker', 1, now, 10_000);
    await clock.advance(90_000);
    text = await m.render();
    expect(sample(text, 'qm_queue_jobs{state="due"}')).toBe(2);
    expect(sample(text, 'qm_queue_jobs{state="in_progress"}')).toBe(1);
    expect(sample(text, 'qm_queue_jobs{state="waiting_transcript"}')).toBe(1);
    expect(sample(text, 'qm_queue_jobs{state="waiting_agent"}')).toBe(1);
    expect(sample(text, 'qm_queue_due_lag_seconds')).toBe(90);
  });

  it('a database that cannot be read leaves the gauges as they were and the scrape answering', async () => {
    const clock = new ManualClock();
    const m = createMetrics({ clock, defaultMetrics: false });
    let fail = false;
    m.readQueueFrom(() => {
      if (fail) throw Object.assign(new Error('database is locked'), { code: 'SQLITE_BUSY' });
      return { byState: { due: 7 }, dueLagSeconds: 3 };
    });
    expect(sample(await m.render(), 'qm_queue_jobs{state="due"}')).toBe(7);
    fail = true;
    await clock.advance(1_000);
    expect(sample(await m.render(), 'qm_queue_jobs{state="due"}')).toBe(7);
  });
});

describe('queue depth at scrape time', () => {
  it('each count walks the (state, next_attempt_at) index, never the table: millions of finished jobs cost nothing', () => {
    const db = tempStore();
    cleanups.push(db.cleanup);
    for (const sql of [
      "EXPLAIN QUERY PLAN SELECT count(*) AS n FROM jobs WHERE state = 'due'",
      "EXPLAIN QUERY PLAN SELECT min(next_attempt_at) FROM jobs WHERE state = 'due'",
    ]) {
      const plan = (db.store.sqlite.prepare(sql).all() as { detail: string }[])
        .map((r) => r.detail)
        .join('; ');
      expect(plan, sql).toMatch(/USING COVERING INDEX jobs_runnable_idx \(state=\?/);
    }
  });
});

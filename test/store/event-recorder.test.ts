import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock, systemClock } from '../../src/clock.js';
import type { VerifiedDelivery, WebhookEvent } from '../../src/events.js';
import { SERVICE_BUSY_TIMEOUT_MS, setBusyTimeout } from '../../src/store/db.js';
import { createEventRecorder } from '../../src/store/event-recorder.js';
import { JobStore } from '../../src/store/jobs.js';
import { tempStore } from '../support/db.js';

let t: ReturnType<typeof tempStore>;
let jobs: JobStore;
let runnable: number;
let recorder: ReturnType<typeof createEventRecorder>;
const clock = new ManualClock(Date.UTC(2026, 10, 25));

beforeEach(() => {
  t = tempStore();
  jobs = new JobStore(t.store, 'form-1');
  runnable = 0;
  recorder = createEventRecorder({
    store: t.store,
    jobs,
    clock,
    firstTranscriptCheckMs: 30_000,
    onRunnable: () => runnable++,
  });
});
afterEach(() => t.cleanup());

function delivery(
  webhookId: string,
  event: Partial<WebhookEvent> & { data: Record<string, unknown> },
): VerifiedDelivery {
  const full = {
    id: `evt-${webhookId}`,
    type: 'conversation.ended',
    occurred_at: '2026-11-25T12:00:00Z',
    ...event,
  } as WebhookEvent;
  return { webhookId, event: full, rawBody: JSON.stringify(full), receivedAt: clock.now() };
}

const count = (sql: string) => (t.store.sqlite.prepare(sql).get() as { n: number }).n;

it('resolves only after the event and its job are committed (visible to another connection)', async () => {
  const outcome = await recorder.record(delivery('w1', { data: { conversation_id: 'c1', agent_id: 'a1' } }));
  expect(outcome).toBe('recorded');
  const other = new Database(t.path, { readonly: true });
  expect((other.prepare('SELECT count(*) AS n FROM webhook_events').get() as { n: number }).n).toBe(1);
  expect(
    (other.prepare("SELECT state FROM jobs WHERE conversation_id = 'c1'").get() as { state: string }).state,
  ).toBe('waiting_transcript');
  other.close();
});

it('commits deliveries that arrive together in shared transactions of at most maxBatch, each answered', async () => {
  let commits = 0;
  const original = t.store.durably.bind(t.store);
  t.store.durably = <T>(fn: () => T): T => {
    commits++;
    return original(fn);
  };
  const outcomes = await Promise.all(
    Array.from({ length: 200 }, (_, i) =>
      recorder.record(delivery(`w${i}`, { data: { conversation_id: `c${i}`, agent_id: 'a' } })),
    ),
  );
  expect(outcomes.every((o) => o === 'recorded')).toBe(true);
  expect(count('SELECT count(*) AS n FROM webhook_events')).toBe(200);
  expect(count('SELECT count(*) AS n FROM jobs')).toBe(200);
  // 200 deliveries, 64 per transaction: 4 fsyncs instead of 200.
  expect(commits).toBe(4);
});

it('a repeated webhook-id records nothing and changes no job, even within one batch', async () => {
  const first = delivery('dup', { type: 'transcript.ready', data: { conversation_id: 'c1' } });
  const [a, b] = await Promise.all([recorder.record(first), recorder.record(first)]);
  expect([a, b].sort()).toEqual(['duplicate', 'recorded']);
  const job = jobs.get('c1')!;
  // The job's state after a redelivery is what the first delivery made it.
  const again = await recorder.record(first);
  expect(again).toBe('duplicate');
  expect(jobs.get('c1')).toEqual(job);
  expect(count('SELECT count(*) AS n FROM webhook_events')).toBe(1);
});

it('unknown event types are recorded and leave jobs alone', async () => {
  const outcome = await recorder.record(
    delivery('w1', {
      type: 'agent.state_changed',
      data: { conversation_id: 'c1' },
      unknownType: true,
    } as never),
  );
  expect(outcome).toBe('recorded');
  expect(count('SELECT count(*) AS n FROM jobs')).toBe(0);
  expect(count("SELECT count(*) AS n FROM webhook_events WHERE type = 'agent.state_changed'")).toBe(1);
});

it('one delivery that cannot be stored fails alone; its neighbours are committed', async () => {
  const bad = delivery('bad', { data: { conversation_id: 'c-bad', agent_id: { not: 'a string' } } });
  const results = await Promise.allSettled([
    recorder.record(delivery('ok1', { data: { conversation_id: 'c1', agent_id: 'a' } })),
    recorder.record(bad),
    recorder.record(delivery('ok2', { data: { conversation_id: 'c2', agent_id: 'a' } })),
  ]);
  expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
  expect(count("SELECT count(*) AS n FROM webhook_events WHERE webhook_id = 'bad'")).toBe(0);
  expect(count('SELECT count(*) AS n FROM webhook_events')).toBe(2);
});

it('tells the worker when a job became runnable now', async () => {
  await recorder.record(delivery('w1', { data: { conversation_id: 'c1', agent_id: 'a' } }));
  expect(runnable).toBe(0); // waits for the transcript
  await recorder.record(delivery('w2', { type: 'transcript.ready', data: { conversation_id: 'c1' } }));
  expect(runnable).toBe(1);
});

describe('while another process holds the write lock', () => {
  // The service's connection waits a few milliseconds for a lock, then retries with timers.
  let other: Database.Database;
  let locked: ReturnType<typeof createEventRecorder>;
  beforeEach(() => {
    setBusyTimeout(t.store.sqlite, SERVICE_BUSY_TIMEOUT_MS);
    other = new Database(t.path);
    locked = createEventRecorder({
      store: t.store,
      jobs,
      clock: systemClock,
      firstTranscriptCheckMs: 0,
      busyBudgetMs: 2_000,
    });
  });
  afterEach(() => {
    if (other.inTransaction) other.exec('ROLLBACK');
    other.close();
  });
  const hold = () =>
    other.exec("BEGIN IMMEDIATE; INSERT INTO sweeps (owner, started_at, status) VALUES ('other', 1, 'ok')");

  it('waits without blocking the event loop, and commits once the lock is gone', async () => {
    hold();
    let ticks = 0;
    const ticker = setInterval(() => ticks++, 10);
    const outcome = locked.record(delivery('w1', { data: { conversation_id: 'c1', agent_id: 'a' } }));
    await new Promise((r) => setTimeout(r, 300));
    clearInterval(ticker);
    // The loop ran all along (a synchronous busy wait would have let no timer fire).
    expect(ticks).toBeGreaterThanOrEqual(10);
    expect(count('SELECT count(*) AS n FROM webhook_events')).toBe(0);
    other.exec('ROLLBACK');
    expect(await outcome).toBe('recorded');
    expect(count('SELECT count(*) AS n FROM webhook_events')).toBe(1);
    expect(jobs.get('c1')).toBeDefined();
  });

  it("answers 'busy' past its budget and records nothing, not even later", async () => {
    const quick = createEventRecorder({
      store: t.store,
      jobs,
      clock: systemClock,
      firstTranscriptCheckMs: 0,
      busyBudgetMs: 150,
    });
    hold();
    const started = Date.now();
    const outcomes = await Promise.all([
      quick.record(delivery('w1', { data: { conversation_id: 'c1', agent_id: 'a' } })),
      quick.record(delivery('w2', { data: { conversation_id: 'c2', agent_id: 'a' } })),
    ]);
    expect(outcomes).toEqual(['busy', 'busy']);
    expect(Date.now() - started).toBeLessThan(1_500);
    other.exec('ROLLBACK');
    await new Promise((r) => setTimeout(r, 200));
    expect(count('SELECT count(*) AS n FROM webhook_events')).toBe(0);
    expect(count('SELECT count(*) AS n FROM jobs')).toBe(0);
    // The sender's retry (same webhook-id) is then recorded once.
    expect(await quick.record(delivery('w1', { data: { conversation_id: 'c1', agent_id: 'a' } }))).toBe(
      'recorded',
    );
  });

  it("flush() at shutdown answers what the lock still holds 'busy' at once", async () => {
    hold();
    const outcome = locked.record(delivery('w1', { data: { conversation_id: 'c1', agent_id: 'a' } }));
    locked.flush();
    expect(await outcome).toBe('busy');
  });
});

import type { Clock } from '../clock.js';
import type { EventSink, RecordOutcome, VerifiedDelivery } from '../events.js';
import { isBusy, type Store } from './db.js';
import type { JobStore } from './jobs.js';

interface Pending {
  delivery: VerifiedDelivery;
  /** Past this (clock time) a delivery still blocked by another process's lock is answered 'busy'. */
  giveUpAt: number;
  resolve: (outcome: RecordOutcome) => void;
  reject: (error: unknown) => void;
}

/**
 * How long a webhook waits for a lock another process holds before it is answered 503. Long enough
 * for another process's ordinary commit or a checkpoint; short enough that the sender, whose own
 * timeout is a few seconds, gets an answer and retries rather than giving up on us.
 */
export const WEBHOOK_BUSY_BUDGET_MS = 1_000;

export interface EventRecorderOptions {
  store: Store;
  jobs: JobStore;
  clock: Clock;
  /** How long after conversation.ended, without transcript.ready, the first transcript fetch waits. */
  firstTranscriptCheckMs: number;
  /** Called after a commit that made at least one job runnable now: the worker should look. */
  onRunnable?: () => void;
  /**
   * Most deliveries one transaction commits. A transaction is synchronous and blocks the event loop;
   * between batches the loop runs, so a burst of webhooks does not stall the worker.
   */
  maxBatch?: number;
  /** How long a delivery waits for another process's lock before it is answered 'busy'. */
  busyBudgetMs?: number;
}

/**
 * Records verified webhook deliveries with group commit. Each 202 must wait for its event to be
 * durable (synchronous=FULL: fsynced), and an fsync costs about as much as handling the request;
 * so deliveries that arrive while a commit is pending share the next transaction and its fsync.
 * Every promise resolves 'recorded' or 'duplicate' only after the transaction holding its delivery
 * has committed; 'busy' when another process held the lock for longer than busyBudgetMs (nothing of
 * it was written, and the loop kept running meanwhile: the retries are timers).
 */
export function createEventRecorder(options: EventRecorderOptions): EventSink & { flush(): void } {
  const { store, jobs, clock, firstTranscriptCheckMs, onRunnable } = options;
  const maxBatch = options.maxBatch ?? 64;
  const busyBudgetMs = options.busyBudgetMs ?? WEBHOOK_BUSY_BUDGET_MS;
  let pending: Pending[] = [];
  let scheduled = false;
  // The pause before the next try while another process holds the write lock (0 = not locked).
  let busyPause = 0;
  // Prepared once: this runs for every webhook.
  const insertEvent = store.sqlite.prepare(
    `INSERT INTO webhook_events (webhook_id, event_id, type, conversation_id, occurred_at, received_at, payload)
     VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
  );

  /** Applies one delivery inside the caller's transaction; returns whether a job became runnable. */
  const apply = (delivery: VerifiedDelivery, now: number): { outcome: RecordOutcome; runnable: boolean } => {
    const { event } = delivery;
    const data = event.data as { conversation_id?: unknown };
    const conversationId = typeof data.conversation_id === 'string' ? data.conversation_id : null;
    const inserted = insertEvent.run(
      delivery.webhookId,
      event.id,
      event.type,
      conversationId,
      event.occurred_at,
      delivery.receivedAt,
      delivery.rawBody,
    );
    // A redelivery (same webhook-id) must change nothing, jobs included.
    if (inserted.changes === 0) return { outcome: 'duplicate', runnable: false };
    if ('unknownType' in event || !conversationId) return { outcome: 'recorded', runnable: false };
    const facts = {
      conversationId,
      agentId: event.data.agent_id,
      mediaType: event.data.media_type,
      startTime: event.data.start_time,
      endTime: event.data.end_time,
    };
    const runnable =
      event.type === 'conversation.ended'
        ? jobs.onConversationEnded(facts, now, firstTranscriptCheckMs)
        : jobs.onTranscriptReady(facts, now);
    return { outcome: 'recorded', runnable };
  };

  const commit = (batch: Pending[]): { outcomes: RecordOutcome[]; runnable: boolean } => {
    const now = clock.now();
    // The 202s of this batch wait for this commit: it must be fsynced, not only written.
    return store.durably(() => {
      let runnable = false;
      const outcomes = batch.map((p) => {
        const r = apply(p.delivery, now);
        runnable ||= r.runnable;
        return r.outcome;
      });
      return { outcomes, runnable };
    });
  };

  /**
   * The store is locked by another process (the connection's busy timeout is a few milliseconds, so
   * the commit failed fast instead of blocking the loop). Nothing of the batch was written: keep it
   * queued and try again after a growing pause, answering 'busy' to deliveries that waited their
   * budget. With `all` (shutdown) there is no later: every pending delivery is answered 'busy'.
   */
  const onBusy = (batch: Pending[], all: boolean): void => {
    const now = clock.now();
    const waiting = [...batch, ...pending];
    pending = [];
    for (const p of waiting) {
      if (all || now >= p.giveUpAt) p.resolve('busy');
      else pending.push(p);
    }
    if (pending.length === 0) {
      busyPause = 0;
      return;
    }
    busyPause = Math.min(busyPause === 0 ? 5 : busyPause * 2, 100);
    scheduled = true;
    void clock.sleep(busyPause).then(() => flush());
  };

  /** Commits one batch; with `all`, every pending delivery now (shutdown). */
  const flush = (all = false): void => {
    scheduled = false;
    while (pending.length > 0) {
      const batch = pending.slice(0, maxBatch);
      pending = pending.slice(batch.length);
      let anyRunnable = false;
      try {
        const { outcomes, runnable } = commit(batch);
        busyPause = 0;
        anyRunnable = runnable;
        for (const [i, p] of batch.entries()) p.resolve(outcomes[i] ?? 'recorded');
      } catch (error) {
        if (isBusy(error)) {
          onBusy(batch, all);
          return;
        }
        // One bad delivery must not fail its neighbours: retry each alone, so only it is refused.
        for (const p of batch) {
          try {
            const { outcomes, runnable } = commit([p]);
            anyRunnable ||= runnable;
            p.resolve(outcomes[0] ?? 'recorded');
          } catch (error) {
            if (isBusy(error)) {
              // Locked between the batch and this retry: the rest waits like any locked batch.
              const rest = batch.slice(batch.indexOf(p));
              if (anyRunnable) onRunnable?.();
              onBusy(rest, all);
              return;
            }
            p.reject(error);
          }
        }
      }
      if (anyRunnable) onRunnable?.();
      if (!all && pending.length > 0) {
        // Let the loop breathe (answer the 202s, run the worker) before the next batch.
        scheduled = true;
        setImmediate(flush);
        return;
      }
    }
  };

  return {
    record(delivery) {
      return new Promise<RecordOutcome>((resolve, reject) => {
        pending.push({ delivery, giveUpAt: clock.now() + busyBudgetMs, resolve, reject });
        if (!scheduled) {
          scheduled = true;
          // setImmediate runs after the I/O callbacks of this loop turn: every request that arrived
          // in the same turn joins this commit.
          setImmediate(flush);
        }
      });
    },
    flush: () => flush(true),
  };
}

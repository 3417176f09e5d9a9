import type { Clock } from '../clock.js';
import type { EventSink, RecordOutcome, VerifiedDelivery } from '../events.js';
import type { Store } from './db.js';
import type { JobStore } from './jobs.js';

interface Pending {
  delivery: VerifiedDelivery;
  resolve: (outcome: RecordOutcome) => void;
  reject: (error: unknown) => void;
}

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
}

/**
 * Records verified webhook deliveries with group commit. Each 202 must wait for its event to be
 * durable (synchronous=FULL: fsynced), and an fsync costs about as much as handling the request;
 * so deliveries that arrive while a commit is pending share the next transaction and its fsync.
 * Every promise resolves only after the transaction holding its delivery has committed.
 */
export function createEventRecorder(options: EventRecorderOptions): EventSink & { flush(): void } {
  const { store, jobs, clock, firstTranscriptCheckMs, onRunnable } = options;
  const maxBatch = options.maxBatch ?? 64;
  let pending: Pending[] = [];
  let scheduled = false;
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

  /** Commits one batch; with `all`, every pending delivery now (shutdown). */
  const flush = (all = false): void => {
    scheduled = false;
    while (pending.length > 0) {
      const batch = pending.slice(0, maxBatch);
      pending = pending.slice(batch.length);
      let anyRunnable = false;
      try {
        const { outcomes, runnable } = commit(batch);
        anyRunnable = runnable;
        for (const [i, p] of batch.entries()) p.resolve(outcomes[i] ?? 'recorded');
      } catch {
        // One bad delivery must not fail its neighbours: retry each alone, so only it is refused.
        for (const p of batch) {
          try {
            const { outcomes, runnable } = commit([p]);
            anyRunnable ||= runnable;
            p.resolve(outcomes[0] ?? 'recorded');
          } catch (error) {
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
        pending.push({ delivery, resolve, reject });
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

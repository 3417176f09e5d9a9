import type { Clock } from '../clock.js';
import type { EventSink, RecordOutcome, VerifiedDelivery } from '../events.js';
import type { Db, Store } from './db.js';
import type { JobStore } from './jobs.js';
import { webhookEvents } from './schema.js';

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
  /** Most deliveries one transaction commits. */
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
  const maxBatch = options.maxBatch ?? 500;
  let pending: Pending[] = [];
  let scheduled = false;

  /** Applies one delivery inside the caller's transaction; returns whether a job became runnable. */
  const apply = (
    tx: Db,
    delivery: VerifiedDelivery,
    now: number,
  ): { outcome: RecordOutcome; runnable: boolean } => {
    const { event } = delivery;
    const data = event.data as { conversation_id?: unknown };
    const conversationId = typeof data.conversation_id === 'string' ? data.conversation_id : null;
    const inserted = tx
      .insert(webhookEvents)
      .values({
        webhookId: delivery.webhookId,
        eventId: event.id,
        type: event.type,
        conversationId,
        occurredAt: event.occurred_at,
        receivedAt: delivery.receivedAt,
        payload: delivery.rawBody,
      })
      .onConflictDoNothing()
      .run();
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
        ? jobs.onConversationEnded(tx, facts, now, firstTranscriptCheckMs)
        : jobs.onTranscriptReady(tx, facts, now);
    return { outcome: 'recorded', runnable };
  };

  const commit = (batch: Pending[]): { outcomes: RecordOutcome[]; runnable: boolean } => {
    const now = clock.now();
    return store.db.transaction(
      (tx) => {
        let runnable = false;
        const outcomes = batch.map((p) => {
          const r = apply(tx, p.delivery, now);
          runnable ||= r.runnable;
          return r.outcome;
        });
        return { outcomes, runnable };
      },
      { behavior: 'immediate' },
    );
  };

  const flush = (): void => {
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
    flush,
  };
}

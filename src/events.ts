/**
 * Webhook events after their signature was verified and their body validated: what the HTTP layer
 * hands to the store. Shared by src/http (producer) and src/store (consumer).
 */

export interface ConversationEndedData {
  conversation_id: string;
  agent_id?: string | null;
  media_type?: string | null;
  start_time?: string | null;
  end_time?: string | null;
}

export type WebhookEvent =
  | { id: string; type: 'conversation.ended'; occurred_at: string; data: ConversationEndedData }
  | { id: string; type: 'transcript.ready'; occurred_at: string; data: ConversationEndedData }
  /** Any other type: recorded, answered 202, then left alone. `data` is kept as it came. */
  | { id: string; type: string; occurred_at: string; data: Record<string, unknown>; unknownType: true };

export interface VerifiedDelivery {
  /** The `webhook-id` header: the deduplication key (Standard Webhooks says retries keep it). */
  webhookId: string;
  event: WebhookEvent;
  /** The raw body as received, kept for audit and replay. */
  rawBody: string;
  receivedAt: number;
}

/**
 * 'busy': another process held the database for longer than a webhook may wait; nothing was recorded
 * and the sender should retry.
 */
export type RecordOutcome = 'recorded' | 'duplicate' | 'busy';

/**
 * Where verified deliveries go. The promise resolves 'recorded' or 'duplicate' only once the delivery
 * is durably committed.
 */
export interface EventSink {
  record(delivery: VerifiedDelivery): Promise<RecordOutcome>;
}

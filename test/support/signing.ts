/**
 * Builds signed webhook requests for tests: a known secret, a valid body, and `signedRequest`, which
 * signs whatever body and headers a test wants to break.
 */
import { randomBytes } from 'node:crypto';
import type { EventSink, RecordOutcome, VerifiedDelivery } from '../../src/events.js';
import { signWebhook } from '../../src/http/signature.js';

/** A fresh `whsec_` secret (24 random bytes, as Standard Webhooks senders generate). */
export function makeWebhookSecret(): string {
  return `whsec_${randomBytes(24).toString('base64')}`;
}

export const TEST_SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';

export function conversationEndedBody(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    id: 'evt_01J9Z3',
    type: 'conversation.ended',
    occurred_at: '2024-05-10T14:35:22Z',
    data: {
      conversation_id: 'conv-12345',
      agent_id: 'agent-67890',
      media_type: 'voice',
      start_time: '2024-05-10T14:30:00Z',
      end_time: '2024-05-10T14:35:22Z',
    },
    ...overrides,
  };
}

export interface SignedRequestInput {
  /** A string or bytes is sent exactly as given; anything else is JSON.stringify'd. */
  body?: unknown;
  secret?: string;
  webhookId?: string;
  /** Unix seconds. */
  timestamp: number;
  /** Replaces the computed `webhook-signature` value. */
  signature?: string;
  /** Header overrides; `undefined` removes a header. */
  headers?: Record<string, string | undefined>;
}

export interface SignedRequest {
  body: string | Buffer;
  headers: Record<string, string>;
  webhookId: string;
}

export function signedRequest(input: SignedRequestInput): SignedRequest {
  const raw = input.body ?? conversationEndedBody();
  const body = typeof raw === 'string' || Buffer.isBuffer(raw) ? raw : JSON.stringify(raw);
  const webhookId = input.webhookId ?? `msg_${randomBytes(8).toString('hex')}`;
  const signature =
    input.signature ??
    signWebhook({ secret: input.secret ?? TEST_SECRET, webhookId, timestamp: input.timestamp, body });
  const headers: Record<string, string | undefined> = {
    'content-type': 'application/json',
    'webhook-id': webhookId,
    'webhook-timestamp': String(input.timestamp),
    'webhook-signature': signature,
    ...input.headers,
  };
  const present: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) if (value !== undefined) present[name] = value;
  return { body, headers: present, webhookId };
}

/** An EventSink in memory that, like the store, records each webhook-id once. */
export class MemoryEventSink implements EventSink {
  readonly deliveries: VerifiedDelivery[] = [];
  private readonly seen = new Set<string>();
  /** When set, record() rejects with it (a database in trouble). */
  failWith: Error | undefined;
  calls = 0;

  async record(delivery: VerifiedDelivery): Promise<RecordOutcome> {
    this.calls++;
    if (this.failWith) throw this.failWith;
    if (this.seen.has(delivery.webhookId)) return 'duplicate';
    this.seen.add(delivery.webhookId);
    this.deliveries.push(delivery);
    return 'recorded';
  }
}

import { randomUUID } from 'node:crypto';
import { WEBHOOK_PATH } from '../http/app.js';
import { signWebhook } from '../http/signature.js';

/**
 * CXone's side of the webhooks, for the demo, the benchmarks and the process tests: builds events in
 * the shape of docs/contract.md section 3 and delivers them signed as a Standard Webhooks sender does.
 */

export interface ConversationEventData {
  conversation_id: string;
  agent_id?: string | null;
  media_type?: string;
  start_time?: string;
  end_time?: string;
}

export function webhookEvent(
  type: 'conversation.ended' | 'transcript.ready' | (string & {}),
  data: ConversationEventData,
  occurredAt = new Date(),
) {
  return { id: `evt_${randomUUID()}`, type, occurred_at: occurredAt.toISOString(), data };
}

export interface Delivery {
  url: string;
  /** One secret as configured (`whsec_…`). */
  secret: string;
  body: string;
  /** Kept across redeliveries, as the spec requires. */
  webhookId?: string;
  /** Unix seconds; default now. */
  timestamp?: number;
}

export function signedRequest(delivery: Delivery): { url: string; init: RequestInit; webhookId: string } {
  const webhookId = delivery.webhookId ?? `msg_${randomUUID()}`;
  const timestamp = delivery.timestamp ?? Math.floor(Date.now() / 1000);
  const signature = signWebhook({ secret: delivery.secret, webhookId, timestamp, body: delivery.body });
  return {
    webhookId,
    url: `${delivery.url.replace(/\/+$/, '')}${WEBHOOK_PATH}`,
    init: {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'webhook-id': webhookId,
        'webhook-timestamp': String(timestamp),
        'webhook-signature': signature,
      },
      body: delivery.body,
    },
  };
}

/** Delivers one event; answers the HTTP status and the webhook-id used. */
export async function deliverWebhook(delivery: Delivery): Promise<{ status: number; webhookId: string }> {
  const request = signedRequest(delivery);
  const response = await fetch(request.url, request.init);
  await response.arrayBuffer();
  return { status: response.status, webhookId: request.webhookId };
}

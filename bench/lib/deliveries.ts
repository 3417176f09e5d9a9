import { createHmac, randomBytes } from 'node:crypto';

/**
 * Unique, validly signed webhook deliveries, cheap enough to make one per request in the load
 * generator: one HMAC-SHA256 and a string template each. Every delivery has its own webhook-id,
 * event id and conversation id, and a realistic conversation.ended body (contract section 3).
 */
export interface DeliveryFactory {
  /** `whsec_…`, for the server's WEBHOOK_SECRET. */
  secret: string;
  /** The whole HTTP/1.1 request, ready to write to a socket. */
  next(): Buffer;
  readonly made: number;
}

export function createDeliveryFactory(options: { host: string; runId?: string }): DeliveryFactory {
  const key = randomBytes(32);
  const secret = `whsec_${key.toString('base64')}`;
  const runId = options.runId ?? randomBytes(4).toString('hex');
  let made = 0;
  let second = 0;
  let stamp = '';
  let isoEnd = '';
  let isoStart = '';
  const head = `POST /webhooks/cxone HTTP/1.1\r\nHost: ${options.host}\r\nContent-Type: application/json\r\nUser-Agent: qm-bench\r\n`;
  return {
    secret,
    get made() {
      return made;
    },
    next() {
      const n = made++;
      const nowSeconds = Math.floor(Date.now() / 1000);
      if (nowSeconds !== second) {
        second = nowSeconds;
        stamp = String(nowSeconds);
        isoEnd = new Date(nowSeconds * 1000).toISOString().replace('.000Z', 'Z');
        isoStart = new Date((nowSeconds - 312) * 1000).toISOString().replace('.000Z', 'Z');
      }
      const webhookId = `msg_${runId}_${n}`;
      const body =
        `{"id":"evt_${runId}_${n}","type":"conversation.ended","occurred_at":"${isoEnd}",` +
        `"data":{"conversation_id":"conv-${runId}-${n}","agent_id":"agent-${10000 + (n % 250)}",` +
        `"media_type":"voice","start_time":"${isoStart}","end_time":"${isoEnd}"}}`;
      const signature = createHmac('sha256', key).update(`${webhookId}.${stamp}.${body}`).digest('base64');
      return Buffer.from(
        `${head}Webhook-Id: ${webhookId}\r\nWebhook-Timestamp: ${stamp}\r\nWebhook-Signature: v1,${signature}\r\n` +
          `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
      );
    },
  };
}

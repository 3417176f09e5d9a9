/**
 * The shape of a CXone webhook body (contract section 3). Only called on bodies whose signature was
 * already verified. Unknown event types are accepted with any object `data`, so a platform that adds
 * event types does not see its deliveries refused and retried forever.
 */
import { z } from 'zod';
import type { WebhookEvent } from '../events.js';

// Bounds keep a signed-but-silly body from filling the database through one field; the whole body is
// already capped at 256 KiB, these catch values no sender means.
const MAX_ID = 200;
const MAX_SHORT = 100;

const id = z
  .string()
  .min(1, 'must be a non-empty string')
  .max(MAX_ID, `must be at most ${MAX_ID} characters`);
const optionalText = (max: number) => z.string().max(max, `must be at most ${max} characters`).nullish();

const envelopeSchema = z.object({
  id,
  type: id,
  occurred_at: z.string().max(MAX_SHORT, `must be at most ${MAX_SHORT} characters`),
  // z.record refuses arrays and null: `data` must be a JSON object.
  data: z.record(z.string(), z.unknown()),
});

const conversationEndedDataSchema = z.object({
  conversation_id: id,
  agent_id: optionalText(MAX_ID),
  media_type: optionalText(MAX_SHORT),
  start_time: optionalText(MAX_SHORT),
  end_time: optionalText(MAX_SHORT),
});

// transcript.ready may carry only the conversation id; the other fields, when present, are checked
// like those of conversation.ended so the store never holds a number where a string is expected.
const transcriptReadyDataSchema = conversationEndedDataSchema;

export type WebhookBodyResult = { ok: true; event: WebhookEvent } | { ok: false; reason: string };

function describe(error: z.ZodError, prefix: string[]): string {
  const issue = error.issues[0];
  if (!issue) return 'body does not match the webhook shape';
  const path = [...prefix, ...issue.path.map(String)];
  const where = path.length > 0 ? path.join('.') : 'body';
  // zod's own wording for type errors ("Invalid input: expected string, received number") is clear
  // enough; the custom messages above cover lengths.
  const more = error.issues.length > 1 ? ` (and ${error.issues.length - 1} more)` : '';
  return `${where}: ${issue.message}${more}`;
}

/** Validates a parsed JSON body; the failure reason names the first wrong field, e.g. `data.conversation_id: …`. */
export function parseWebhookBody(value: unknown): WebhookBodyResult {
  const envelope = envelopeSchema.safeParse(value);
  if (!envelope.success) return { ok: false, reason: describe(envelope.error, []) };
  const { id: eventId, type, occurred_at, data } = envelope.data;

  if (type === 'conversation.ended' || type === 'transcript.ready') {
    const schema = type === 'conversation.ended' ? conversationEndedDataSchema : transcriptReadyDataSchema;
    const parsed = schema.safeParse(data);
    if (!parsed.success) return { ok: false, reason: describe(parsed.error, ['data']) };
    const event: WebhookEvent =
      type === 'conversation.ended'
        ? { id: eventId, type, occurred_at, data: parsed.data }
        : { id: eventId, type, occurred_at, data: parsed.data };
    return { ok: true, event };
  }
  return { ok: true, event: { id: eventId, type, occurred_at, data, unknownType: true } };
}

/**
 * The shape of a CXone webhook body (docs/contract.md section 3). Only called on bodies whose signature was
 * already verified. Unknown event types are accepted with any object `data`, so a platform that adds
 * event types does not see its deliveries refused and retried forever.
 */
import { z } from 'zod';
import { idProblem, MAX_ID_CHARS, textProblem } from '../domain/ids.js';
import type { WebhookEvent } from '../events.js';

// Bounds keep a signed-but-silly body from filling the database through one field; the whole body is
// already capped at 256 KiB, these catch values no sender means.
const MAX_SHORT = 100;

/**
 * A field used as a key or in a URL (conversation and agent ids): the domain's id rules (well-formed
 * Unicode, no control characters, not a dot segment, ...; src/domain/ids.ts). A signed body with such
 * an id is refused with a 400 naming the field, before anything is recorded.
 */
const id = z.string().superRefine((value, ctx) => {
  const problem = idProblem(value);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});

/** Any other text the store keeps (event id and type, times, media type): well-formed and bounded. */
const storedText = (max: number, { empty }: { empty: boolean }) =>
  z.string().superRefine((value, ctx) => {
    const problem = !empty && value.length === 0 ? 'must not be empty' : textProblem(value, max);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  });
const optionalText = (max: number) => storedText(max, { empty: true }).nullish();
const optionalId = id.nullish();

const envelopeSchema = z.object({
  id: storedText(MAX_ID_CHARS, { empty: false }),
  type: storedText(MAX_ID_CHARS, { empty: false }),
  occurred_at: storedText(MAX_SHORT, { empty: true }),
  // z.record refuses arrays and null: `data` must be a JSON object.
  data: z.record(z.string(), z.unknown()),
});

const conversationEndedDataSchema = z.object({
  conversation_id: id,
  agent_id: optionalId,
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

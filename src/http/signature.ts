/**
 * Standard Webhooks signatures (https://www.standardwebhooks.com/): pure functions, no clock, no I/O.
 *
 * The signed content is `${webhook-id}.${webhook-timestamp}.${raw body}` over the exact bytes received:
 * verifying over a re-serialised body would reject valid deliveries (whitespace, key order, unicode
 * escapes) and could accept forged ones, so callers must pass the bytes they read from the socket.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export type WebhookSecretsResult = { ok: true; keys: Buffer[] } | { ok: false; message: string };

const SECRET_PREFIX = 'whsec_';
/**
 * Standard Webhooks' symmetric signing secret is "random, at least 24 bytes (192 bits, 512 maximum)"
 * (spec 1.0.0, the signature-scheme table): 24 to 64 bytes once base64-decoded. A shorter key is
 * guessable offline from one captured delivery; a longer one is not what any sender generates, so it
 * is more likely a pasted-together pair of secrets than a key.
 */
export const MIN_SECRET_BYTES = 24;
export const MAX_SECRET_BYTES = 64;
// Strict base64 (standard alphabet, optional padding). Buffer.from(…, 'base64') silently skips
// characters it does not know, so a typo in a secret would otherwise become a different key.
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}(?:==)?|[A-Za-z0-9+/]{3}=?)?$/;

/**
 * Parses `WEBHOOK_SECRET`: space-separated secrets (several allowed, for rotation), each base64 after
 * an optional `whsec_` prefix and 24 to 64 bytes long once decoded. The message never repeats a
 * secret, so it is safe to print.
 */
export function parseWebhookSecrets(raw: string): WebhookSecretsResult {
  const parts = raw.split(/\s+/).filter((p) => p.length > 0);
  if (parts.length === 0) return { ok: false, message: 'no secret given' };
  const keys: Buffer[] = [];
  for (const [index, part] of parts.entries()) {
    const encoded = part.startsWith(SECRET_PREFIX) ? part.slice(SECRET_PREFIX.length) : part;
    const position = parts.length > 1 ? `secret #${index + 1}` : 'secret';
    if (encoded.length === 0) return { ok: false, message: `${position} is empty after the whsec_ prefix` };
    if (!BASE64.test(encoded)) return { ok: false, message: `${position} is not valid base64` };
    const key = Buffer.from(encoded, 'base64');
    if (key.length < MIN_SECRET_BYTES || key.length > MAX_SECRET_BYTES) {
      return {
        ok: false,
        message: `${position} is ${key.length} byte${key.length === 1 ? '' : 's'} after base64 decoding; Standard Webhooks secrets are ${MIN_SECRET_BYTES} to ${MAX_SECRET_BYTES} bytes (make one with: openssl rand -base64 32)`,
      };
    }
    keys.push(key);
  }
  return { ok: true, keys };
}

export type SignatureFailure = 'missing_headers' | 'bad_timestamp' | 'stale' | 'future' | 'no_match';
export type SignatureResult = { ok: true } | { ok: false; reason: SignatureFailure };

const TIMESTAMP = /^\d{1,15}$/;
// An HMAC-SHA256 is 32 bytes: 44 base64 characters with padding.
const SIGNATURE_BYTES = 32;

function computeSignature(key: Buffer, webhookId: string, timestamp: string, body: Buffer): Buffer {
  return createHmac('sha256', key).update(`${webhookId}.${timestamp}.`).update(body).digest();
}

export interface SignatureHeaders {
  webhookId: string | undefined | null;
  timestamp: string | undefined | null;
  signatureHeader: string | undefined | null;
  /** The receiver's clock, in Unix seconds. */
  nowSeconds: number;
  /** How far the timestamp may be off, either way; Standard Webhooks recommends 5 minutes. */
  toleranceSeconds?: number;
}

export interface VerifySignatureInput extends SignatureHeaders {
  keys: readonly Buffer[];
  rawBody: Buffer;
}

export type HeaderCheck =
  | { ok: true; webhookId: string; timestamp: string; candidates: Buffer[] }
  | { ok: false; reason: SignatureFailure };

/**
 * Everything about a delivery that can be checked without its body: the three headers are there, the
 * timestamp is a Unix time within the tolerance (the cheap refusal of replays), and the signature
 * header holds at least one `v1,` signature of the right length. The receiver runs this before it
 * reads a byte of the body, so a stale or unsigned request costs no memory.
 */
export function checkSignatureHeaders(input: SignatureHeaders): HeaderCheck {
  const { webhookId, timestamp, signatureHeader, nowSeconds } = input;
  const tolerance = input.toleranceSeconds ?? 300;
  if (!webhookId || !timestamp || !signatureHeader) return { ok: false, reason: 'missing_headers' };
  if (!TIMESTAMP.test(timestamp)) return { ok: false, reason: 'bad_timestamp' };
  const sentAt = Number(timestamp);
  if (nowSeconds - sentAt > tolerance) return { ok: false, reason: 'stale' };
  if (sentAt - nowSeconds > tolerance) return { ok: false, reason: 'future' };

  // Only `v1,` entries count: other versions (e.g. `v1a` asymmetric) are not ours to check, and a
  // header holding only those is as good as no signature.
  const candidates: Buffer[] = [];
  for (const entry of signatureHeader.split(' ')) {
    if (!entry.startsWith('v1,')) continue;
    const decoded = Buffer.from(entry.slice(3), 'base64');
    if (decoded.length === SIGNATURE_BYTES) candidates.push(decoded);
  }
  if (candidates.length === 0) return { ok: false, reason: 'no_match' };
  return { ok: true, webhookId, timestamp, candidates };
}

/**
 * Checks the body against signatures that passed checkSignatureHeaders. Every candidate is compared
 * in constant time after a length check, so the comparison leaks nothing about how much of a forged
 * signature was right.
 */
export function verifyBodySignature(
  keys: readonly Buffer[],
  headers: Extract<HeaderCheck, { ok: true }>,
  rawBody: Buffer,
): SignatureResult {
  // Any key x any signature: during rotation the sender may sign with the old secret, the new, or both.
  for (const key of keys) {
    const expected = computeSignature(key, headers.webhookId, headers.timestamp, rawBody);
    for (const candidate of headers.candidates) {
      if (candidate.length === expected.length && timingSafeEqual(candidate, expected)) return { ok: true };
    }
  }
  return { ok: false, reason: 'no_match' };
}

/** Verifies a delivery: checkSignatureHeaders, then verifyBodySignature. */
export function verifyWebhookSignature(input: VerifySignatureInput): SignatureResult {
  const headers = checkSignatureHeaders(input);
  if (!headers.ok) return headers;
  return verifyBodySignature(input.keys, headers, input.rawBody);
}

export interface SignWebhookInput {
  /** A secret as configured (`whsec_…` or bare base64), or an already-decoded key. */
  secret: string | Buffer;
  webhookId: string;
  /** Unix seconds. */
  timestamp: number | string;
  body: string | Buffer;
}

/** Signs a delivery the way a Standard Webhooks sender does; returns the `webhook-signature` value. */
export function signWebhook(input: SignWebhookInput): string {
  let key: Buffer;
  if (typeof input.secret === 'string') {
    const parsed = parseWebhookSecrets(input.secret);
    if (!parsed.ok) throw new Error(`signWebhook: ${parsed.message}`);
    if (parsed.keys.length !== 1) throw new Error('signWebhook: give exactly one secret');
    key = parsed.keys[0]!;
  } else {
    key = input.secret;
  }
  const body = typeof input.body === 'string' ? Buffer.from(input.body, 'utf8') : input.body;
  const signature = computeSignature(key, input.webhookId, String(input.timestamp), body);
  return `v1,${signature.toString('base64')}`;
}

import { createHash, timingSafeEqual } from 'node:crypto';
import { parseAgentId, parseContactId } from '../cxone/platform/ids.js';

/**
 * The Studio push of the platform profile: a Studio script's ONRELEASE REST call says a contact
 * ended. CXone does not sign these calls, so the script carries a shared bearer token
 * (STUDIO_WEBHOOK_TOKEN; several, space-separated, while rotating). The token only says "this came
 * from our Studio script"; the call carries no data the service trusts beyond the contact id: the
 * agent, media and transcript are read from CXone's own APIs.
 */

export const STUDIO_WEBHOOK_PATH = '/webhooks/cxone/studio';

/** Shorter tokens are guessable; 32 characters is what `openssl rand -hex 16` prints. */
export const MIN_STUDIO_TOKEN_CHARS = 32;

export type StudioTokensResult = { ok: true; tokens: Buffer[] } | { ok: false; message: string };

/** Parses STUDIO_WEBHOOK_TOKEN: space-separated tokens, each at least 32 visible ASCII characters. */
export function parseStudioTokens(setting: string): StudioTokensResult {
  const parts = setting.split(/\s+/).filter(Boolean);
  if (parts.length === 0) return { ok: false, message: 'names no token' };
  for (const [i, token] of parts.entries()) {
    const which = parts.length > 1 ? `token ${i + 1}` : 'the token';
    if (!/^[\x21-\x7e]+$/.test(token)) return { ok: false, message: `${which} must be visible ASCII` };
    if (token.length < MIN_STUDIO_TOKEN_CHARS) {
      return { ok: false, message: `${which} must be at least ${MIN_STUDIO_TOKEN_CHARS} characters` };
    }
  }
  // Kept as digests: comparing fixed-length digests in constant time leaks neither the content nor
  // the length of a configured token.
  return { ok: true, tokens: parts.map(digest) };
}

function digest(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}

/** Whether an Authorization header carries one of the tokens; every token is compared, in constant time. */
export function verifyStudioBearer(header: string | undefined, tokens: readonly Buffer[]): boolean {
  const m = /^Bearer[ ]+([\x21-\x7e]{1,1024})[ ]*$/i.exec(header ?? '');
  const presented = digest(m ? m[1]! : '');
  let ok = false;
  // No early exit: the time taken does not say which token (if any) matched.
  for (const token of tokens) ok = timingSafeEqual(presented, token) || ok;
  return ok && m !== null;
}

export interface StudioCall {
  contactId: string;
  agentId: string | null;
  mediaType: string | null;
}

export type StudioBodyResult = { ok: true; call: StudioCall } | { ok: false; reason: string };

/**
 * `{"contactId": 123456, "agentId": 789, "mediaType": "Call"}`: ids as JSON numbers or digit strings
 * (Studio variables are text; a number past 2^53 arrives here as digits, see parseJsonKeepingBigIntegers),
 * other fields ignored.
 */
export function parseStudioBody(value: unknown): StudioBodyResult {
  if (!value || typeof value !== 'object' || Array.isArray(value)) {
    return { ok: false, reason: 'body: must be a JSON object' };
  }
  const body = value as Record<string, unknown>;
  const contactId = parseContactId(body.contactId);
  if (contactId === null) {
    return { ok: false, reason: 'contactId: must be a positive integer (a number or a string of digits)' };
  }
  let agentId: string | null = null;
  if (body.agentId !== undefined && body.agentId !== null && body.agentId !== '') {
    agentId = parseAgentId(body.agentId);
    if (agentId === null && body.agentId !== 0 && body.agentId !== '0') {
      return { ok: false, reason: 'agentId: must be a positive integer (a number or a string of digits)' };
    }
  }
  let mediaType: string | null = null;
  if (body.mediaType !== undefined && body.mediaType !== null) {
    if (typeof body.mediaType !== 'string' || body.mediaType.length > 50 || /\p{Cs}/u.test(body.mediaType)) {
      return { ok: false, reason: 'mediaType: must be a short text' };
    }
    mediaType = body.mediaType.trim() || null;
  }
  return { ok: true, call: { contactId, agentId, mediaType } };
}

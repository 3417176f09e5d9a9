import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * Secrets handed to browsers and scripts: 256 random bits, base64url, with a prefix that says what
 * they are (`qms_` a session, `qmt_` an API token) so one pasted in the wrong place is recognisable.
 * Only their SHA-256 is stored: the secrets have full entropy, so a fast hash is enough, and a copy
 * of the database opens nothing.
 */
export function newSecret(prefix: 'qms' | 'qmt' | 'csrf'): string {
  return `${prefix}_${randomBytes(32).toString('base64url')}`;
}

export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

/** Constant-time comparison of two strings (different lengths are simply unequal). */
export function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

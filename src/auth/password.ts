import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';

/**
 * Passwords are stored as `scrypt$N$r$p$salt$hash` (base64): a slow, memory-hard, salted hash whose
 * parameters travel with it, so they can be raised later without invalidating existing accounts.
 * scrypt runs on libuv's thread pool: hashing never blocks the event loop.
 */
export interface PasswordHasher {
  hash(password: string): Promise<string>;
  /** Whether `password` matches `encoded`. A malformed `encoded` never matches. */
  verify(password: string, encoded: string): Promise<boolean>;
  /**
   * The same work as `verify` against an account that does not exist, so a wrong user name takes as
   * long to refuse as a wrong password.
   */
  verifyNobody(password: string): Promise<false>;
}

export interface ScryptParams {
  /** CPU/memory cost, a power of two. 2^15 with r = 8 is 32 MiB and ~0.1 s on a server core. */
  N: number;
  r: number;
  p: number;
}

export const DEFAULT_SCRYPT: ScryptParams = { N: 2 ** 15, r: 8, p: 1 };
const KEY_LENGTH = 32;
/** Longer passwords are refused: scrypt would take them, but there is no reason to accept 1 MB. */
export const MAX_PASSWORD_LENGTH = 1024;
export const MIN_PASSWORD_LENGTH = 10;

function derive(password: string, salt: Buffer, params: ScryptParams): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(
      password.normalize('NFC'),
      salt,
      KEY_LENGTH,
      // maxmem above 128 * N * r, which Node's 32 MiB default does not leave room for at N = 2^15.
      { N: params.N, r: params.r, p: params.p, maxmem: 256 * params.N * params.r + 1024 * 1024 },
      (err, key) => (err ? reject(err) : resolve(key)),
    );
  });
}

function parse(encoded: string): { params: ScryptParams; salt: Buffer; hash: Buffer } | null {
  const parts = encoded.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return null;
  const [N, r, p] = parts.slice(1, 4).map(Number) as [number, number, number];
  // Bounded, so a tampered row cannot make one sign-in take minutes or gigabytes.
  if (![N, r, p].every(Number.isInteger) || N < 2 || N > 2 ** 20 || (N & (N - 1)) !== 0) return null;
  if (r < 1 || r > 32 || p < 1 || p > 16) return null;
  const salt = Buffer.from(parts[4]!, 'base64');
  const hash = Buffer.from(parts[5]!, 'base64');
  if (salt.length < 16 || hash.length !== KEY_LENGTH) return null;
  return { params: { N, r, p }, salt, hash };
}

export function createPasswordHasher(params: ScryptParams = DEFAULT_SCRYPT): PasswordHasher {
  let nobody: Promise<string> | undefined;
  const hasher: PasswordHasher = {
    async hash(password) {
      const salt = randomBytes(16);
      const key = await derive(password, salt, params);
      return `scrypt$${params.N}$${params.r}$${params.p}$${salt.toString('base64')}$${key.toString('base64')}`;
    },
    async verify(password, encoded) {
      const parsed = parse(encoded);
      if (!parsed) return false;
      const key = await derive(password, parsed.salt, parsed.params);
      return timingSafeEqual(key, parsed.hash);
    },
    async verifyNobody(password) {
      nobody ??= hasher.hash(randomBytes(24).toString('base64'));
      await hasher.verify(password, await nobody);
      return false;
    },
  };
  return hasher;
}

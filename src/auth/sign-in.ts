import type { Clock } from '../clock.js';
import type { AccountStore, SessionView, User } from '../store/accounts.js';
import { isBusy, retryWhileBusy } from '../store/db.js';
import { MAX_PASSWORD_LENGTH, type PasswordHasher } from './password.js';
import { hashSecret, newSecret } from './tokens.js';

/**
 * Sign-in, sessions and API tokens. Every refusal of a password looks the same from outside: the
 * same answer, and the same work (a user name that does not exist still costs one scrypt), so a
 * guesser learns nothing about which accounts exist. Guessing is slowed down per user name and
 * per client address: after a few failures each further attempt must wait, twice as long each
 * time, up to 15 minutes; the wait is refused before any password is checked.
 */
export interface SignInPolicy {
  /** Failures allowed per user name before attempts must wait. */
  userFailures: number;
  /** Failures allowed per client address (many names from one place) before attempts must wait. */
  addressFailures: number;
  /** First wait; doubles with each further failure. */
  baseDelayMs: number;
  maxDelayMs: number;
  /** Failures older than this are forgotten. */
  windowMs: number;
  /** scrypt runs at most this many at once; more sign-ins at the same moment are turned away. */
  maxConcurrentHashes: number;
}

export const DEFAULT_SIGN_IN_POLICY: SignInPolicy = {
  userFailures: 5,
  addressFailures: 20,
  baseDelayMs: 1_000,
  maxDelayMs: 15 * 60_000,
  windowMs: 60 * 60_000,
  maxConcurrentHashes: 4,
};

export type SignInResult =
  | { ok: true; user: User; sessionToken: string; csrfToken: string; expiresAt: number }
  | { ok: false; reason: 'invalid' }
  | { ok: false; reason: 'throttled' | 'busy'; retryAfterSeconds: number };

export interface Auth {
  signIn(name: string, password: string, clientAddress: string): Promise<SignInResult>;
  /** The session a cookie value opens, renewed on use; undefined when unknown or expired. */
  session(token: string | undefined): SessionView | undefined;
  signOut(token: string | undefined): void;
  /** The user an `Authorization: Bearer` API token belongs to. */
  tokenUser(token: string | undefined): User | undefined;
  /** Makes a new API token for a user; the token is returned once and only its hash is kept. */
  issueToken(userId: number): string;
  readonly sessionTtlMs: number;
  /** The absolute lifetime: how long the browser should keep the cookie (the idle end is ours). */
  readonly sessionMaxMs: number;
}

export interface AuthOptions {
  accounts: AccountStore;
  hasher: PasswordHasher;
  clock: Clock;
  /** Idle lifetime: a session unused this long ends. Renewed on use, at most once a minute. */
  sessionTtlMs: number;
  /** Absolute lifetime, however active. */
  sessionMaxMs?: number;
  policy?: Partial<SignInPolicy>;
}

const TOUCH_EVERY_MS = 60_000;
/** How long a sign-in's writes wait for a lock another process (npm run sweep, user) holds. */
const WRITE_BUDGET_MS = 2_000;

/** A new API token for a user: returned once, only its hash kept. */
export function issueApiToken(accounts: AccountStore, userId: number, now: number): string {
  const token = newSecret('qmt');
  accounts.addToken(userId, hashSecret(token), token.slice(0, 8), now);
  return token;
}

export function createAuth(options: AuthOptions): Auth {
  const { accounts, hasher, clock, sessionTtlMs } = options;
  const sessionMaxMs = options.sessionMaxMs ?? 7 * 24 * 3_600_000;
  const policy = { ...DEFAULT_SIGN_IN_POLICY, ...options.policy };
  let hashing = 0;
  // Attempts in flight per user name: two at once for one name are one too many (they would both
  // pass the throttle check before either failure is counted).
  const inFlight = new Set<string>();
  let lastPrune = 0;
  // Warm the stand-in hash now, so the first unknown name does not take twice as long.
  void hasher.verifyNobody('').catch(() => undefined);

  const waitOf = (failures: number, allowed: number): number =>
    failures < allowed ? 0 : Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (failures - allowed));

  function blockedFor(keys: string[], now: number): number {
    let until = 0;
    for (const key of keys) until = Math.max(until, accounts.throttle(key)?.blockedUntil ?? 0);
    return until > now ? until - now : 0;
  }

  function recordFailure(key: string, allowed: number, now: number): void {
    const previous = accounts.throttle(key);
    const failures = previous && now - previous.lastFailureAt < policy.windowMs ? previous.failures + 1 : 1;
    accounts.setThrottle({
      key,
      failures,
      lastFailureAt: now,
      blockedUntil: now + waitOf(failures, allowed),
    });
  }

  return {
    sessionTtlMs,
    sessionMaxMs,
    async signIn(name, password, clientAddress) {
      const now = clock.now();
      if (now - lastPrune > 3_600_000) {
        lastPrune = now;
        try {
          accounts.pruneThrottle(now - policy.windowMs);
          accounts.deleteExpiredSessions(now);
        } catch (error) {
          // Housekeeping: done next hour if another process holds the lock now.
          if (!isBusy(error)) throw error;
        }
      }
      const userKey = `user:${name.trim().toLowerCase().slice(0, 200)}`;
      const addressKey = `address:${clientAddress}`;
      const wait = blockedFor([userKey, addressKey], now);
      if (wait > 0) return { ok: false, reason: 'throttled', retryAfterSeconds: Math.ceil(wait / 1000) };
      if (inFlight.has(userKey)) return { ok: false, reason: 'throttled', retryAfterSeconds: 1 };
      if (hashing >= policy.maxConcurrentHashes) return { ok: false, reason: 'busy', retryAfterSeconds: 1 };
      hashing++;
      inFlight.add(userKey);
      let user: ReturnType<AccountStore['findUser']>;
      let ok: boolean;
      try {
        user = name.length > 0 && name.length <= 200 ? accounts.findUser(name.trim()) : undefined;
        const usable = password.length > 0 && password.length <= MAX_PASSWORD_LENGTH;
        ok =
          user && usable
            ? await hasher.verify(password, user.passwordHash)
            : await hasher.verifyNobody(password);
      } finally {
        hashing--;
        inFlight.delete(userKey);
      }
      const after = clock.now();
      // The service's connection waits only milliseconds for a lock (the event loop must not): a
      // lock held by another process is waited out with timers.
      const write = <T>(fn: () => T) => retryWhileBusy(fn, { clock, budgetMs: WRITE_BUDGET_MS });
      if (!ok || !user) {
        await write(() =>
          accounts.transaction(() => {
            recordFailure(userKey, policy.userFailures, after);
            recordFailure(addressKey, policy.addressFailures, after);
          }),
        );
        return { ok: false, reason: 'invalid' };
      }
      const sessionToken = newSecret('qms');
      const csrfToken = newSecret('csrf');
      const expiresAt = after + sessionTtlMs;
      const userId = user.id;
      await write(() =>
        accounts.transaction(() => {
          accounts.clearThrottle(userKey);
          accounts.createSession(userId, hashSecret(sessionToken), csrfToken, after, expiresAt);
        }),
      );
      return {
        ok: true,
        user: { id: user.id, name: user.name, role: user.role },
        sessionToken,
        csrfToken,
        expiresAt,
      };
    },
    session(token) {
      if (!token || token.length > 200) return undefined;
      const now = clock.now();
      const idHash = hashSecret(token);
      const session = accounts.session(idHash, now);
      if (!session) return undefined;
      if (now - session.createdAt > sessionMaxMs) {
        accounts.deleteSession(idHash);
        return undefined;
      }
      if (now - session.lastSeenAt > TOUCH_EVERY_MS) {
        const expiresAt = now + sessionTtlMs;
        try {
          accounts.touchSession(idHash, now, expiresAt);
        } catch (error) {
          // Another process holds the lock: the session is valid, it is renewed on a later request.
          if (!isBusy(error)) throw error;
          return session;
        }
        return { ...session, lastSeenAt: now, expiresAt };
      }
      return session;
    },
    signOut(token) {
      if (token && token.length <= 200) accounts.deleteSession(hashSecret(token));
    },
    tokenUser(token) {
      if (!token || token.length > 200) return undefined;
      return accounts.tokenUser(hashSecret(token), clock.now());
    },
    issueToken(userId) {
      return issueApiToken(accounts, userId, clock.now());
    },
  };
}

import type { Clock } from '../clock.js';
import type { CxoneResult } from './types.js';

/**
 * Where an API call gets its bearer token. The caller (api-caller.ts) asks for the current token
 * before every authenticated attempt and reports the one that drew a 401; how a token is obtained
 * (client credentials, a password grant after discovery, a refresh token) is the source's business.
 */
export interface AccessToken {
  /** Sent as `Authorization: Bearer <value>`; never logged (the caller redacts it from messages). */
  readonly value: string;
}

export interface TokenSource {
  /**
   * The token to send now, refreshed when due. Concurrent callers share one refresh in flight. A
   * failure is a value (its `retryable` says whether a later call may succeed); a refused grant is
   * kind `unauthorized`, not retryable.
   */
  current(): Promise<CxoneResult<AccessToken>>;
  /**
   * `token` drew a 401: drop it so the next `current()` obtains another. A no-op when the source
   * already holds a newer token (several calls may 401 together with the same stale one; only the
   * first drops it, the others find the new token or the refresh in flight).
   */
  invalidate(token: AccessToken): void;
}

/** What a grant answered: the token and how long the issuer says it lives. */
export interface GrantedToken {
  value: string;
  /** As the issuer said (`expires_in` × 1000); NaN when it said nothing usable. Clamped on use. */
  lifetimeMs: number;
}

/**
 * Bounds on a token's lifetime as the cache believes it, whatever the issuer said (`expires_in` of 0,
 * negative, absurdly large, or not a number at all have all been seen from misconfigured servers):
 * - at least MIN_TOKEN_LIFETIME_MS (2 min): refreshed a minute after it was obtained (refreshTimeOf),
 *   so a "0" cannot make every call fetch a token first. If the token really is that short-lived, the
 *   API's 401 drops it and the call repeats once with a fresh one: one extra call a minute at worst;
 * - at most MAX_TOKEN_LIFETIME_MS (24 h): refreshed at least daily, and no arithmetic on Infinity;
 * - DEFAULT_TOKEN_LIFETIME_MS (15 min) when the issuer gave no number (RFC 6749 makes `expires_in`
 *   optional): short enough to follow a rotation, long enough not to matter for the call budget.
 */
export const MIN_TOKEN_LIFETIME_MS = 2 * 60_000;
export const MAX_TOKEN_LIFETIME_MS = 24 * 3_600_000;
export const DEFAULT_TOKEN_LIFETIME_MS = 15 * 60_000;

/** The lifetime the cache uses for one the issuer stated (see the bounds above). */
export function clampTokenLifetimeMs(stated: number): number {
  if (Number.isNaN(stated)) return DEFAULT_TOKEN_LIFETIME_MS;
  return Math.min(MAX_TOKEN_LIFETIME_MS, Math.max(MIN_TOKEN_LIFETIME_MS, stated));
}

export interface CachedTokenSourceOptions {
  clock: Clock;
  /** Obtains a new token (one HTTP exchange or several, e.g. discovery then the grant). */
  grant: () => Promise<CxoneResult<GrantedToken>>;
}

interface Held extends AccessToken {
  refreshAt: number;
  expiresAt: number;
}

/** When to refresh a token of `lifetimeMs` obtained at `obtainedAt`. */
export function refreshTimeOf(obtainedAt: number, lifetimeMs: number): number {
  // Refresh early: at the earlier of a minute before expiry and 90% of the lifetime, so a call never
  // goes out with a token about to expire on the way.
  return obtainedAt + Math.max(0, Math.min(lifetimeMs - 60_000, lifetimeMs * 0.9));
}

/**
 * A TokenSource over any grant: caches the token until shortly before it expires (refreshTimeOf, on
 * the lifetime clamped by clampTokenLifetimeMs),
 * runs one grant at a time for all callers, and keeps using a still-valid token when an early refresh
 * fails with a retryable error (an outage is no reason to stop while the old token works).
 */
export function createCachedTokenSource(options: CachedTokenSourceOptions): TokenSource & {
  /** The token held now, if any: for redacting it from messages. */
  readonly held: AccessToken | undefined;
} {
  const { clock, grant } = options;
  let token: Held | undefined;
  let refreshing: Promise<CxoneResult<Held>> | undefined;

  const obtain = async (): Promise<CxoneResult<Held>> => {
    const result = await grant();
    if (!result.ok) return result;
    const obtainedAt = clock.now();
    const { value } = result.value;
    const lifetimeMs = clampTokenLifetimeMs(result.value.lifetimeMs);
    return {
      ok: true,
      value: { value, refreshAt: refreshTimeOf(obtainedAt, lifetimeMs), expiresAt: obtainedAt + lifetimeMs },
    };
  };

  return {
    get held() {
      return token;
    },

    async current() {
      const held = token;
      if (held && clock.now() < held.refreshAt) return { ok: true, value: held };
      if (!refreshing) {
        refreshing = obtain()
          .then((result) => {
            if (result.ok) token = result.value;
            return result;
          })
          .finally(() => {
            refreshing = undefined;
          });
      }
      const result = await refreshing;
      if (result.ok) return result;
      // A failed early refresh is no reason to stop while the old token is still valid.
      if (held && token === held && clock.now() < held.expiresAt && result.error.retryable) {
        return { ok: true, value: held };
      }
      return result;
    },

    invalidate(used) {
      if (token === used) token = undefined;
    },
  };
}

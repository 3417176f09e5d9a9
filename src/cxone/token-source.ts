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
  lifetimeMs: number;
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
 * A TokenSource over any grant: caches the token until shortly before it expires (refreshTimeOf),
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
    const { value, lifetimeMs } = result.value;
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

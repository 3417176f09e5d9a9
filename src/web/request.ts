/**
 * What the console and the results API read off a request besides its parameters: who is asking
 * (session cookie or API token), from where, and over what.
 */
import { getConnInfo } from '@hono/node-server/conninfo';
import type { Context } from 'hono';
import { getCookie } from 'hono/cookie';
import type { Role } from '../store/schema.js';

export const SESSION_COOKIE = 'qm_session';

const RANK: Record<Role, number> = { viewer: 1, reviewer: 2, admin: 3 };

/** Whether `role` may do what `needed` may (admin > reviewer > viewer). */
export function roleAtLeast(role: Role, needed: Role): boolean {
  return RANK[role] >= RANK[needed];
}

/**
 * The client's address, for throttling sign-ins. With `trustProxy` (TRUST_PROXY=true: the service
 * is reachable only through a reverse proxy that appends to X-Forwarded-For), the last address the
 * proxy added; otherwise the socket's peer, since any client can write X-Forwarded-For and would
 * otherwise pick a fresh address for every guess.
 */
export function clientAddress(c: Context, trustProxy: boolean): string {
  if (trustProxy) {
    const forwarded = c.req.header('x-forwarded-for');
    const last = forwarded?.split(',').pop()?.trim();
    if (last) return last.slice(0, 64);
  }
  try {
    return getConnInfo(c).remote.address ?? 'unknown';
  } catch {
    // Not served by @hono/node-server (app.request() in tests).
    return 'unknown';
  }
}

/**
 * Whether the browser reached us over HTTPS: directly, or through a proxy that says so. The
 * proxy's word is taken even without TRUST_PROXY: it only ever adds `Secure` to the cookie, and a
 * client that sends the header over plain HTTP only locks itself out.
 */
export function isHttps(c: Context): boolean {
  if (new URL(c.req.url).protocol === 'https:') return true;
  const proto = c.req.header('x-forwarded-proto')?.split(',')[0]?.trim().toLowerCase();
  if (proto === 'https') return true;
  return /(^|[;,\s])proto=("?)https\2/i.test(c.req.header('forwarded') ?? '');
}

export function sessionCookie(c: Context): string | undefined {
  return getCookie(c, SESSION_COOKIE);
}

/** The token of `Authorization: Bearer <token>`, if that is what the header holds. */
export function bearerToken(c: Context): string | undefined {
  const header = c.req.header('authorization');
  const m = header ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
  return m?.[1];
}

/**
 * Whether a state-changing request comes from our own pages: its Origin (or Sec-Fetch-Site) names
 * this host. Compared by host, not by URL: behind a TLS-terminating proxy the request URL we see is
 * http:// while the browser's Origin is https://.
 */
export function isSameOrigin(c: Context, trustProxy: boolean): boolean {
  const site = c.req.header('sec-fetch-site');
  if (site === 'same-origin') return true;
  if (site && site !== 'none') return false;
  const origin = c.req.header('origin');
  if (!origin || origin === 'null') return false;
  let originHost: string;
  try {
    originHost = new URL(origin).host.toLowerCase();
  } catch {
    return false;
  }
  const host = (
    (trustProxy ? c.req.header('x-forwarded-host')?.split(',')[0]?.trim() : undefined) ??
    c.req.header('host') ??
    new URL(c.req.url).host
  ).toLowerCase();
  return originHost === host;
}

import type { z } from 'zod';
import type { Clock } from '../clock.js';
import type { TokenSource } from './token-source.js';
import { createUndiciTransport, type HttpTransport } from './transport.js';
import type { CxoneCall, CxoneError, CxoneErrorKind, CxoneResult, RequestBudget } from './types.js';

/**
 * The machinery every CXone client is built on: what talking to a CXone API correctly takes, whatever
 * the API. A client (tutorial-client.ts, and one per further API profile) only says which requests to
 * make, how to get a token, how a status maps to an error kind, and how to read a 2xx body.
 *
 * Contract, per request:
 * - Every HTTP attempt first takes a slot from the RequestBudget (the token call and any discovery
 *   call included), so the process never exceeds its call budget however many callers share it.
 * - One attempt is one request and its whole body read, under one timeout (`timeoutMs`) that aborts
 *   the socket: a body that stalls is a `timeout` like headers that never come.
 * - A 429 pauses the request's `scope` in the budget (every call of that API, in every process on the
 *   database, waits) for its Retry-After (seconds or an HTTP date) or, when there is none, for
 *   `rateLimitWaitMs(n)` after the n-th 429 of this call; then the call repeats, at most
 *   `maxRateLimitWaits` times before answering `rate_limited` (retryable). The pause is set even for
 *   the 429 that makes the call give up.
 * - `call()` sends `Authorization: Bearer` from its TokenSource; a 401 drops that token
 *   (`invalidate`) and repeats once with a new one; a second 401 is `unauthorized`.
 * - Expected failures are values (`CxoneResult`), never thrown: every error names the call, says
 *   whether a retry can help (`retryable`, from the kind), and carries the HTTP status when there was
 *   one. Messages never contain a secret (`secrets()`), in plain, URL-encoded or JSON-escaped form.
 * - 5xx, timeouts and network errors are *not* retried here: they come back retryable and the caller
 *   (the worker, the sweep) decides when to try again.
 * - `close()` aborts everything in flight or waiting for the budget (answered as `network`, "client
 *   closed") and closes the keep-alive pool the caller owns.
 *
 * Building a client on it (tutorial-client.ts is the worked example):
 *   const caller = createApiCaller({ timeoutMs, budget, clock, secrets: () => [secret, tokens.held?.value] });
 *   const tokens = createCachedTokenSource({ clock, grant: async () => {
 *     // any number of exchanges (discovery, then the grant), each with its call name and scope
 *     const answer = await caller.exchange({ call: 'token', scope: 'auth', url, method: 'POST', headers, body });
 *     if (!answer.ok) return answer;
 *     if (answer.value.status >= 300) return { ok: false, error: caller.errorOf('token', answer.value, refusedMapping) };
 *     return parseJsonBody('token', schema, answer.value.text, (d) => ({ value: d.access_token, lifetimeMs: d.expires_in * 1000 }));
 *   } });
 *   caller.call({ call: 'getContacts', scope: 'reporting', auth: tokens, url, method: 'GET', mapError },
 *     (answer) => answer.status === 204 ? { ok: true, value: [] } : parseJsonBody('getContacts', schema, answer.text, map));
 * Call names are the `CxoneCall` union in types.ts (add a client's calls there); scopes are free-form
 * names, one per API whose 429s are separate (the budget keeps a pause per scope, persisted in
 * `budget_state` when the budget is the shared one).
 */

/** One request as a client describes it. */
export interface ApiRequest {
  /** Names the call in every error message (`getTranscript: HTTP 503: ...`). */
  call: CxoneCall;
  /** The API this call belongs to: a 429 pauses every call of the same scope (see RequestBudget). */
  scope: string;
  /** Absolute URL (see `urlOf` for paths with parameters). */
  url: string;
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  headers?: Record<string, string>;
  body?: string;
}

/** A complete HTTP answer: status, headers and the whole body as text. */
export interface ApiAnswer {
  status: number;
  headers: { get(name: string): string | null };
  text: string;
}

/**
 * Maps a non-2xx answer to an error kind, per call: e.g. the tutorial transcript maps 404 to
 * `not_ready`, a token endpoint maps 400/401/403 to `unauthorized`. Answer undefined for the default
 * (`defaultErrorKind`). `excerpt` is the body, whitespace collapsed, secrets redacted, cut to a few
 * hundred characters: use it (or a field read from the API family's error body) in `message`, which
 * replaces the default `<call>: HTTP <status>: <excerpt>`. 429 never reaches a mapping unless the call
 * gave up waiting; 401 reaches it only on `exchange()` (on `call()` it is the token's business).
 */
export type ErrorMapping = (
  answer: ApiAnswer & { excerpt: string },
) => { kind: CxoneErrorKind; message?: string } | undefined;

export interface ApiCallerOptions {
  /** Per HTTP attempt, from sending the request to the end of reading its body. */
  timeoutMs: number;
  budget: RequestBudget;
  clock: Clock;
  /** HTTP transport; default: undici request() on a keep-alive pool this caller owns and closes. */
  fetch?: HttpTransport;
  /** How many 429s in a row one call sits out before answering `rate_limited`. Default 5. */
  maxRateLimitWaits?: number;
  /**
   * The wait after the n-th 429 (n = 1, 2, ...) of one call that carries no usable Retry-After.
   * Default: `exponentialBackoff({ baseMs: 1_000, maxMs: 60_000 })`, for APIs that document 429s
   * without Retry-After.
   */
  rateLimitWaitMs?: (n: number) => number;
  /** Values never to appear in an error message (client secret, current token). Read at each use. */
  secrets?: () => Iterable<string | undefined>;
}

export interface ApiCaller {
  /**
   * One exchange without a token (a token grant, a discovery document): budget, attempt, 429 waits.
   * Any answer other than 429 comes back as is, whatever its status; `errorOf` maps one to an error.
   */
  exchange(request: ApiRequest): Promise<CxoneResult<ApiAnswer>>;
  /**
   * An authenticated call: bearer token from `auth`, one repeat after a 401, a non-2xx mapped by
   * `mapError` (then `defaultErrorKind`), a 2xx handed to `onOk` (e.g. `parseJsonBody`). `onOk` sees
   * every 2xx, 204 included.
   */
  call<T>(
    request: ApiRequest & { auth: TokenSource; mapError?: ErrorMapping },
    onOk: (answer: ApiAnswer) => CxoneResult<T>,
  ): Promise<CxoneResult<T>>;
  /** The error value for a non-2xx answer of `call` (as `call()` makes it). */
  errorOf(call: CxoneCall, answer: ApiAnswer, mapError?: ErrorMapping): CxoneError;
  /** Redacts every secret from `text`, in every encoding the caller knows. */
  redact(text: string): string;
  close(): Promise<void>;
}

/** Whether the same call later may succeed, per kind. */
export const RETRYABLE: Record<CxoneErrorKind, boolean> = {
  not_ready: true,
  not_found: false,
  unauthorized: false,
  forbidden: false,
  rejected: false,
  rate_limited: true,
  server: true,
  timeout: true,
  network: true,
  bad_response: false,
};

/** Longest piece of an error body kept in a message: enough to read CXone's reason, not a dump. */
export const MAX_ERROR_BODY_CHARS = 300;

/** An error value; `retryable` follows from the kind. */
export function cxoneError(
  call: CxoneCall,
  kind: CxoneErrorKind,
  message: string,
  status?: number,
): CxoneError {
  const error: CxoneError = { kind, call, retryable: RETRYABLE[kind], message };
  if (status !== undefined) error.status = status;
  return error;
}

/** A failed CxoneResult of any value type. */
export function failure<T = never>(
  call: CxoneCall,
  kind: CxoneErrorKind,
  message: string,
  status?: number,
): CxoneResult<T> {
  return { ok: false, error: cxoneError(call, kind, message, status) };
}

/** The kind of a non-2xx status when the call's mapping has nothing to say. */
export function defaultErrorKind(status: number): CxoneErrorKind {
  if (status === 401) return 'unauthorized';
  if (status === 403) return 'forbidden';
  if (status === 404) return 'not_found';
  if (status === 429) return 'rate_limited';
  if (status >= 500) return 'server';
  if (status >= 400) return 'rejected';
  // 1xx/3xx that the transport did not follow: not the documented answer.
  return 'bad_response';
}

/**
 * Reads Retry-After: delta seconds or an HTTP date. Anything else (missing, garbage, negative) gets
 * the default, because waiting a little is always safer than hammering an API that said "slow down".
 */
export function parseRetryAfterMs(header: string | null, nowMs: number, defaultMs: number): number {
  if (header === null) return defaultMs;
  const trimmed = header.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.round(Number(trimmed) * 1000);
  if (/[a-z]/i.test(trimmed)) {
    const at = Date.parse(trimmed);
    if (Number.isFinite(at)) return Math.max(0, at - nowMs);
  }
  return defaultMs;
}

/**
 * Waits that double from `baseMs` up to `maxMs`, each drawn uniformly from its upper half ("equal
 * jitter"), so callers refused together do not come back together.
 */
export function exponentialBackoff(options: {
  baseMs: number;
  maxMs: number;
  random?: () => number;
}): (n: number) => number {
  const random = options.random ?? Math.random;
  return (n) => {
    const ceiling = Math.min(options.maxMs, options.baseMs * 2 ** Math.max(0, n - 1));
    return Math.round(ceiling / 2 + random() * (ceiling / 2));
  };
}

/**
 * `baseUrl` + `template`, with each `{name}` replaced by its parameter, percent-encoded (a parameter
 * never adds a path segment or a query).
 */
export function urlOf(baseUrl: string, template: string, params: Record<string, string> = {}): string {
  const path = template.replace(/\{(\w+)\}/g, (whole, name: string) => {
    const value = params[name];
    return value === undefined ? whole : encodeURIComponent(value);
  });
  return `${baseUrl.replace(/\/+$/, '')}${path.startsWith('/') ? '' : '/'}${path}`;
}

/**
 * Parses a 2xx body as JSON and checks it with `schema`. Unknown fields are ignored (zod's default);
 * a body that is not JSON, or a field missing or mistyped, is a `bad_response` naming the call and
 * the field's path.
 */
export function parseJsonBody<S extends z.ZodType, T>(
  call: CxoneCall,
  schema: S,
  text: string,
  map: (data: z.output<S>) => T,
): CxoneResult<T> {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return failure(call, 'bad_response', `${call}: response body is not JSON`);
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = issue && issue.path.length > 0 ? issue.path.join('.') : '(body)';
    return failure(
      call,
      'bad_response',
      `${call}: unexpected response shape at ${field}: ${issue?.message ?? 'invalid'}`,
    );
  }
  return { ok: true, value: map(parsed.data) };
}

/** The forms a secret can take in a body that echoes a request: plain, form/URL-encoded, JSON-escaped. */
function encodingsOf(secret: string): string[] {
  const forms = new Set([
    secret,
    encodeURIComponent(secret),
    new URLSearchParams({ s: secret }).toString().slice(2),
    JSON.stringify(secret).slice(1, -1),
  ]);
  return [...forms];
}

export function createApiCaller(options: ApiCallerOptions): ApiCaller {
  const { budget, clock, timeoutMs } = options;
  const owned = options.fetch ? undefined : createUndiciTransport();
  const doFetch: HttpTransport = options.fetch ?? owned!.transport;
  const maxRateLimitWaits = options.maxRateLimitWaits ?? 5;
  const rateLimitWaitMs = options.rateLimitWaitMs ?? exponentialBackoff({ baseMs: 1_000, maxMs: 60_000 });
  /** close() aborts whatever is still in flight or waiting for the budget. */
  const lifetime = new AbortController();

  /** Secrets never leave the caller in a message, even when a server echoes them back. */
  function redact(text: string): string {
    let out = text;
    for (const secret of options.secrets?.() ?? []) {
      if (!secret || secret.length < 4) continue;
      for (const form of encodingsOf(secret)) out = out.split(form).join('[redacted]');
    }
    return out;
  }

  const failed = (call: CxoneCall, kind: CxoneErrorKind, message: string): CxoneResult<never> =>
    failure(call, kind, message);

  /**
   * One HTTP attempt: budget slot, request, whole body read, all under one timeout that really
   * aborts the socket. The body is always read to the end (or the request aborted) so the
   * keep-alive connection goes back to the pool.
   */
  async function attempt(request: ApiRequest): Promise<CxoneResult<ApiAnswer>> {
    const { call } = request;
    try {
      await budget.acquire(lifetime.signal, request.scope);
    } catch {
      return failed(call, 'network', `${call}: client closed`);
    }
    // One controller per attempt, fed by the timer and by close(); AbortSignal.any on the
    // long-lived close signal would pile up dependants on Node 20.
    const controller = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort(new Error(`timed out after ${timeoutMs} ms`));
    }, timeoutMs);
    const onClose = () => controller.abort(lifetime.signal.reason);
    lifetime.signal.addEventListener('abort', onClose, { once: true });
    try {
      const init: Parameters<HttpTransport>[1] = {
        method: request.method,
        headers: request.headers ?? {},
        signal: controller.signal,
      };
      if (request.body !== undefined) init.body = request.body;
      const response = await doFetch(request.url, init);
      // Reading the body is under the same signal: a stalled body is a timeout too, and reading it
      // to the end hands the keep-alive socket back to the pool.
      const text = await response.text();
      return { ok: true, value: { status: response.status, headers: response.headers, text } };
    } catch (err) {
      if (timedOut) return failed(call, 'timeout', `${call}: no complete answer within ${timeoutMs} ms`);
      if (lifetime.signal.aborted) return failed(call, 'network', `${call}: client closed`);
      const cause =
        err instanceof Error ? (err.cause instanceof Error ? err.cause.message : err.message) : '';
      return failed(call, 'network', redact(`${call}: request failed${cause ? `: ${cause}` : ''}`));
    } finally {
      clearTimeout(timer);
      lifetime.signal.removeEventListener('abort', onClose);
    }
  }

  /**
   * Repeats an attempt while the API answers 429, pausing the request's scope first so every other
   * call of that API waits too (no call at all to that API before the wait is over).
   */
  async function exchange(request: ApiRequest): Promise<CxoneResult<ApiAnswer>> {
    for (let waits = 0; ; waits++) {
      const outcome = await attempt(request);
      if (!outcome.ok || outcome.value.status !== 429) return outcome;
      // Pause first, even when this call gives up: "no call before Retry-After" holds for every
      // other call of every process.
      const now = clock.now();
      const waitMs = parseRetryAfterMs(
        outcome.value.headers.get('retry-after'),
        now,
        rateLimitWaitMs(waits + 1),
      );
      budget.pauseUntil(now + waitMs, request.scope);
      if (waits >= maxRateLimitWaits) {
        return failed(
          request.call,
          'rate_limited',
          `${request.call}: still rate limited (429) after ${waits} waits`,
        );
      }
    }
  }

  function errorOf(call: CxoneCall, answer: ApiAnswer, mapError?: ErrorMapping): CxoneError {
    const excerpt = redact(answer.text.replace(/\s+/g, ' ').trim()).slice(0, MAX_ERROR_BODY_CHARS);
    const mapped = mapError?.({ ...answer, excerpt });
    const message = mapped?.message ?? `${call}: HTTP ${answer.status}${excerpt ? `: ${excerpt}` : ''}`;
    return cxoneError(call, mapped?.kind ?? defaultErrorKind(answer.status), redact(message), answer.status);
  }

  return {
    exchange,
    errorOf,
    redact,

    async call(request, onOk) {
      const { auth, mapError, ...plain } = request;
      for (let authAttempt = 0; ; authAttempt++) {
        const token = await auth.current();
        if (!token.ok) return token;
        const outcome = await exchange({
          ...plain,
          headers: { ...plain.headers, authorization: `Bearer ${token.value.value}` },
        });
        if (!outcome.ok) return outcome;
        const answer = outcome.value;
        if (answer.status === 401) {
          if (authAttempt >= 1) {
            return failure(
              request.call,
              'unauthorized',
              `${request.call}: HTTP 401 again with a fresh token`,
              401,
            );
          }
          auth.invalidate(token.value);
          continue;
        }
        if (answer.status >= 200 && answer.status < 300) return onOk(answer);
        return { ok: false, error: errorOf(request.call, answer, mapError) };
      }
    },

    async close() {
      // Abort in-flight work and budget waits, then close the keep-alive pool this caller owns.
      lifetime.abort(new Error('CXone client closed'));
      await owned?.close().catch(() => undefined);
    },
  };
}

import type { z } from 'zod';
import type { Clock } from '../clock.js';
import {
  DEFAULT_CXONE_CALL_RETRIES,
  DEFAULT_CXONE_MAX_ANSWER_MB,
  DEFAULT_CXONE_MAX_RETRY_AFTER_SECONDS,
} from '../defaults.js';
import { hasDotSegment, pathSegmentProblem, printable } from '../domain/ids.js';
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
 *   call included, and every quick retry below), so the process never exceeds its call budget however
 *   many callers share it.
 * - One attempt is one request and its whole body read, under one timeout (`timeoutMs`) that aborts
 *   the socket: a body that stalls is a `timeout` like headers that never come.
 * - Every answer is read counting bytes and abandoned (socket aborted) past `maxAnswerBytes`
 *   (Content-Length checked first): a 2xx that large is `too_large`, not retryable (a transcript that
 *   is too large stays too large); a non-2xx keeps its status with the body cut at the limit.
 * - A 429 pauses the request's `scope` in the budget (every call of that API, in every process on the
 *   database, waits) for its Retry-After (seconds or an HTTP date) or, when there is none, for
 *   `rateLimitWaitMs(n)` after the n-th 429 of this call; never longer than `maxRetryAfterMs` (one
 *   absurd Retry-After must not stop the service for a year); `onRateLimited` hears of each pause.
 *   Then the call repeats, at most `maxRateLimitWaits` times before answering `rate_limited`
 *   (retryable, its message saying "paused by CXone until ..."). The pause is set even for the 429
 *   that makes the call give up.
 * - A 5xx (not 501/505), a timeout or a broken connection gets up to `transientRetries` quick
 *   repeats inside the call, after `transientRetryWaitMs(n)` (jittered, well under a second by
 *   default), before the caller sees it: a lone 500 no longer costs a job its backoff. Only for
 *   requests that are safe to repeat when their first outcome is unknown: `idempotent` (default: GET
 *   only; a client marks a POST idempotent when it is, e.g. a query, a token grant, or a submission
 *   carrying an Idempotency-Key, and says why). A connection that was never made (refused, DNS) is
 *   repeated for every request: nothing was sent. A 5xx whose Retry-After asks for longer than a quick
 *   wait is left to the caller's backoff.
 * - `call()` sends `Authorization: Bearer` from its TokenSource; a 401 drops that token
 *   (`invalidate`) and repeats once with a new one; a second 401 is `unauthorized`.
 * - Expected failures are values (`CxoneResult`), never thrown: every error names the call, says
 *   whether a retry can help (`retryable`, from the kind), and carries the HTTP status when there was
 *   one. Messages never contain a secret (`secrets()`), in any encoding a server could echo it in
 *   (plain, percent-encoded in either case or only in part, form-encoded, double-encoded,
 *   JSON-escaped, base64/base64url, hex). A `sensitive` exchange (default: the call named `token`)
 *   never has any part of its request or answer body in a message.
 * - URLs: `urlOf`/`urlFor` percent-encode every parameter as one path segment and refuse a value that
 *   could not be one (src/domain/ids.ts `pathSegmentProblem`: a dot segment, a slash, a lone
 *   surrogate, a control character, empty); and no attempt is sent to a URL whose path holds a dot
 *   segment, plain or percent-encoded (`rejected`, nothing sent), however the URL was built.
 * - 2xx answers that are not what the API documents (`bad_response`: an HTML page, an empty body, a
 *   wrong shape) are retryable: a proxy's error page or a half-deployed CXone is an outage, and the
 *   worker's backoff and the sweep's revival treat it like one.
 * - `close()` aborts everything in flight or waiting for the budget (answered as `network`, "client
 *   closed") and closes the keep-alive pool the caller owns.
 *
 * Changed for issue 10 / issue 9 (the exported API only grew; every earlier call still compiles):
 * options `maxRetryAfterMs`, `onRateLimited`, `maxAnswerBytes`, `transientRetries`,
 * `transientRetryWaitMs`; request fields `idempotent`, `sensitive`; answer field `sensitive`; error
 * kind `too_large` (types.ts); `bad_response` now retryable; `urlFor` (a URL or a `rejected` value);
 * `urlOf` throws for a parameter that cannot be a path segment; redaction of more encodings;
 * `RequestBudget.pausedUntil` (optional) read by `pausedUntil()` for "paused by CXone until ..." messages.
 *
 * Building a client on it (tutorial-client.ts is the worked example):
 *   const caller = createApiCaller({ timeoutMs, budget, clock, secrets: () => [secret, tokens.held?.value] });
 *   const tokens = createCachedTokenSource({ clock, grant: async () => {
 *     // any number of exchanges (discovery, then the grant), each with its call name and scope
 *     const answer = await caller.exchange({ call: 'token', scope: 'auth', url, method: 'POST', headers, body,
 *       idempotent: true }); // a grant can be repeated: it only issues another token
 *     if (!answer.ok) return answer;
 *     if (answer.value.status >= 300) return { ok: false, error: caller.errorOf('token', answer.value, refusedMapping) };
 *     return parseJsonBody('token', schema, answer.value.text, (d) => ({ value: d.access_token, lifetimeMs: d.expires_in * 1000 }));
 *   } });
 *   const url = urlFor('getContacts', baseUrl, '/contacts/{id}', { id }); // a refused id is a value
 *   if (!url.ok) return url;
 *   caller.call({ call: 'getContacts', scope: 'reporting', auth: tokens, url: url.value, method: 'GET', mapError },
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
  /** Absolute URL (see `urlFor`/`urlOf` for paths with parameters). */
  url: string;
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  headers?: Record<string, string>;
  body?: string;
  /**
   * Safe to send again when an attempt's outcome is unknown (a 5xx, a timeout, a reset: the server
   * may have acted on it), so such a failure is repeated inside the call (`transientRetries`).
   * Default: true for GET, false for everything else. A client marking a POST idempotent says why
   * next to it (a read-only query; a token grant; a write carrying an Idempotency-Key).
   */
  idempotent?: boolean;
  /**
   * The request or its answer carries credentials (a token grant): no part of either body ever goes
   * into a message, not even redacted. Default: true for the call named `token`.
   */
  sensitive?: boolean;
}

/** A complete HTTP answer: status, headers and the whole body as text. */
export interface ApiAnswer {
  status: number;
  headers: { get(name: string): string | null };
  text: string;
  /** Answers a `sensitive` request: `errorOf` keeps its body out of the message. */
  sensitive?: boolean;
}

/**
 * Maps a non-2xx answer to an error kind, per call: e.g. the tutorial transcript maps 404 to
 * `not_ready`, a token endpoint maps 400/401/403 to `unauthorized`. Answer undefined for the default
 * (`defaultErrorKind`). `excerpt` is the body, whitespace collapsed, secrets redacted, cut to a few
 * hundred characters (empty for a sensitive answer): use it (or a field read from the API family's
 * error body) in `message`, which replaces the default `<call>: HTTP <status>: <excerpt>`; a mapping of
 * a sensitive answer must not put any of `text` in its message. 429 never reaches a mapping unless the
 * call gave up waiting; 401 reaches it only on `exchange()` (on `call()` it is the token's business).
 */
export type ErrorMapping = (
  answer: ApiAnswer & { excerpt: string },
) => { kind: CxoneErrorKind; message?: string } | undefined;

/** One 429 pause, as `onRateLimited` hears of it. */
export interface RateLimitPause {
  call: CxoneCall;
  scope: string;
  /** No call of `scope` before this (epoch ms). */
  untilMs: number;
  /** What the API asked for (Retry-After, or the fallback wait when it sent none). */
  askedMs: number;
  /** What is honoured: `askedMs` capped at `maxRetryAfterMs`. */
  honouredMs: number;
}

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
  /**
   * Longest pause a 429 may impose, whatever its Retry-After says. Default 5 minutes
   * (DEFAULT_MAX_RETRY_AFTER_MS): long enough for any rate limit that resets by the minute, short
   * enough that a wrong header (a year, as seen) only costs minutes.
   */
  maxRetryAfterMs?: number;
  /** Hears of every 429 pause (to log "paused by CXone until ..."). Must not throw. */
  onRateLimited?: (pause: RateLimitPause) => void;
  /**
   * Largest answer body read, in bytes; past it the socket is aborted. Default 20 MiB
   * (DEFAULT_MAX_ANSWER_BYTES): a long call's transcript is a few hundred KiB.
   */
  maxAnswerBytes?: number;
  /** Quick repeats inside one call after a 5xx, a timeout or a broken connection. Default 2. */
  transientRetries?: number;
  /**
   * The wait before the n-th quick repeat. Default `exponentialBackoff({ baseMs: 200, maxMs: 400 })`:
   * 100-200 ms, then 200-400 ms; jittered so callers that failed together do not return together.
   */
  transientRetryWaitMs?: (n: number) => number;
  /** Values never to appear in an error message (client secret, current token). Read at each use. */
  secrets?: () => Iterable<string | undefined>;
  /**
   * Hears of every HTTP attempt once it ended (metrics): each repeat after a 401 or a 429 is an attempt
   * of its own; a call refused before anything was sent (the budget closed) is none. Must not throw.
   */
  onAttempt?: (attempt: AttemptReport) => void;
}

/** One HTTP attempt as `onAttempt` hears of it. */
export interface AttemptReport {
  call: CxoneCall;
  scope: string;
  /** The HTTP status once an answer's headers arrived; `timeout` or `network` when none did. */
  status: number | 'timeout' | 'network';
  /** From sending the request (after its budget slot) to the end of its answer. */
  durationMs: number;
}

export interface ApiCaller {
  /**
   * One exchange without a token (a token grant, a discovery document): budget, attempt, 429 waits,
   * quick repeats of transient failures (see `ApiRequest.idempotent`). Any other answer comes back as
   * is, whatever its status; `errorOf` maps one to an error.
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
  /**
   * When the 429 pause of `scope` in force now ends (epoch ms), or null when there is none (or the
   * budget cannot tell): for "paused by CXone until ..." in messages about a call that never went out.
   */
  pausedUntil(scope: string): number | null;
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
  // An HTML error page, an empty 200, a half-written JSON body: what a proxy or a CXone deployment in
  // progress answers for a while. Treated as an outage (retried, revived by the sweep), not as a
  // verdict on the conversation.
  bad_response: true,
  // The same answer will be as large next time.
  too_large: false,
};

/** Longest piece of an error body kept in a message: enough to read CXone's reason, not a dump. */
export const MAX_ERROR_BODY_CHARS = 300;
export const DEFAULT_MAX_RETRY_AFTER_MS = DEFAULT_CXONE_MAX_RETRY_AFTER_SECONDS * 1000;
export const DEFAULT_MAX_ANSWER_BYTES = DEFAULT_CXONE_MAX_ANSWER_MB * 1024 * 1024;
export const DEFAULT_TRANSIENT_RETRIES = DEFAULT_CXONE_CALL_RETRIES;
/** A 5xx whose Retry-After asks for longer than this is left to the caller's backoff. */
const MAX_QUICK_RETRY_WAIT_MS = 2_000;
/** Connection failures that mean nothing reached the server: repeating any request is harmless. */
const NOT_SENT_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'UND_ERR_CONNECT_TIMEOUT']);

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

/** A status worth a quick repeat: the server failed, not the request (501 and 505 will not change). */
function isTransientStatus(status: number): boolean {
  return status >= 500 && status !== 501 && status !== 505;
}

/**
 * Reads Retry-After: delta seconds or an HTTP date. Anything else (missing, garbage, negative) gets
 * the default, because waiting a little is always safer than hammering an API that said "slow down".
 * Not capped here: the caller caps what it honours (`maxRetryAfterMs`).
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
 * `baseUrl` + `template`, with each `{name}` replaced by its parameter, percent-encoded as one path
 * segment (a parameter never adds a segment or a query). Throws a RangeError for a parameter that
 * cannot be a path segment (src/domain/ids.ts `pathSegmentProblem`: `.`, `..`, a slash, a lone
 * surrogate, a control character, empty): encoding cannot save those (`%2e%2e` is still `..` to URL
 * parsers, `%2F` is decoded by many servers). Use `urlFor` to get that refusal as a value.
 */
export function urlOf(baseUrl: string, template: string, params: Record<string, string> = {}): string {
  const path = template.replace(/\{(\w+)\}/g, (whole, name: string) => {
    const value = params[name];
    if (value === undefined) return whole;
    const problem = pathSegmentProblem(value);
    if (problem) throw new RangeError(`URL parameter ${name} ${printable(value)} ${problem}`);
    return encodeURIComponent(value);
  });
  return `${baseUrl.replace(/\/+$/, '')}${path.startsWith('/') ? '' : '/'}${path}`;
}

/** `urlOf`, with a parameter that cannot be a path segment answered as a `rejected` value naming it. */
export function urlFor(
  call: CxoneCall,
  baseUrl: string,
  template: string,
  params: Record<string, string> = {},
): CxoneResult<string> {
  for (const [name, value] of Object.entries(params)) {
    const problem = pathSegmentProblem(value);
    if (problem)
      return failure(call, 'rejected', `${call}: not sent: ${name} ${printable(value)} ${problem}`);
  }
  return { ok: true, value: urlOf(baseUrl, template, params) };
}

// Where the URL rules live (the config checks its paths with it too); exported here for clients.
export { hasDotSegment };

/**
 * Parses a 2xx body as JSON and checks it with `schema`. Unknown fields are ignored (zod's default);
 * a body that is not JSON (an HTML page, an empty body), or a field missing or mistyped, is a
 * `bad_response` naming the call and the field's path.
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
    const what = text.trim() === '' ? 'empty' : 'not JSON';
    return failure(call, 'bad_response', `${call}: response body is ${what}`);
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

// --- Redaction ---------------------------------------------------------------------------------------

const escapeRegex = (text: string) => text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
/** A hex number as a pattern matching either case of its letters: 0x2b -> `2[bB]`. */
const hexPattern = (n: number, digits: number) =>
  n
    .toString(16)
    .padStart(digits, '0')
    .replace(/[a-f]/g, (d) => `[${d}${d.toUpperCase()}]`);

/**
 * A pattern matching `secret` written with each character in any of the forms a server echoing a
 * request could use, mixed freely: as is; percent-encoded (its UTF-8 bytes, hex in either case, or
 * double-encoded `%252B`); a space as `+` (form encoding); JSON-escaped (`\u00e9`, `\"`, `\/`).
 * One alternation per character, no quantifiers: matching stays linear.
 */
function characterwisePattern(secret: string): string {
  let source = '';
  for (const ch of secret) {
    const forms = new Set<string>([escapeRegex(ch)]);
    forms.add([...Buffer.from(ch, 'utf8')].map((b) => `%(?:25)?${hexPattern(b, 2)}`).join(''));
    if (ch === ' ') forms.add('\\+');
    const units = Array.from({ length: ch.length }, (_, i) => ch.charCodeAt(i));
    forms.add(units.map((u) => `\\\\u${hexPattern(u, 4)}`).join(''));
    const json = JSON.stringify(ch).slice(1, -1);
    if (json !== ch) forms.add(escapeRegex(json));
    if (ch === '/') forms.add('\\\\/');
    source += `(?:${[...forms].join('|')})`;
  }
  return source;
}

/**
 * The secret's bytes in base64 and base64url, at each of the three alignments it can have inside a
 * longer encoded value (`id:secret` in an HTTP Basic header, a whole request body): the characters that
 * depend on the secret's bytes alone. Plus hex, either case. Only for secrets long enough that these
 * cannot match by chance.
 */
function binaryPatterns(secret: string): string[] {
  const bytes = Buffer.from(secret, 'utf8');
  const patterns = [bytes.toString('hex').replace(/[a-f]/g, (d) => `[${d}${d.toUpperCase()}]`)];
  for (let offset = 0; offset < 3; offset++) {
    const encoded = Buffer.concat([Buffer.alloc(offset), bytes]);
    const from = Math.ceil((offset * 8) / 6);
    const to = Math.floor(((offset + bytes.length) * 8) / 6);
    if (to - from < 8) continue;
    for (const alphabet of ['base64', 'base64url'] as const) {
      patterns.push(escapeRegex(encoded.toString(alphabet).slice(from, to)));
    }
  }
  return patterns;
}

/** The longest text one occurrence of `secret` can take in any of the forms above. */
const longestForm = (secret: string) => secret.length * 20;

export function createApiCaller(options: ApiCallerOptions): ApiCaller {
  const { budget, clock, timeoutMs } = options;
  const owned = options.fetch ? undefined : createUndiciTransport();
  const doFetch: HttpTransport = options.fetch ?? owned!.transport;
  const maxRateLimitWaits = options.maxRateLimitWaits ?? 5;
  const rateLimitWaitMs = options.rateLimitWaitMs ?? exponentialBackoff({ baseMs: 1_000, maxMs: 60_000 });
  const maxRetryAfterMs = options.maxRetryAfterMs ?? DEFAULT_MAX_RETRY_AFTER_MS;
  const maxAnswerBytes = options.maxAnswerBytes ?? DEFAULT_MAX_ANSWER_BYTES;
  const transientRetries = options.transientRetries ?? DEFAULT_TRANSIENT_RETRIES;
  const transientRetryWaitMs =
    options.transientRetryWaitMs ?? exponentialBackoff({ baseMs: 200, maxMs: 400 });
  /** close() aborts whatever is still in flight or waiting for the budget. */
  const lifetime = new AbortController();

  /** Compiled per secret (the token changes hourly: a few entries at most). */
  const patterns = new Map<string, RegExp>();
  function patternOf(secret: string): RegExp {
    let pattern = patterns.get(secret);
    if (!pattern) {
      if (patterns.size > 16) patterns.clear();
      pattern = new RegExp([characterwisePattern(secret), ...binaryPatterns(secret)].join('|'), 'g');
      patterns.set(secret, pattern);
    }
    return pattern;
  }
  const secretsNow = () => [...(options.secrets?.() ?? [])].filter((s): s is string => !!s && s.length >= 4);

  /** Secrets never leave the caller in a message, even when a server echoes them back. */
  function redact(text: string): string {
    let out = text;
    for (const secret of secretsNow()) out = out.replace(patternOf(secret), '[redacted]');
    return out;
  }

  /**
   * A few hundred characters of an error body for a message: redacted before anything else (so a
   * secret with spaces in it is still recognised), from a bounded window of the body whose cut end is
   * dropped (a secret cut in half there would not be recognised), whitespace collapsed.
   */
  function excerptOf(text: string): string {
    const window = 64 * 1024;
    let head = text;
    if (text.length > window) {
      const guard = Math.max(0, ...secretsNow().map(longestForm));
      head = text.slice(0, Math.max(0, window - guard));
    }
    return redact(head).replace(/\s+/g, ' ').trim().slice(0, MAX_ERROR_BODY_CHARS);
  }

  const failed = (call: CxoneCall, kind: CxoneErrorKind, message: string): CxoneResult<never> =>
    failure(call, kind, message);
  const closed = (call: CxoneCall) => failed(call, 'network', `${call}: client closed`);

  /** One attempt's result, and whether a failure is worth a quick repeat: 'unknown' outcome or 'not_sent'. */
  type Attempt = { result: CxoneResult<ApiAnswer>; transient?: 'unknown' | 'not_sent' };

  /**
   * Reads a body counting bytes, stopping past `maxAnswerBytes` (Content-Length first, when declared).
   * Returning from inside `for await` ends the stream; the caller then aborts the request, so the
   * connection is dropped rather than drained.
   */
  async function readCapped(
    response: Awaited<ReturnType<HttpTransport>>,
  ): Promise<{ text: string; cut: boolean }> {
    const declared = Number(response.headers.get('content-length') ?? Number.NaN);
    if (Number.isFinite(declared) && declared > maxAnswerBytes) return { text: '', cut: true };
    const body = response.body;
    if (!body) {
      // A transport without a body stream cannot be stopped while reading: checked after the fact.
      const text = await response.text();
      return Buffer.byteLength(text) > maxAnswerBytes
        ? { text: text.slice(0, maxAnswerBytes), cut: true }
        : { text, cut: false };
    }
    const decoder = new TextDecoder();
    let bytes = 0;
    let text = '';
    for await (const chunk of body) {
      bytes += chunk.byteLength;
      if (bytes > maxAnswerBytes) {
        text += decoder.decode(chunk.subarray(0, chunk.byteLength - (bytes - maxAnswerBytes)));
        return { text, cut: true };
      }
      text += decoder.decode(chunk, { stream: true });
    }
    return { text: text + decoder.decode(), cut: false };
  }

  /**
   * One HTTP attempt: budget slot, request, whole body read, all under one timeout that really
   * aborts the socket. The body is always read to the end (or the request aborted) so the
   * keep-alive connection goes back to the pool.
   */
  async function attempt(request: ApiRequest, sensitive: boolean): Promise<Attempt> {
    const { call } = request;
    if (hasDotSegment(request.url)) {
      // However the URL was built: a dot segment would reach another endpoint with our token.
      return { result: failed(call, 'rejected', `${call}: not sent: the URL path holds a dot segment`) };
    }
    try {
      await budget.acquire(lifetime.signal, request.scope);
    } catch {
      return { result: closed(call) };
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
    // What onAttempt hears: the status once headers arrived (a body that then stalls is a timeout).
    const sentAt = clock.now();
    let heard: AttemptReport['status'] = 'network';
    try {
      const init: Parameters<HttpTransport>[1] = {
        method: request.method,
        headers: request.headers ?? {},
        signal: controller.signal,
      };
      if (request.body !== undefined) init.body = request.body;
      const response = await doFetch(request.url, init);
      heard = response.status;
      // Reading the body is under the same signal: a stalled body is a timeout too, and reading it
      // to the end hands the keep-alive socket back to the pool.
      const { text, cut } = await readCapped(response);
      if (cut) {
        controller.abort(new Error('answer too large'));
        if (response.status >= 200 && response.status < 300) {
          const mb = Math.round((maxAnswerBytes / 1024 / 1024) * 100) / 100;
          return {
            result: failure(
              call,
              'too_large',
              `${call}: answer larger than ${mb} MB (CXONE_MAX_ANSWER_MB): not read`,
              response.status,
            ),
          };
        }
      }
      const answer: ApiAnswer = { status: response.status, headers: response.headers, text };
      if (sensitive) answer.sensitive = true;
      return { result: { ok: true, value: answer } };
    } catch (err) {
      if (timedOut) {
        return {
          result: failed(call, 'timeout', `${call}: no complete answer within ${timeoutMs} ms`),
          transient: 'unknown',
        };
      }
      if (lifetime.signal.aborted) return { result: closed(call) };
      const cause = err instanceof Error && err.cause instanceof Error ? err.cause : err;
      const message = cause instanceof Error ? cause.message : '';
      const code = (cause as { code?: unknown } | null)?.code ?? (err as { code?: unknown } | null)?.code;
      return {
        result: failed(call, 'network', redact(`${call}: request failed${message ? `: ${message}` : ''}`)),
        transient: typeof code === 'string' && NOT_SENT_CODES.has(code) ? 'not_sent' : 'unknown',
      };
    } finally {
      clearTimeout(timer);
      lifetime.signal.removeEventListener('abort', onClose);
      options.onAttempt?.({
        call,
        scope: request.scope,
        status: timedOut ? 'timeout' : heard,
        durationMs: clock.now() - sentAt,
      });
    }
  }

  /**
   * Repeats an attempt while the API answers 429, pausing the request's scope first so every other
   * call of that API waits too (no call at all to that API before the wait is over); and repeats a
   * transient failure a few times quickly when the request is safe to repeat.
   */
  async function exchange(request: ApiRequest): Promise<CxoneResult<ApiAnswer>> {
    const { call, scope } = request;
    const idempotent = request.idempotent ?? request.method === 'GET';
    const sensitive = request.sensitive ?? call === 'token';
    let waits = 0;
    let repeats = 0;
    for (;;) {
      const { result, transient } = await attempt(request, sensitive);
      if (result.ok && result.value.status === 429) {
        // Pause first, even when this call gives up: "no call before Retry-After" holds for every
        // other call of every process.
        const now = clock.now();
        const askedMs = parseRetryAfterMs(
          result.value.headers.get('retry-after'),
          now,
          rateLimitWaitMs(waits + 1),
        );
        const honouredMs = Math.min(askedMs, maxRetryAfterMs);
        const untilMs = now + honouredMs;
        budget.pauseUntil(untilMs, scope);
        options.onRateLimited?.({ call, scope, untilMs, askedMs, honouredMs });
        if (waits >= maxRateLimitWaits) {
          return failed(
            call,
            'rate_limited',
            `${call}: paused by CXone until ${new Date(untilMs).toISOString()} (still rate limited (429) after ${waits} waits)`,
          );
        }
        waits++;
        continue;
      }
      const unknownOutcome = transient === 'unknown' || (result.ok && isTransientStatus(result.value.status));
      const repeatable = transient === 'not_sent' || (idempotent && unknownOutcome);
      if (!repeatable || repeats >= transientRetries) return result;
      repeats++;
      let waitMs = transientRetryWaitMs(repeats);
      const retryAfter = result.ok ? result.value.headers.get('retry-after') : null;
      if (retryAfter !== null) {
        // The server said how long it needs: a quick repeat only when that is quick.
        const askedMs = parseRetryAfterMs(retryAfter, clock.now(), waitMs);
        if (askedMs > MAX_QUICK_RETRY_WAIT_MS) return result;
        waitMs = Math.max(waitMs, askedMs);
      }
      try {
        await clock.sleep(waitMs, lifetime.signal);
      } catch {
        return closed(call);
      }
    }
  }

  function errorOf(call: CxoneCall, answer: ApiAnswer, mapError?: ErrorMapping): CxoneError {
    // A token call's bodies carry the client secret and tokens: none of either goes into a message.
    const sensitive = answer.sensitive === true || call === 'token';
    const excerpt = sensitive ? '' : excerptOf(answer.text);
    const mapped = mapError?.({ ...answer, excerpt });
    const message = mapped?.message ?? `${call}: HTTP ${answer.status}${excerpt ? `: ${excerpt}` : ''}`;
    return cxoneError(call, mapped?.kind ?? defaultErrorKind(answer.status), redact(message), answer.status);
  }

  return {
    exchange,
    errorOf,
    redact,

    pausedUntil(scope) {
      const until = budget.pausedUntil?.(scope) ?? 0;
      return until > clock.now() ? until : null;
    },

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

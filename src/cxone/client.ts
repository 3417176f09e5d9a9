import { z } from 'zod';
import type { Clock } from '../clock.js';
import type { TranscriptLine } from '../scoring/types.js';
import { createUndiciTransport, type HttpAnswer, type HttpTransport } from './transport.js';
import type {
  ConversationPage,
  CxoneCall,
  CxoneClient,
  CxoneError,
  CxoneErrorKind,
  CxoneResult,
  EvaluationBody,
  QmForm,
  RequestBudget,
  SubmittedEvaluation,
} from './types.js';

export interface CxonePaths {
  token: string;
  conversationsQuery: string;
  /** Contains `{conversationId}`. */
  transcript: string;
  /** Contains `{formId}`. */
  form: string;
  evaluations: string;
}

/** The paths of the contract (section 1); settings may move them when the platform does. */
export const DEFAULT_CXONE_PATHS: CxonePaths = {
  token: '/oauth/token',
  conversationsQuery: '/api/v2/conversations/details/query',
  transcript: '/api/v2/conversations/{conversationId}/media/transcripts',
  form: '/api/v2/qm/forms/{formId}',
  evaluations: '/api/v2/qm/evaluations',
};

export const CXONE_SCOPES = [
  'conversation:read',
  'conversation:media:transcript:read',
  'qm:evaluation:write',
  'qm:form:read',
] as const;

export interface CxoneClientOptions {
  baseUrl: string;
  clientId: string;
  clientSecret: string;
  scopes: string[];
  paths: CxonePaths;
  pageSize: number;
  /** Per HTTP attempt, from sending the request to the end of reading its body. */
  timeoutMs: number;
  budget: RequestBudget;
  clock: Clock;
  /** HTTP transport; default: undici request() on a keep-alive pool (`typeof fetch` fits too). */
  fetch?: HttpTransport;
  /** How many 429s in a row one call sits out before answering `rate_limited`. Default 5. */
  maxRateLimitWaits?: number;
  /** Wait after a 429 whose Retry-After is missing or unreadable. Default 5000 ms. */
  defaultRetryAfterMs?: number;
}

/** Longest piece of an error body kept in a message: enough to read CXone's reason, not a dump. */
const MAX_ERROR_BODY_CHARS = 300;

// Wire shapes. Unknown fields are ignored; missing or mistyped ones are a bad_response naming the field.
const tokenSchema = z.object({
  access_token: z.string().min(1),
  expires_in: z.coerce.number().positive(),
  token_type: z.string().optional(),
});

const optionalText = z.string().nullish();

const conversationsSchema = z.object({
  conversations: z.array(
    z.object({
      id: z.string().min(1),
      type: optionalText,
      status: optionalText,
      agent_id: optionalText,
      start_time: optionalText,
      end_time: optionalText,
    }),
  ),
  next_page_token: z.string().nullish(),
  total_results: z.number().nullish(),
});

const transcriptSchema = z.object({
  // As the tutorial does: a line with no speaker is UNKNOWN, no text or time is empty.
  transcript: z.array(
    z.object({
      speaker: z.string().nullish(),
      text: z.string().nullish(),
      timestamp: z.union([z.string(), z.number()]).nullish(),
    }),
  ),
});

const formSchema = z.object({
  id: z.string().min(1),
  name: z.string().nullish(),
  sections: z.array(
    z.object({
      section_id: z.string().min(1),
      name: z.string().nullish(),
      items: z.array(
        z.object({
          item_id: z.string().min(1),
          name: z.string(),
          max_score: z.number().nullish(),
        }),
      ),
    }),
  ),
});

const evaluationSchema = z.object({
  id: z.string().min(1),
  status: z.string().nullish(),
});

type Token = { value: string; refreshAt: number; expiresAt: number };

/** A request as the client builds it (method, headers, optional body). */
type CallInit = { method: string; headers: Record<string, string>; body?: string };

type Outcome =
  | { kind: 'response'; status: number; headers: HttpAnswer['headers']; text: string }
  | { kind: 'failed'; error: CxoneError };

const RETRYABLE: Record<CxoneErrorKind, boolean> = {
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

function fail<T>(call: CxoneCall, kind: CxoneErrorKind, message: string, status?: number): CxoneResult<T> {
  const error: CxoneError = { kind, call, retryable: RETRYABLE[kind], message };
  if (status !== undefined) error.status = status;
  return { ok: false, error };
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

function describeIssue(call: CxoneCall, error: z.ZodError): string {
  const issue = error.issues[0];
  const field = issue && issue.path.length > 0 ? issue.path.join('.') : '(body)';
  return `${call}: unexpected response shape at ${field}: ${issue?.message ?? 'invalid'}`;
}

/**
 * The CXone client: one per process.
 *
 * Every HTTP call, the token call included, first takes a slot from the budget, so the process
 * never exceeds its call budget however many workers share the client. The client itself retries
 * only what is part of talking to the API correctly (a 401 with a stale token, a 429 asking to
 * wait); 5xx, timeouts and network errors come back as retryable errors and the caller decides.
 */
export function createCxoneClient(options: CxoneClientOptions): CxoneClient {
  const { budget, clock } = options;
  const owned = options.fetch ? undefined : createUndiciTransport();
  const doFetch: HttpTransport = options.fetch ?? owned!.transport;
  const baseUrl = options.baseUrl.replace(/\/+$/, '');
  const maxRateLimitWaits = options.maxRateLimitWaits ?? 5;
  const defaultRetryAfterMs = options.defaultRetryAfterMs ?? 5000;
  /** close() aborts whatever is still in flight or waiting for the budget. */
  const lifetime = new AbortController();

  let token: Token | undefined;
  let refreshing: Promise<CxoneResult<Token>> | undefined;

  /** Secrets never leave the client in a message, even when a server echoes them back. */
  function redact(text: string): string {
    let out = text;
    for (const secret of [options.clientSecret, token?.value]) {
      if (secret && secret.length >= 4) out = out.split(secret).join('[redacted]');
    }
    return out;
  }

  function url(template: string, params: Record<string, string> = {}): string {
    const path = template.replace(/\{(\w+)\}/g, (whole, name: string) => {
      const value = params[name];
      return value === undefined ? whole : encodeURIComponent(value);
    });
    return `${baseUrl}${path.startsWith('/') ? '' : '/'}${path}`;
  }

  /**
   * One HTTP attempt: budget slot, request, whole body read, all under one timeout that really
   * aborts the socket. The body is always read to the end (or the request aborted) so the
   * keep-alive connection goes back to the pool.
   */
  async function attempt(call: CxoneCall, target: string, init: CallInit): Promise<Outcome> {
    try {
      await budget.acquire(lifetime.signal);
    } catch {
      return failed(call, 'network', `${call}: client closed`);
    }
    // One controller per attempt, fed by the timer and by close(); AbortSignal.any on the
    // long-lived close signal would pile up dependants on Node 20.
    const controller = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort(new Error(`timed out after ${options.timeoutMs} ms`));
    }, options.timeoutMs);
    const onClose = () => controller.abort(lifetime.signal.reason);
    lifetime.signal.addEventListener('abort', onClose, { once: true });
    try {
      const response = await doFetch(target, { ...init, signal: controller.signal });
      // Reading the body is under the same signal: a stalled body is a timeout too, and reading it
      // to the end hands the keep-alive socket back to the pool.
      const text = await response.text();
      return { kind: 'response', status: response.status, headers: response.headers, text };
    } catch (err) {
      if (timedOut) {
        return failed(call, 'timeout', `${call}: no complete answer within ${options.timeoutMs} ms`);
      }
      if (lifetime.signal.aborted) return failed(call, 'network', `${call}: client closed`);
      const cause =
        err instanceof Error ? (err.cause instanceof Error ? err.cause.message : err.message) : '';
      return failed(call, 'network', redact(`${call}: request failed${cause ? `: ${cause}` : ''}`));
    } finally {
      clearTimeout(timer);
      lifetime.signal.removeEventListener('abort', onClose);
    }
  }

  function failed(call: CxoneCall, kind: CxoneErrorKind, message: string): Outcome {
    const result = fail<never>(call, kind, message);
    if (result.ok) throw new Error('unreachable');
    return { kind: 'failed', error: result.error };
  }

  /**
   * Repeats an attempt while the API answers 429, pausing the whole budget for Retry-After first
   * so every other call waits too (the contract: no call at all to that API before then).
   */
  async function attemptHonouringRateLimits(
    call: CxoneCall,
    target: string,
    init: () => CallInit,
  ): Promise<Outcome> {
    for (let waits = 0; ; waits++) {
      const outcome = await attempt(call, target, init());
      if (outcome.kind === 'failed' || outcome.status !== 429) return outcome;
      // Pause first, even when this call gives up: the contract's "no call before Retry-After"
      // holds for every other call of every process.
      const waitMs = parseRetryAfterMs(outcome.headers.get('retry-after'), clock.now(), defaultRetryAfterMs);
      budget.pauseUntil(clock.now() + waitMs);
      if (waits >= maxRateLimitWaits) {
        return failed(call, 'rate_limited', `${call}: still rate limited (429) after ${waits} waits`);
      }
    }
  }

  /** Maps a non-2xx answer other than 429 to an error value. */
  function errorFor<T>(call: CxoneCall, status: number, text: string): CxoneResult<T> {
    const detail = redact(text.replace(/\s+/g, ' ').trim()).slice(0, MAX_ERROR_BODY_CHARS);
    const message = `${call}: HTTP ${status}${detail ? `: ${detail}` : ''}`;
    if (status === 401) return fail(call, 'unauthorized', message, status);
    if (status === 403) return fail(call, 'forbidden', message, status);
    if (status === 404)
      return fail(call, call === 'getTranscript' ? 'not_ready' : 'not_found', message, status);
    if (status === 429) return fail(call, 'rate_limited', message, status);
    if (status >= 500) return fail(call, 'server', message, status);
    if (status >= 400) return fail(call, 'rejected', message, status);
    // 1xx/3xx that fetch did not follow: not the documented answer.
    return fail(call, 'bad_response', message, status);
  }

  function parseBody<S extends z.ZodType, T>(
    call: CxoneCall,
    schema: S,
    text: string,
    map: (data: z.output<S>) => T,
  ): CxoneResult<T> {
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      return fail(call, 'bad_response', `${call}: response body is not JSON`);
    }
    const parsed = schema.safeParse(json);
    if (!parsed.success) return fail(call, 'bad_response', describeIssue(call, parsed.error));
    return { ok: true, value: map(parsed.data) };
  }

  async function fetchToken(): Promise<CxoneResult<Token>> {
    const body = new URLSearchParams({
      grant_type: 'client_credentials',
      client_id: options.clientId,
      client_secret: options.clientSecret,
      scope: options.scopes.join(' '),
    }).toString();
    const outcome = await attemptHonouringRateLimits('token', url(options.paths.token), () => ({
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body,
    }));
    if (outcome.kind === 'failed') return { ok: false, error: outcome.error };
    const { status, text } = outcome;
    if (status === 400 || status === 401 || status === 403) {
      // The credentials (or the grant) were refused: retrying with the same ones cannot help.
      const detail = redact(text.replace(/\s+/g, ' ').trim()).slice(0, MAX_ERROR_BODY_CHARS);
      return fail(
        'token',
        'unauthorized',
        `token: credentials refused (HTTP ${status})${detail ? `: ${detail}` : ''}`,
        status,
      );
    }
    if (status < 200 || status >= 300) return errorFor('token', status, text);
    const obtainedAt = clock.now();
    return parseBody('token', tokenSchema, text, (data) => {
      const lifetimeMs = data.expires_in * 1000;
      // Refresh early: at the earlier of a minute before expiry and 90% of the lifetime, so a
      // call never goes out with a token about to expire on the way.
      const refreshIn = Math.max(0, Math.min(lifetimeMs - 60_000, lifetimeMs * 0.9));
      return {
        value: data.access_token,
        refreshAt: obtainedAt + refreshIn,
        expiresAt: obtainedAt + lifetimeMs,
      };
    });
  }

  /** The current token, refreshing it when due; concurrent callers share one refresh. */
  async function currentToken(): Promise<CxoneResult<Token>> {
    const held = token;
    if (held && clock.now() < held.refreshAt) return { ok: true, value: held };
    if (!refreshing) {
      refreshing = fetchToken()
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
  }

  /**
   * An authenticated API call: token, attempt (with 429 waits), and on 401 one fresh token and one
   * repeat. Several calls may 401 together with the same stale token; only the first drops it, the
   * others find the new token (or the refresh in flight) and repeat with that.
   */
  async function apiCall<T>(
    call: CxoneCall,
    target: string,
    init: CallInit,
    onOk: (text: string) => CxoneResult<T>,
  ): Promise<CxoneResult<T>> {
    for (let authAttempt = 0; ; authAttempt++) {
      const tokenResult = await currentToken();
      if (!tokenResult.ok) return { ok: false, error: tokenResult.error };
      const used = tokenResult.value;
      const outcome = await attemptHonouringRateLimits(call, target, () => ({
        ...init,
        headers: { ...init.headers, authorization: `Bearer ${used.value}` },
      }));
      if (outcome.kind === 'failed') return { ok: false, error: outcome.error };
      const { status, text } = outcome;
      if (status === 401) {
        if (authAttempt >= 1) {
          return fail(call, 'unauthorized', `${call}: HTTP 401 again with a fresh token`, 401);
        }
        if (token === used) token = undefined;
        continue;
      }
      if (status >= 200 && status < 300) return onOk(text);
      return errorFor(call, status, text);
    }
  }

  const jsonHeaders = { 'content-type': 'application/json', accept: 'application/json' };

  return {
    queryCompletedConversations(pageToken) {
      const body: Record<string, unknown> = {
        query: 'status:COMPLETED',
        page_size: options.pageSize,
        sort_by: 'end_time',
        sort_order: 'desc',
      };
      if (pageToken) body.next_page_token = pageToken;
      return apiCall<ConversationPage>(
        'queryConversations',
        url(options.paths.conversationsQuery),
        { method: 'POST', headers: jsonHeaders, body: JSON.stringify(body) },
        (text) =>
          parseBody('queryConversations', conversationsSchema, text, (data) => ({
            conversations: data.conversations.map((c) => ({
              id: c.id,
              type: c.type ?? null,
              status: c.status ?? null,
              agentId: c.agent_id ? c.agent_id : null,
              startTime: c.start_time ?? null,
              endTime: c.end_time ?? null,
            })),
            nextPageToken: data.next_page_token ? data.next_page_token : null,
          })),
      );
    },

    getTranscript(conversationId) {
      return apiCall<TranscriptLine[]>(
        'getTranscript',
        url(options.paths.transcript, { conversationId }),
        { method: 'GET', headers: { accept: 'application/json' } },
        (text) =>
          parseBody('getTranscript', transcriptSchema, text, (data) =>
            data.transcript.map((line) => ({
              speaker: line.speaker ? line.speaker : 'UNKNOWN',
              text: line.text ?? '',
              timestamp:
                line.timestamp === null || line.timestamp === undefined ? '' : String(line.timestamp),
            })),
          ),
      );
    },

    getForm(formId) {
      return apiCall<QmForm>(
        'getForm',
        url(options.paths.form, { formId }),
        { method: 'GET', headers: { accept: 'application/json' } },
        (text) =>
          parseBody('getForm', formSchema, text, (data) => ({
            id: data.id,
            name: data.name ?? data.id,
            sections: data.sections.map((s) => ({
              sectionId: s.section_id,
              name: s.name ?? '',
              items: s.items.map((i) => {
                const item: QmForm['sections'][number]['items'][number] = { itemId: i.item_id, name: i.name };
                if (typeof i.max_score === 'number') item.maxScore = i.max_score;
                return item;
              }),
            })),
          })),
      );
    },

    submitEvaluation(body: EvaluationBody, idempotencyKey: string) {
      return apiCall<SubmittedEvaluation>(
        'submitEvaluation',
        url(options.paths.evaluations),
        {
          method: 'POST',
          // The same key on every attempt for one conversation and form: a repeat after a lost
          // answer gets the evaluation already made instead of a second one.
          headers: { ...jsonHeaders, 'idempotency-key': idempotencyKey },
          body: JSON.stringify(body),
        },
        (text) =>
          parseBody('submitEvaluation', evaluationSchema, text, (data) => {
            const submitted: SubmittedEvaluation = { id: data.id };
            if (data.status) submitted.status = data.status;
            return submitted;
          }),
      );
    },

    async close() {
      // Abort in-flight work and budget waits, then close the keep-alive pool this client owns.
      lifetime.abort(new Error('CXone client closed'));
      await owned?.close().catch(() => undefined);
    },
  };
}

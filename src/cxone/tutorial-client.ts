import type { Clock } from '../clock.js';
import type { TranscriptLine } from '../domain/transcript.js';
import {
  type ApiCallerOptions,
  createApiCaller,
  type ErrorMapping,
  parseJsonBody,
  type RateLimitPause,
  urlFor,
  urlOf,
} from './api-caller.js';
import { createCachedTokenSource, type GrantedToken } from './token-source.js';
import type { HttpTransport } from './transport.js';
import {
  type CxonePaths,
  conversationsSchema,
  evaluationSchema,
  formSchema,
  statedLifetimeMs,
  tokenSchema,
  transcriptSchema,
} from './tutorial-wire.js';
import {
  type ConversationPage,
  type CxoneClient,
  type CxoneResult,
  type EvaluationBody,
  type QmForm,
  type RequestBudget,
  type SubmittedEvaluation,
  TUTORIAL_BUDGET_SCOPE,
} from './types.js';

export interface TutorialClientOptions {
  baseUrl: string;
  clientId: string;
  clientSecret: string;
  scopes: readonly string[];
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
  /** Longest 429 pause honoured (CXONE_MAX_RETRY_AFTER_SECONDS). Default: the api-caller's, 5 min. */
  maxRetryAfterMs?: number;
  /** Hears of every 429 pause, to log it. */
  onRateLimited?: (pause: RateLimitPause) => void;
  /** Largest answer read, in bytes (CXONE_MAX_ANSWER_MB). Default: the api-caller's, 20 MiB. */
  maxAnswerBytes?: number;
  /** Quick repeats inside a call after a 5xx, timeout or reset (CXONE_CALL_RETRIES). Default 2. */
  transientRetries?: number;
  /** Wait before the n-th quick repeat. Default: the api-caller's (100-200 ms, then 200-400 ms). */
  transientRetryWaitMs?: (n: number) => number;
  /** Hears of every HTTP attempt (metrics); see ApiCallerOptions.onAttempt. */
  onAttempt?: ApiCallerOptions['onAttempt'];
}

/** RFC 6749's error codes: a fixed vocabulary, so naming one cannot echo anything the request held. */
const OAUTH_ERRORS = new Set([
  'invalid_request',
  'invalid_client',
  'invalid_grant',
  'unauthorized_client',
  'unsupported_grant_type',
  'invalid_scope',
]);

/**
 * The token endpoint refusing the credentials or the grant: repeating with the same ones cannot help.
 * The message names the OAuth error code when there is a registered one, and nothing else of the body:
 * a token endpoint's answer may echo the request, client secret included.
 */
const tokenRefused: ErrorMapping = ({ status, text }) => {
  if (status !== 400 && status !== 401 && status !== 403) return undefined;
  let code: unknown;
  try {
    code = (JSON.parse(text) as { error?: unknown } | null)?.error;
  } catch {
    code = undefined;
  }
  const named = typeof code === 'string' && OAUTH_ERRORS.has(code) ? `, ${code}` : '';
  return { kind: 'unauthorized', message: `token: credentials refused (HTTP ${status}${named})` };
};

/** A transcript 404 means transcription is still running: worth asking again later. */
const transcriptNotReady: ErrorMapping = ({ status }) => (status === 404 ? { kind: 'not_ready' } : undefined);

/**
 * The client of the tutorial API (docs/contract.md section 1): one per process. Its token comes from the
 * client credentials grant; everything else (the budget, timeouts, 429s, the 401 repeat, errors as
 * values, redaction) is the api-caller's, with one budget scope for every call: the tutorial API is
 * one API, so a 429 from any of its calls pauses them all.
 */
export function createTutorialClient(options: TutorialClientOptions): CxoneClient {
  const scope = TUTORIAL_BUDGET_SCOPE;
  // Paths without parameters: nothing to refuse.
  const url = (template: string) => urlOf(options.baseUrl, template);
  const defaultRetryAfterMs = options.defaultRetryAfterMs ?? 5000;
  const optional = <K extends keyof TutorialClientOptions>(key: K) =>
    options[key] === undefined ? {} : { [key]: options[key] };

  const caller = createApiCaller({
    timeoutMs: options.timeoutMs,
    budget: options.budget,
    clock: options.clock,
    ...optional('fetch'),
    ...optional('maxRateLimitWaits'),
    ...optional('maxRetryAfterMs'),
    ...optional('onRateLimited'),
    ...optional('maxAnswerBytes'),
    ...optional('transientRetries'),
    ...optional('transientRetryWaitMs'),
    // The tutorial API sends Retry-After; when it does not, a fixed wait, as the tutorial does.
    rateLimitWaitMs: () => defaultRetryAfterMs,
    secrets: () => [options.clientSecret, tokens.held?.value],
    ...(options.onAttempt ? { onAttempt: options.onAttempt } : {}),
  });

  const tokenBody = new URLSearchParams({
    grant_type: 'client_credentials',
    client_id: options.clientId,
    client_secret: options.clientSecret,
    scope: options.scopes.join(' '),
  }).toString();

  const tokens = createCachedTokenSource({
    clock: options.clock,
    async grant(): Promise<CxoneResult<GrantedToken>> {
      const answer = await caller.exchange({
        call: 'token',
        scope,
        url: url(options.paths.token),
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
        body: tokenBody,
        // Repeating a client credentials grant only issues another token: safe after a lost answer.
        idempotent: true,
        sensitive: true,
      });
      if (!answer.ok) return answer;
      const { status } = answer.value;
      if (status < 200 || status >= 300) {
        return { ok: false, error: caller.errorOf('token', answer.value, tokenRefused) };
      }
      return parseJsonBody('token', tokenSchema, answer.value.text, (data) => ({
        value: data.access_token,
        lifetimeMs: statedLifetimeMs(data.expires_in),
      }));
    },
  });

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
      return caller.call<ConversationPage>(
        {
          call: 'queryConversations',
          scope,
          auth: tokens,
          url: url(options.paths.conversationsQuery),
          method: 'POST',
          headers: jsonHeaders,
          body: JSON.stringify(body),
          // A POST only to carry the query: it reads, so a repeat changes nothing.
          idempotent: true,
        },
        ({ text }) =>
          parseJsonBody('queryConversations', conversationsSchema, text, (data) => ({
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

    async getTranscript(conversationId) {
      // An id that cannot be a path segment (`..`, a lone surrogate) is refused here, not sent.
      const where = urlFor('getTranscript', options.baseUrl, options.paths.transcript, { conversationId });
      if (!where.ok) return where;
      return caller.call<TranscriptLine[]>(
        {
          call: 'getTranscript',
          scope,
          auth: tokens,
          mapError: transcriptNotReady,
          url: where.value,
          method: 'GET',
          headers: { accept: 'application/json' },
        },
        ({ text }) =>
          parseJsonBody('getTranscript', transcriptSchema, text, (data) =>
            data.transcript.map((line) => ({
              speaker: line.speaker ? line.speaker : 'UNKNOWN',
              text: line.text ?? '',
              timestamp:
                line.timestamp === null || line.timestamp === undefined ? '' : String(line.timestamp),
            })),
          ),
      );
    },

    async getForm(formId) {
      const where = urlFor('getForm', options.baseUrl, options.paths.form, { formId });
      if (!where.ok) return where;
      return caller.call<QmForm>(
        {
          call: 'getForm',
          scope,
          auth: tokens,
          url: where.value,
          method: 'GET',
          headers: { accept: 'application/json' },
        },
        ({ text }) =>
          parseJsonBody('getForm', formSchema, text, (data) => ({
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
      return caller.call<SubmittedEvaluation>(
        {
          call: 'submitEvaluation',
          scope,
          auth: tokens,
          url: url(options.paths.evaluations),
          method: 'POST',
          // The same key on every attempt for one conversation and form: a repeat after a lost
          // answer gets the evaluation already made instead of a second one.
          headers: { ...jsonHeaders, 'idempotency-key': idempotencyKey },
          body: JSON.stringify(body),
          // Safe to repeat after a 5xx or a timeout only because of that key (a POST without it
          // could make a second evaluation): the quick repeats inside the call rely on it.
          idempotent: true,
        },
        ({ text, status }) =>
          parseJsonBody('submitEvaluation', evaluationSchema, text, (data) => {
            const submitted: SubmittedEvaluation = { id: data.id };
            if (data.status) submitted.status = data.status;
            // 201 Created is a new evaluation; 200 the one CXone already had for this key (the API
            // answers a repeated Idempotency-Key with the evaluation it already made).
            if (status === 200) submitted.alreadyEvaluated = true;
            if (typeof data.overall_score === 'number') submitted.overallScore = data.overall_score;
            return submitted;
          }),
      );
    },

    pausedUntil: () => caller.pausedUntil(scope),

    close: () => caller.close(),
  };
}

import type { Clock } from '../clock.js';
import type { TranscriptLine } from '../domain/transcript.js';
import { createApiCaller, type ErrorMapping, parseJsonBody, urlOf } from './api-caller.js';
import { createCachedTokenSource, type GrantedToken } from './token-source.js';
import type { HttpTransport } from './transport.js';
import {
  type CxonePaths,
  conversationsSchema,
  evaluationSchema,
  formSchema,
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
}

/** The token endpoint refusing the credentials or the grant: repeating with the same ones cannot help. */
const tokenRefused: ErrorMapping = ({ status, excerpt }) =>
  status === 400 || status === 401 || status === 403
    ? {
        kind: 'unauthorized',
        message: `token: credentials refused (HTTP ${status})${excerpt ? `: ${excerpt}` : ''}`,
      }
    : undefined;

/** A transcript 404 means transcription is still running: worth asking again later. */
const transcriptNotReady: ErrorMapping = ({ status }) => (status === 404 ? { kind: 'not_ready' } : undefined);

/**
 * The client of the tutorial API (contract section 1): one per process. Its token comes from the
 * client credentials grant; everything else (the budget, timeouts, 429s, the 401 repeat, errors as
 * values, redaction) is the api-caller's, with one budget scope for every call: the tutorial API is
 * one API, so a 429 from any of its calls pauses them all.
 */
export function createTutorialClient(options: TutorialClientOptions): CxoneClient {
  const scope = TUTORIAL_BUDGET_SCOPE;
  const url = (template: string, params?: Record<string, string>) => urlOf(options.baseUrl, template, params);
  const defaultRetryAfterMs = options.defaultRetryAfterMs ?? 5000;

  const caller = createApiCaller({
    timeoutMs: options.timeoutMs,
    budget: options.budget,
    clock: options.clock,
    ...(options.fetch ? { fetch: options.fetch } : {}),
    ...(options.maxRateLimitWaits !== undefined ? { maxRateLimitWaits: options.maxRateLimitWaits } : {}),
    // The tutorial API sends Retry-After; when it does not, a fixed wait, as the tutorial does.
    rateLimitWaitMs: () => defaultRetryAfterMs,
    secrets: () => [options.clientSecret, tokens.held?.value],
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
      });
      if (!answer.ok) return answer;
      const { status } = answer.value;
      if (status < 200 || status >= 300) {
        return { ok: false, error: caller.errorOf('token', answer.value, tokenRefused) };
      }
      return parseJsonBody('token', tokenSchema, answer.value.text, (data) => ({
        value: data.access_token,
        lifetimeMs: data.expires_in * 1000,
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

    getTranscript(conversationId) {
      return caller.call<TranscriptLine[]>(
        {
          call: 'getTranscript',
          scope,
          auth: tokens,
          mapError: transcriptNotReady,
          url: url(options.paths.transcript, { conversationId }),
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

    getForm(formId) {
      return caller.call<QmForm>(
        {
          call: 'getForm',
          scope,
          auth: tokens,
          url: url(options.paths.form, { formId }),
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
        },
        ({ text }) =>
          parseJsonBody('submitEvaluation', evaluationSchema, text, (data) => {
            const submitted: SubmittedEvaluation = { id: data.id };
            if (data.status) submitted.status = data.status;
            return submitted;
          }),
      );
    },

    close: () => caller.close(),
  };
}

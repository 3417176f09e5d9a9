import type { TranscriptLine } from '../domain/transcript.js';

/**
 * The CXone boundary as the rest of the service sees it. Expected failures are values: every call
 * answers a CxoneResult, and its error says whether trying again later can help.
 */

/** Every call a client makes, named in its errors; a new client adds its own (src/cxone/api-caller.ts). */
export type CxoneCall =
  // The tutorial API (the token call is common to both profiles).
  | 'token'
  | 'queryConversations'
  | 'getTranscript'
  | 'getForm'
  | 'submitEvaluation'
  // NICE CXone's documented APIs (the platform profile).
  | 'oidcDiscovery'
  | 'apiDiscovery'
  | 'completedContacts'
  | 'contactMedia'
  | 'segmentTranscript'
  | 'businessData';

export type CxoneErrorKind =
  | 'not_ready' // transcript 404: transcription still running
  | 'not_found' // other 404s
  | 'unauthorized' // credentials refused (token call 400/401, or a 401 that a fresh token did not cure)
  | 'forbidden' // 403: missing scope
  | 'rejected' // 422 / other 4xx: the request itself is wrong; repeating it cannot help
  | 'rate_limited' // 429 that outlasted the client's own waiting
  | 'server' // 5xx
  | 'timeout'
  | 'network'
  | 'bad_response' // 2xx whose body is not the documented shape (an HTML page, empty): retryable
  | 'too_large'; // an answer over the size cap (CXONE_MAX_ANSWER_MB): not retryable

export interface CxoneError {
  kind: CxoneErrorKind;
  call: CxoneCall;
  /**
   * True when the same call later may succeed (5xx, 429, timeouts, network, transcript not ready, an
   * answer of the wrong shape).
   */
  retryable: boolean;
  status?: number;
  message: string;
}

export type CxoneResult<T> = { ok: true; value: T } | { ok: false; error: CxoneError };

export interface ConversationSummary {
  id: string;
  type?: string | null;
  status?: string | null;
  agentId: string | null;
  startTime: string | null;
  endTime: string | null;
}

export interface ConversationPage {
  conversations: ConversationSummary[];
  nextPageToken: string | null;
}

export interface QmFormItem {
  itemId: string;
  name: string;
  maxScore?: number;
}

export interface QmForm {
  id: string;
  name: string;
  sections: { sectionId: string; name: string; items: QmFormItem[] }[];
}

/** The evaluation body exactly as docs/contract.md section 1 shows it (snake_case on the wire). */
export interface EvaluationBody {
  form_id: string;
  agent_id: string;
  conversation_id: string;
  sections: { section_id: string; items: { item_id: string; score: number; comment: string }[] }[];
  overall_score: number;
  comment: string;
}

export interface SubmittedEvaluation {
  id: string;
  status?: string;
  /**
   * CXone answered with an evaluation it had already made for this conversation and form: the answer
   * to a repeated Idempotency-Key (200, where a new evaluation is 201 Created; docs/contract.md). Made
   * by an earlier attempt whose answer was lost, by another database, or under an earlier rubric: that
   * evaluation stands, and what this run scored is not in CXone.
   */
  alreadyEvaluated?: boolean;
  /** The overall score of the evaluation CXone answered with, when its answer carries one. */
  overallScore?: number;
}

export interface CxoneClient {
  /** One page of completed conversations, newest first. */
  queryCompletedConversations(pageToken?: string | null): Promise<CxoneResult<ConversationPage>>;
  /** 404 while transcription runs comes back as error kind `not_ready`. */
  getTranscript(conversationId: string): Promise<CxoneResult<TranscriptLine[]>>;
  getForm(formId: string): Promise<CxoneResult<QmForm>>;
  /** `idempotencyKey` is the same on every attempt for one conversation and form. */
  submitEvaluation(body: EvaluationBody, idempotencyKey: string): Promise<CxoneResult<SubmittedEvaluation>>;
  /**
   * When the 429 pause of this client's API in force now ends (epoch ms), or null: what to tell an
   * operator whose call never went out. Optional: a client that cannot tell leaves it out.
   */
  pausedUntil?(): number | null;
  /** Closes keep-alive connections. */
  close(): Promise<void>;
}

/**
 * The whole process's (or, shared through SQLite, the whole service's) CXone call budget. Every HTTP
 * call to CXone, the token call included, first acquires a slot.
 *
 * The sliding-minute budget is one for every call. A 429 pause is per *scope*: the API that said "slow
 * down" (CXone rate-limits each API on its own, so a 429 from one must not stop the others). A client
 * whose APIs share one limit uses one scope for all its calls (the tutorial client does).
 */
export interface RequestBudget {
  /**
   * Resolves when one more call fits the budget over every sliding minute and no 429 pause of `scope`
   * is active. Callers of a paused scope wait without holding up callers of other scopes.
   */
  acquire(signal?: AbortSignal, scope?: string): Promise<void>;
  /** A 429 from the API `scope` said to wait: no call of that scope before `untilMs` (epoch ms). */
  pauseUntil(untilMs: number, scope?: string): void;
  /**
   * When the pause of `scope` ends (epoch ms; 0 or a past time when there is none), as `acquire`
   * would honour it. Optional, for messages ("paused by CXone until ...").
   */
  pausedUntil?(scope?: string): number;
}

/** The scope of a call that names none. */
export const DEFAULT_BUDGET_SCOPE = 'default';

/**
 * The tutorial API's one scope. Also the scope of a pause persisted before pauses had scopes (the
 * tutorial API was the only one then): see the `budget_state` table.
 */
export const TUTORIAL_BUDGET_SCOPE = 'tutorial';

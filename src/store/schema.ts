import { sql } from 'drizzle-orm';
import { index, integer, primaryKey, real, sqliteTable, text, uniqueIndex } from 'drizzle-orm/sqlite-core';
import { TUTORIAL_BUDGET_SCOPE } from '../cxone/types.js';

/**
 * Every verified webhook delivery, keyed by its `webhook-id`: the key Standard Webhooks keeps
 * across redeliveries, so a retry of a delivery we already committed changes nothing.
 */
export const webhookEvents = sqliteTable('webhook_events', {
  webhookId: text('webhook_id').primaryKey(),
  eventId: text('event_id').notNull(),
  type: text('type').notNull(),
  conversationId: text('conversation_id'),
  occurredAt: text('occurred_at').notNull(),
  receivedAt: integer('received_at').notNull(),
  payload: text('payload').notNull(),
});

export const JOB_STATES = [
  // Known from transcript.ready alone: nobody has told us the agent yet.
  'waiting_agent',
  // Agent known; the transcript was not ready (404) or has not been announced yet.
  'waiting_transcript',
  // Ready to run at next_attempt_at (new work, or a retry after a transient failure).
  'due',
  // Leased by lease_owner until lease_expires_at; an expired lease means its process died.
  'in_progress',
  // Terminal states.
  'submitted',
  'skipped',
  'failed',
] as const;
export type JobState = (typeof JOB_STATES)[number];

/**
 * Why a job is where it is, as programs act on it (the text beside it is for people). Each code
 * belongs to one state; a job that is due, in progress or submitted for the first time has none.
 */
export const REASON_CODES = [
  // skipped: no source named an agent. Revived when a later webhook or sweep names one.
  'no_agent',
  // skipped: the transcript has no words to score.
  'empty_transcript',
  // skipped: CXone has no transcript to give for this conversation (platform profile: no IA licence,
  // a call not recorded, an email); the text says what the operator would have to change.
  'no_transcript_source',
  // waiting_transcript: the last fetch answered 404 (transcription still running).
  'transcript_not_ready',
  // failed: still 404 when TRANSCRIPT_MAX_WAIT_HOURS had passed.
  'transcript_timeout',
  // due: a 5xx, timeout, network error, 429, or an answer of the wrong shape (an HTML page, an empty
  // body); retried with backoff.
  'transient',
  // due: the run failed in a way nobody expected (a bug, a database fault); retried like 'transient'.
  'unexpected',
  // due: CXone refused the credentials (401 after a fresh token, or 403); waits for the operator.
  'credentials_refused',
  // failed: transient or unexpected failures outlasted MAX_ATTEMPTS. Not final: the next sweep that
  // still lists the conversation makes it due again, so an outage loses nothing.
  'attempts_exhausted',
  // failed: the destination refused the request; repeating it cannot help (a 422 or other 4xx, a 404
  // of something that must exist, an id that cannot be sent).
  'rejected',
  // failed: the run kept failing in a way nobody expected (a bug, data the service cannot handle)
  // until MAX_ATTEMPTS ran out. Unlike 'attempts_exhausted' the sweep does not revive it: only an
  // operator's requeue, once the cause is fixed.
  'job_error',
  // failed at claim: the conversation id does not read back from the database as it was stored (not
  // well-formed Unicode), so no transition could ever address the row. Never run.
  'invalid_id',
  // failed: an answer larger than CXONE_MAX_ANSWER_MB (it would be as large next time). Raising the
  // setting and `npm run requeue` brings it back.
  'too_large',
] as const;
export type ReasonCode = (typeof REASON_CODES)[number];

/**
 * One row per conversation and QM form: the unit of "exactly one evaluation per form".
 */
export const jobs = sqliteTable(
  'jobs',
  {
    conversationId: text('conversation_id').notNull(),
    formId: text('form_id').notNull(),
    agentId: text('agent_id'),
    mediaType: text('media_type'),
    startTime: text('start_time'),
    endTime: text('end_time'),
    /** What first told us of the conversation: 'webhook' or 'sweep'. */
    source: text('source').notNull(),
    state: text('state', { enum: JOB_STATES }).notNull(),
    /** Why a job is skipped or failed, or what its last wait or retry was for; null otherwise. */
    reasonCode: text('reason_code', { enum: REASON_CODES }),
    /** The same for people (CXone's answer, how long was waited). Programs act on reasonCode only. */
    reason: text('reason'),
    /** transcript.ready was received: no need to wait before fetching. */
    transcriptAnnounced: integer('transcript_announced', { mode: 'boolean' }).notNull().default(false),
    /**
     * Runs of this job that ended in an error: transient (5xx, timeout, network, 429, unexpected) or
     * final (a rejection). A 404 while the transcript is being made counts in transcriptChecks
     * instead, and refused credentials in neither: they are the operator's to fix, not the job's.
     */
    attempts: integer('attempts').notNull().default(0),
    /** How many times the transcript answered 404. */
    transcriptChecks: integer('transcript_checks').notNull().default(0),
    firstSeenAt: integer('first_seen_at').notNull(),
    nextAttemptAt: integer('next_attempt_at').notNull(),
    leaseOwner: text('lease_owner'),
    leaseExpiresAt: integer('lease_expires_at'),
    evaluationId: text('evaluation_id'),
    /**
     * Where the result was delivered besides this database, when it was submitted: 'cxone-qm' (a QM
     * evaluation, `evaluation_id`), 'cxone-business-data' (written to the contact) or 'none'.
     */
    deliveredTo: text('delivered_to', { enum: ['cxone-qm', 'cxone-business-data', 'none'] }),
    overallScore: real('overall_score'),
    rubricName: text('rubric_name'),
    rubricVersion: text('rubric_version'),
    rubricHash: text('rubric_hash'),
    /** Per-rule results as JSON (outcome, score, comment): what agents and reviewers read. */
    resultJson: text('result_json'),
    finishedAt: integer('finished_at'),
    createdAt: integer('created_at').notNull(),
    updatedAt: integer('updated_at').notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.conversationId, t.formId] }),
    index('jobs_runnable_idx').on(t.state, t.nextAttemptAt),
    index('jobs_lease_idx').on(t.leaseExpiresAt).where(sql`${t.state} = 'in_progress'`),
  ],
);

/** One row per reconciliation pass; the last successful one's start is the next pass's watermark. */
export const sweeps = sqliteTable('sweeps', {
  id: integer('id').primaryKey({ autoIncrement: true }),
  owner: text('owner').notNull(),
  startedAt: integer('started_at').notNull(),
  finishedAt: integer('finished_at'),
  status: text('status', { enum: ['running', 'ok', 'failed'] }).notNull(),
  pages: integer('pages').notNull().default(0),
  seen: integer('seen').notNull().default(0),
  created: integer('created').notNull().default(0),
  error: text('error'),
});

/**
 * The CXone call budget shared by every process on this database: how many calls were granted in
 * each second, and the 429 pause. A per-process budget would let `npm start` and `npm run sweep`
 * together spend twice the service's budget. Per-second counts (not a row per call) keep the check
 * at a sum over at most 61 rows, however large the budget.
 */
export const budgetSeconds = sqliteTable('budget_seconds', {
  second: integer('second').primaryKey(),
  grants: integer('grants').notNull(),
});

/**
 * The 429 pauses, one row per scope (the API that answered 429; see RequestBudget). `id` is only the
 * row's id: before pauses had scopes there was one row (id 1), the tutorial API's, the only API then;
 * the column default carries that row over as the tutorial scope's pause.
 */
export const budgetState = sqliteTable(
  'budget_state',
  {
    id: integer('id').primaryKey(),
    scope: text('scope').notNull().default(TUTORIAL_BUDGET_SCOPE),
    pausedUntil: integer('paused_until').notNull().default(0),
  },
  (t) => [uniqueIndex('budget_state_scope_idx').on(t.scope)],
);

/**
 * One row the readiness probe rewrites (src/store/db.ts createWriteProbe): /readyz is 200 only while a
 * commit to this database succeeds, and a commit is the only thing that shows a full disk.
 */
export const storeProbe = sqliteTable('store_probe', {
  id: integer('id').primaryKey(),
  checkedAt: integer('checked_at').notNull(),
});

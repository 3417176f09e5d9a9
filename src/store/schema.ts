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
    /** Why a job is skipped/failed, or what the last retry was for. */
    reason: text('reason'),
    /** transcript.ready was received: no need to wait before fetching. */
    transcriptAnnounced: integer('transcript_announced', { mode: 'boolean' }).notNull().default(false),
    /** Attempts that ended in a transient failure (5xx, timeout, network, 429). */
    attempts: integer('attempts').notNull().default(0),
    /**
     * Failed only because transient errors (5xx, timeouts, 429s) outlasted MAX_ATTEMPTS: the next
     * sweep that still lists the conversation makes it due again, so an outage loses nothing.
     */
    retryBySweep: integer('retry_by_sweep', { mode: 'boolean' }).notNull().default(false),
    /** How many times the transcript answered 404. */
    transcriptChecks: integer('transcript_checks').notNull().default(0),
    firstSeenAt: integer('first_seen_at').notNull(),
    nextAttemptAt: integer('next_attempt_at').notNull(),
    leaseOwner: text('lease_owner'),
    leaseExpiresAt: integer('lease_expires_at'),
    evaluationId: text('evaluation_id'),
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

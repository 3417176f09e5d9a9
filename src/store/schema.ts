import { sql } from 'drizzle-orm';
import {
  blob,
  index,
  integer,
  primaryKey,
  real,
  sqliteTable,
  text,
  uniqueIndex,
} from 'drizzle-orm/sqlite-core';
import { TUTORIAL_BUDGET_SCOPE } from '../cxone/types.js';

/**
 * Every verified webhook delivery, keyed by its `webhook-id`: the key Standard Webhooks keeps
 * across redeliveries, so a retry of a delivery we already committed changes nothing.
 */
export const webhookEvents = sqliteTable(
  'webhook_events',
  {
    webhookId: text('webhook_id').primaryKey(),
    eventId: text('event_id').notNull(),
    type: text('type').notNull(),
    conversationId: text('conversation_id'),
    occurredAt: text('occurred_at').notNull(),
    receivedAt: integer('received_at').notNull(),
    payload: text('payload').notNull(),
  },
  // A conversation's deliveries, for its history in the console; retention deletes the oldest in
  // small batches and status reads the latest, walking the received_at index (millions of rows at
  // 20,000 conversations a day).
  (t) => [
    index('webhook_events_conversation_idx').on(t.conversationId).where(sql`${t.conversationId} IS NOT NULL`),
    index('webhook_events_received_idx').on(t.receivedAt),
  ],
);

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
  // submitted: CXone answered the submission with an evaluation it had already made for this
  // conversation and form (a repeated Idempotency-Key: made by an earlier run, another database, or an
  // earlier rubric). That earlier evaluation stands; this run's scores are kept here only.
  'already_evaluated',
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
    /**
     * No longer written (NULL): the per-rule results are in `results`. Kept so that upgrading needs no
     * rewrite of the jobs table; values written by earlier versions go with their jobs (RETENTION_DAYS).
     */
    resultJson: text('result_json'),
    finishedAt: integer('finished_at'),
    createdAt: integer('created_at').notNull(),
    updatedAt: integer('updated_at').notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.conversationId, t.formId] }),
    index('jobs_runnable_idx').on(t.state, t.nextAttemptAt),
    index('jobs_lease_idx').on(t.leaseExpiresAt).where(sql`${t.state} = 'in_progress'`),
    // Retention deletes finished jobs oldest first, a small batch at a time.
    index('jobs_finished_idx').on(t.finishedAt),
    // `npm run status` finds the jobs with a given reason (already evaluated, ...) among millions of
    // submitted ones without reading them all; most jobs have no reason code and stay out of it.
    index('jobs_reason_idx').on(t.reasonCode, t.finishedAt).where(sql`${t.reasonCode} IS NOT NULL`),
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

// ---------------------------------------------------------------------------------------------
// Results, reviews and the console's accounts (docs/contract.md §8).
// ---------------------------------------------------------------------------------------------

export const RULE_OUTCOMES = ['pass', 'fail', 'na'] as const;
export const DELIVERY_STATES = ['delivered', 'pending', 'failed', 'not_configured'] as const;
export type DeliveryState = (typeof DELIVERY_STATES)[number];

/**
 * One scored conversation per destination (the job's `form_id`: a QM form in the tutorial profile,
 * a rubric key in the platform profile): exactly one row per (conversation, destination), written in
 * the transaction of the job transition that scored it, and replaced in place if the job is scored
 * again (a retry of a delivery), so reviews keep pointing at it.
 */
export const results = sqliteTable(
  'results',
  {
    id: integer('id').primaryKey(),
    conversationId: text('conversation_id').notNull(),
    destination: text('destination').notNull(),
    agentId: text('agent_id').notNull(),
    mediaType: text('media_type'),
    startTime: text('start_time'),
    endTime: text('end_time'),
    /** Milliseconds since the epoch; the results' order (newest first) is (evaluated_at, id). */
    evaluatedAt: integer('evaluated_at').notNull(),
    /** evaluated_at's calendar day in the console's TIME_ZONE when it was written (for the rollups). */
    day: text('day').notNull(),
    /** The composite as delivered: 0-100, two decimals; 0 when a critical rule failed. */
    overallScore: real('overall_score').notNull(),
    /** 1 unless a critical rule failed (docs/contract.md §7: `result` pass or fail). */
    passed: integer('passed', { mode: 'boolean' }).notNull(),
    criticalFailure: text('critical_failure'),
    rubricName: text('rubric_name').notNull(),
    rubricVersion: text('rubric_version').notNull(),
    rubricHash: text('rubric_hash').notNull(),
    /** Every rule: name, outcome, score, weight, critical, evidence, comment (JSON). */
    rulesJson: text('rules_json').notNull(),
    /** The evaluation comment as delivered. */
    comment: text('comment').notNull(),
    /** Where the result goes besides this database: 'cxone-qm', 'cxone-business-data', or null. */
    deliveryTarget: text('delivery_target'),
    deliveryState: text('delivery_state', { enum: DELIVERY_STATES }).notNull(),
    /** The id the destination gave it (a QM evaluation id). */
    deliveryId: text('delivery_id'),
    deliveredAt: integer('delivered_at'),
    /** Why it is not delivered (yet), for people. */
    deliveryNote: text('delivery_note'),
    /** Verdicts recorded by reviewers, and when the last one was. */
    reviewCount: integer('review_count').notNull().default(0),
    reviewedAt: integer('reviewed_at'),
    updatedAt: integer('updated_at').notNull(),
  },
  (t) => [
    uniqueIndex('results_conversation_destination_idx').on(t.conversationId, t.destination),
    // Newest first, with the columns most filters test, so a filtered page is read from the index
    // alone until it has its rows (no table lookups for rows the filter drops).
    index('results_time_idx').on(t.evaluatedAt, t.id, t.overallScore, t.passed, t.reviewCount, t.agentId),
    index('results_agent_time_idx').on(t.agentId, t.evaluatedAt),
    index('results_critical_time_idx').on(t.evaluatedAt).where(sql`${t.passed} = 0`),
    index('results_reviewed_time_idx').on(t.evaluatedAt).where(sql`${t.reviewCount} > 0`),
  ],
);

/**
 * Each rule's outcome per result, for "failed rule X" lists and per-rule figures over 200,000
 * results: an index range per (rule, outcome), newest first.
 */
export const resultRules = sqliteTable(
  'result_rules',
  {
    resultId: integer('result_id')
      .notNull()
      .references(() => results.id, { onDelete: 'cascade' }),
    rule: text('rule').notNull(),
    outcome: text('outcome', { enum: RULE_OUTCOMES }).notNull(),
    score: real('score'),
    evaluatedAt: integer('evaluated_at').notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.resultId, t.rule] }),
    index('result_rules_rule_time_idx').on(t.rule, t.outcome, t.evaluatedAt, t.resultId),
  ],
);

/**
 * Per day (in the console's TIME_ZONE), destination and agent: what the overview and agents pages
 * add up, kept in the transaction that writes each result instead of scanning 200,000 results per
 * page view.
 */
export const dailyStats = sqliteTable(
  'daily_stats',
  {
    destination: text('destination').notNull(),
    day: text('day').notNull(),
    agentId: text('agent_id').notNull(),
    results: integer('results').notNull(),
    scoreSum: real('score_sum').notNull(),
    passed: integer('passed').notNull(),
    criticalFailed: integer('critical_failed').notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.destination, t.day, t.agentId] }),
    index('daily_stats_day_idx').on(t.day),
    index('daily_stats_agent_idx').on(t.agentId, t.day),
  ],
);

/** Per day, destination, agent and rule: an agent's per-rule pass rates without reading their results. */
export const dailyAgentRuleStats = sqliteTable(
  'daily_agent_rule_stats',
  {
    destination: text('destination').notNull(),
    day: text('day').notNull(),
    agentId: text('agent_id').notNull(),
    rule: text('rule').notNull(),
    passes: integer('passes').notNull(),
    fails: integer('fails').notNull(),
    nas: integer('nas').notNull(),
  },
  // The day index: retention (RESULTS_RETENTION_DAYS) deletes the days past the window a batch at a
  // time; the key starts with the agent, so without it every batch would read the whole table.
  (t) => [
    primaryKey({ columns: [t.agentId, t.day, t.destination, t.rule] }),
    index('daily_agent_rule_stats_day_idx').on(t.day),
  ],
);

export const dailyRuleStats = sqliteTable(
  'daily_rule_stats',
  {
    destination: text('destination').notNull(),
    day: text('day').notNull(),
    rule: text('rule').notNull(),
    passes: integer('passes').notNull(),
    fails: integer('fails').notNull(),
    nas: integer('nas').notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.destination, t.day, t.rule] }),
    index('daily_rule_stats_day_idx').on(t.day),
  ],
);

/**
 * The transcript each result was scored from, compressed (gzip), for reviewers and backtests.
 * One per conversation; `stored_at` lets retention (RETENTION_DAYS) delete old ones in batches.
 */
export const transcripts = sqliteTable(
  'transcripts',
  {
    conversationId: text('conversation_id').primaryKey(),
    storedAt: integer('stored_at').notNull(),
    /** 'gzip': gzip of the JSON array of lines. */
    codec: text('codec').notNull(),
    lines: integer('lines').notNull(),
    body: blob('body', { mode: 'buffer' }).notNull(),
  },
  (t) => [index('transcripts_stored_at_idx').on(t.storedAt)],
);

export const ROLES = ['admin', 'reviewer', 'viewer'] as const;
export type Role = (typeof ROLES)[number];

export const users = sqliteTable(
  'users',
  {
    id: integer('id').primaryKey(),
    /** Unique ignoring case (COLLATE NOCASE in the migration's index). */
    name: text('name').notNull(),
    role: text('role', { enum: ROLES }).notNull(),
    /** scrypt$N$r$p$salt$hash (base64): parameters travel with the hash so they can be raised later. */
    passwordHash: text('password_hash').notNull(),
    createdAt: integer('created_at').notNull(),
    updatedAt: integer('updated_at').notNull(),
  },
  (t) => [uniqueIndex('users_name_idx').on(sql`${t.name} COLLATE NOCASE`)],
);

/**
 * Console sessions. The cookie holds a random token; only its SHA-256 is stored, so a copy of the
 * database opens no session.
 */
export const sessions = sqliteTable(
  'sessions',
  {
    idHash: text('id_hash').primaryKey(),
    userId: integer('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    /** Per session: echoed by every state-changing form. */
    csrfToken: text('csrf_token').notNull(),
    createdAt: integer('created_at').notNull(),
    lastSeenAt: integer('last_seen_at').notNull(),
    expiresAt: integer('expires_at').notNull(),
  },
  (t) => [index('sessions_expires_idx').on(t.expiresAt), index('sessions_user_idx').on(t.userId)],
);

/** Tokens for scripts (`Authorization: Bearer ...`), stored as SHA-256; shown once when made. */
export const apiTokens = sqliteTable(
  'api_tokens',
  {
    id: integer('id').primaryKey(),
    userId: integer('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    tokenHash: text('token_hash').notNull(),
    /** The token's first characters, to tell tokens apart in `npm run user -- list`. */
    prefix: text('prefix').notNull(),
    createdAt: integer('created_at').notNull(),
    lastUsedAt: integer('last_used_at'),
  },
  (t) => [uniqueIndex('api_tokens_hash_idx').on(t.tokenHash), index('api_tokens_user_idx').on(t.userId)],
);

/**
 * Failed sign-ins per user name and per client address, for slowing down guessing. A guesser who
 * varies names and addresses adds rows; retention deletes the ones that no longer slow anyone down
 * (by last failure, through its index).
 */
export const loginThrottle = sqliteTable(
  'login_throttle',
  {
    key: text('key').primaryKey(),
    failures: integer('failures').notNull(),
    lastFailureAt: integer('last_failure_at').notNull(),
    blockedUntil: integer('blocked_until').notNull(),
  },
  (t) => [index('login_throttle_last_failure_idx').on(t.lastFailureAt)],
);

export const VERDICTS = ['agree', 'pass', 'fail', 'na'] as const;
export type Verdict = (typeof VERDICTS)[number];

/**
 * A reviewer's verdict on one rule of one result: `agree`, or the outcome they would have given.
 * One per (result, rule, reviewer): a reviewer who changes their mind replaces their verdict.
 */
export const reviews = sqliteTable(
  'reviews',
  {
    id: integer('id').primaryKey(),
    resultId: integer('result_id')
      .notNull()
      .references(() => results.id, { onDelete: 'cascade' }),
    rule: text('rule').notNull(),
    /** Kept when the account is removed: who reviewed what stays readable. */
    reviewerId: integer('reviewer_id').references(() => users.id, { onDelete: 'set null' }),
    reviewer: text('reviewer').notNull(),
    verdict: text('verdict', { enum: VERDICTS }).notNull(),
    /** The engine's outcome when the verdict was given, and the reviewer's (the same when `agree`). */
    engineOutcome: text('engine_outcome', { enum: RULE_OUTCOMES }).notNull(),
    reviewerOutcome: text('reviewer_outcome', { enum: RULE_OUTCOMES }).notNull(),
    note: text('note'),
    createdAt: integer('created_at').notNull(),
  },
  (t) => [
    uniqueIndex('reviews_result_rule_reviewer_idx').on(t.resultId, t.rule, t.reviewer),
    // A result's verdicts in the order pages list them (oldest first), without a sort: the results
    // API's page of 1,000 reviewed results reads 9,000 of them.
    index('reviews_result_time_idx').on(t.resultId, t.createdAt),
    index('reviews_created_idx').on(t.createdAt),
    index('reviews_rule_idx').on(t.rule, t.engineOutcome, t.reviewerOutcome),
  ],
);

/** Small facts the console keeps about its own tables (e.g. the time zone the rollups use). */
export const consoleMeta = sqliteTable('console_meta', {
  key: text('key').primaryKey(),
  value: text('value').notNull(),
});

/**
 * Webhooks refused for their signature, counted per minute and reason (src/store/signature-failures.ts).
 * The service adds to it at most once a minute (not per request: an unauthenticated sender must not
 * be able to make the service write), so `npm run status`, another process, can say that webhooks are
 * being refused (a wrong WEBHOOK_SECRET goes unnoticed otherwise: the sweep quietly makes up for it).
 */
export const signatureFailures = sqliteTable(
  'signature_failures',
  {
    /** Epoch minute (ms / 60,000) the failures happened in. */
    minute: integer('minute').notNull(),
    /** missing_headers, bad_timestamp, stale, future or no_match (src/http/signature.ts). */
    reason: text('reason').notNull(),
    failures: integer('failures').notNull(),
    /** Time of the last failure counted in the row (epoch ms). */
    lastAt: integer('last_at').notNull(),
  },
  (t) => [primaryKey({ columns: [t.minute, t.reason] })],
);

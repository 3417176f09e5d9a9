import { INSERT_SQL, SELECT_LIST } from './job-rows.js';

/**
 * Every statement the job queue runs, each a transition or a query of its own: "what does failing
 * a job write" is answered here, and nothing outside src/store writes job rows. JobStore prepares
 * them all once; the ingest path runs them for every webhook and the worker for every job.
 *
 * Parameters are bound by name: @conversationId and @formId name the job, @now is the time of the
 * change, @owner the process whose lease a worker transition is fenced by.
 */

const KEY = 'conversation_id = @conversationId AND form_id = @formId';

/**
 * A worker's write is fenced by its lease: when the lease expired and another process took the job
 * over, the late write changes nothing (and the transition answers false).
 */
const LEASED = `${KEY} AND lease_owner = @owner AND state = 'in_progress'`;
const END_LEASE = 'lease_owner = NULL, lease_expires_at = NULL, updated_at = @now';

/** What a source tells us fills what we did not know yet; it never overwrites an earlier source. */
const LEARN =
  'agent_id = coalesce(agent_id, @agentId), media_type = coalesce(media_type, @mediaType), start_time = coalesce(start_time, @startTime), end_time = coalesce(end_time, @endTime), updated_at = @now';

/** A job that ended (or was skipped) becomes live again: no reason, not finished. */
const REOPEN = 'reason_code = NULL, reason = NULL, finished_at = NULL';

export const JOB_SQL = {
  // ---- Reads --------------------------------------------------------------------------------
  find: `SELECT ${SELECT_LIST} FROM jobs WHERE ${KEY}`,
  // Runnable rows by rowid, which addresses a row whatever its conversation id holds (an id that is
  // not well-formed Unicode does not read back equal, so it cannot address its own row).
  ready: `SELECT rowid AS rowid FROM jobs WHERE state IN ('due', 'waiting_transcript') AND next_attempt_at <= @now AND form_id = @formId ORDER BY next_attempt_at LIMIT @limit`,
  orphaned: `SELECT rowid AS rowid FROM jobs WHERE state = 'in_progress' AND lease_expires_at <= @now AND form_id = @formId LIMIT @limit`,
  /** Whether a job's id, as read back, still names its row. */
  addressable: `SELECT 1 AS ok FROM jobs WHERE rowid = @rowid AND ${KEY}`,
  nextDue: `SELECT min(next_attempt_at) AS at FROM jobs WHERE state IN ('due', 'waiting_transcript') AND form_id = @formId`,
  nextRetry: `SELECT min(next_attempt_at) AS at FROM jobs WHERE state = 'due' AND form_id = @formId`,
  nextLease: `SELECT min(lease_expires_at) AS at FROM jobs WHERE state = 'in_progress' AND form_id = @formId`,

  // ---- Ingest: what webhooks and the sweep tell us (callers decide inside BEGIN IMMEDIATE) --
  insert: INSERT_SQL,
  /** Facts only; the state stays as it is. */
  learn: `UPDATE jobs SET ${LEARN} WHERE ${KEY}`,
  /** Nobody named an agent: it cannot be evaluated (until someone does). */
  skipNoAgent: `UPDATE jobs SET ${LEARN}, state = 'skipped', reason_code = 'no_agent', reason = @reason, finished_at = @now WHERE ${KEY}`,
  /** An agent was named for a job that lacked one: due at @at. */
  reviveDue: `UPDATE jobs SET ${LEARN}, state = 'due', next_attempt_at = @at, ${REOPEN} WHERE ${KEY}`,
  /** An agent was named, but the transcript was never announced: its first check waits until @at. */
  reviveWaiting: `UPDATE jobs SET ${LEARN}, state = 'waiting_transcript', next_attempt_at = @at, ${REOPEN} WHERE ${KEY}`,
  /** transcript.ready for a job that cannot run yet (no agent) or is beyond waiting. */
  announce: `UPDATE jobs SET ${LEARN}, transcript_announced = 1 WHERE ${KEY}`,
  /** transcript.ready for a job waiting for it: due now (or earlier, if it already was). */
  announceDue: `UPDATE jobs SET ${LEARN}, transcript_announced = 1, state = 'due', next_attempt_at = min(next_attempt_at, @now) WHERE ${KEY}`,
  /** transcript.ready naming the agent a job lacked: due now. */
  announceRevive: `UPDATE jobs SET ${LEARN}, transcript_announced = 1, state = 'due', next_attempt_at = @now, ${REOPEN} WHERE ${KEY}`,
  /** The sweep lists again a conversation an outage made fail: a fresh set of attempts, now. */
  retryAfterOutage: `UPDATE jobs SET ${LEARN}, state = 'due', next_attempt_at = @now, attempts = 0, ${REOPEN} WHERE ${KEY} AND state = 'failed' AND reason_code = 'attempts_exhausted'`,

  // ---- Leases ---------------------------------------------------------------------------------
  lease: `UPDATE jobs SET state = 'in_progress', lease_owner = @owner, lease_expires_at = @expiresAt, updated_at = @now WHERE rowid = @rowid AND form_id = @formId RETURNING ${SELECT_LIST}`,
  /** A row no transition could address (its id does not read back equal): failed, never run. */
  quarantine: `UPDATE jobs SET state = 'failed', reason_code = 'invalid_id', reason = @reason, finished_at = @now, ${END_LEASE} WHERE rowid = @rowid AND form_id = @formId`,
  renew: `UPDATE jobs SET lease_expires_at = @expiresAt WHERE lease_owner = @owner AND state = 'in_progress'`,
  release: `UPDATE jobs SET state = 'due', next_attempt_at = @now, ${END_LEASE} WHERE lease_owner = @owner AND state = 'in_progress'`,

  // ---- Worker: how a leased job's run ended (fenced by the lease) -----------------------------
  /** @code/@reason: null, or 'already_evaluated' when CXone answered with an evaluation it already had. */
  submitted: `UPDATE jobs SET state = 'submitted', reason_code = @code, reason = @reason, evaluation_id = @evaluationId, delivered_to = @deliveredTo, overall_score = @overallScore, rubric_name = @rubricName, rubric_version = @rubricVersion, rubric_hash = @rubricHash, result_json = NULL, finished_at = @now, ${END_LEASE} WHERE ${LEASED}`,
  skip: `UPDATE jobs SET state = 'skipped', reason_code = @code, reason = @reason, finished_at = @now, ${END_LEASE} WHERE ${LEASED}`,
  /** The run ended in an error that repeating cannot cure, or the last of too many: it counts. */
  fail: `UPDATE jobs SET state = 'failed', reason_code = @code, reason = @reason, attempts = attempts + 1, finished_at = @now, ${END_LEASE} WHERE ${LEASED}`,
  /** Another 404, and the wait is over: the check counts as a check, not as an error. */
  transcriptTimedOut: `UPDATE jobs SET state = 'failed', reason_code = 'transcript_timeout', reason = @reason, transcript_checks = transcript_checks + 1, finished_at = @now, ${END_LEASE} WHERE ${LEASED}`,
  waitForTranscript: `UPDATE jobs SET state = 'waiting_transcript', reason_code = 'transcript_not_ready', reason = @reason, transcript_checks = transcript_checks + 1, next_attempt_at = @at, ${END_LEASE} WHERE ${LEASED}`,
  retryLater: `UPDATE jobs SET state = 'due', reason_code = @code, reason = @reason, attempts = attempts + 1, next_attempt_at = @at, ${END_LEASE} WHERE ${LEASED}`,
  /** Not the job's fault: it waits for the operator without using up an attempt. */
  credentialsRefused: `UPDATE jobs SET state = 'due', reason_code = 'credentials_refused', reason = @reason, next_attempt_at = @at, ${END_LEASE} WHERE ${LEASED}`,

  // ---- Operator -------------------------------------------------------------------------------
  requeueFailed: `UPDATE jobs SET state = 'due', attempts = 0, transcript_checks = 0, first_seen_at = @now, next_attempt_at = @now, updated_at = @now, ${REOPEN} WHERE form_id = @formId AND state = 'failed'`,
  requeueOne: `UPDATE jobs SET state = 'due', attempts = 0, transcript_checks = 0, first_seen_at = @now, next_attempt_at = @now, updated_at = @now, ${REOPEN} WHERE ${KEY} AND state IN ('failed', 'skipped') AND agent_id IS NOT NULL`,
} as const;

export type JobStatementName = keyof typeof JOB_SQL;

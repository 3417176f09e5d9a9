import type { Statement } from 'better-sqlite3';
import type { Store } from './db.js';
import { fromRow, type Job, toRow } from './job-rows.js';
import { JOB_SQL, type JobStatementName } from './job-sql.js';
import type { JobState, ReasonCode } from './schema.js';

export type { Job } from './job-rows.js';
export type { ReasonCode } from './schema.js';

/** What any source (webhook, sweep) knows about a conversation. */
export interface ConversationFacts {
  conversationId: string;
  agentId?: string | null;
  mediaType?: string | null;
  startTime?: string | null;
  endTime?: string | null;
}

/** What a destination accepted for a job, as the `submitted` transition keeps it. */
export interface SubmittedResult {
  /** Where it went besides this database, and the id the destination gave it (null: none given). */
  delivery: { target: 'cxone-qm' | 'cxone-business-data' | 'none'; id: string | null };
  /** As submitted (rounded as the destination received it). */
  overallScore: number;
  /** Which rubric scored it, so a later change of rubric can be told apart. */
  rubric: { name: string; version: string; hash: string };
  /** Kept beside the submitted state: CXone answered with an evaluation it already had. */
  note?: { code: 'already_evaluated'; reason: string };
}

export type SkipCode = Extract<ReasonCode, 'no_agent' | 'empty_transcript' | 'no_transcript_source'>;
export type FailCode = Extract<ReasonCode, 'rejected' | 'too_large' | 'attempts_exhausted' | 'job_error'>;

/** A runnable row the claim failed at once because no transition could address it. */
export interface QuarantinedJob {
  /** The id as it reads back (not what was stored: that is the problem). */
  conversationId: string;
  reason: string;
}

const INVALID_ID_REASON =
  'the conversation id does not read back from the database as stored (not well-formed Unicode): it cannot be worked';
export type RetryCode = Extract<ReasonCode, 'transient' | 'unexpected'>;

/** The text people read beside `no_agent`, whichever transition writes it. */
export const NO_AGENT_REASON = 'conversation has no agent: it cannot be evaluated';

/**
 * Waiting for someone to name the agent: known only from transcript.ready, or skipped because a
 * source said there was none. CXone's sources can disagree for a while (the query may list a
 * conversation before its agent is attached), so a later source that names the agent revives the
 * job instead of losing the conversation.
 */
function lacksAgent(job: Job): boolean {
  return (
    job.state === 'waiting_agent' ||
    (job.state === 'skipped' && job.reasonCode === 'no_agent' && !job.agentId)
  );
}

/**
 * The job queue, and the only writer of job rows: every transition is a named operation with its
 * own statement (src/store/job-sql.ts). Callers choose the transition and its timing (the worker's
 * backoff, deadlines and attempt limit are its policy); the store decides what columns it sets.
 *
 * The statements are prepared once: the ingest path runs them for every webhook and the worker for
 * every job, and building queries per call (drizzle's builder, then `prepare`) cost more CPU than
 * the fsync they wait for (see BENCHMARKS.md).
 *
 * The on* methods read before they write: call them inside `transaction()`, which is
 * `BEGIN IMMEDIATE` — a deferred transaction that reads and then writes fails at once with
 * SQLITE_BUSY when another process wrote in between, instead of waiting for busy_timeout.
 *
 * The worker's transitions (`submitted`, `skip`, `fail`, ...) end a leased run and are fenced by
 * the lease: when `owner` no longer holds it (it expired and another process took the job over),
 * nothing is written and they answer false.
 */
export class JobStore {
  private readonly sqlite: Store['sqlite'];
  private readonly sql: Record<JobStatementName, Statement>;

  constructor(
    store: Store,
    readonly formId: string,
  ) {
    this.sqlite = store.sqlite;
    this.sql = Object.fromEntries(
      Object.entries(JOB_SQL).map(([name, text]) => [name, this.sqlite.prepare(text)]),
    ) as Record<JobStatementName, Statement>;
  }

  /** Runs `fn` in BEGIN IMMEDIATE (nested calls become savepoints). */
  transaction<T>(fn: () => T): T {
    return this.sqlite.transaction(fn).immediate();
  }

  get(conversationId: string): Job | undefined {
    const row = this.sql.find.get(this.key(conversationId)) as Record<string, unknown> | undefined;
    return row && fromRow(row);
  }

  // ---- Ingest ---------------------------------------------------------------------------------

  /**
   * conversation.ended: the agent is known. The transcript may still be transcribing, so unless
   * transcript.ready was already seen the first fetch waits `firstCheckDelayMs`. Returns true when
   * the job became runnable now.
   */
  onConversationEnded(facts: ConversationFacts, now: number, firstCheckDelayMs: number): boolean {
    const existing = this.get(facts.conversationId);
    if (!existing) {
      if (!facts.agentId) {
        this.insert(facts, 'webhook', now, {
          state: 'skipped',
          reasonCode: 'no_agent',
          reason: NO_AGENT_REASON,
          finishedAt: now,
        });
        return false;
      }
      this.insert(facts, 'webhook', now, {
        state: 'waiting_transcript',
        nextAttemptAt: now + firstCheckDelayMs,
      });
      return firstCheckDelayMs <= 0;
    }
    if (!lacksAgent(existing)) {
      this.ingest('learn', facts, now);
      return false;
    }
    if (!existing.agentId && !facts.agentId) {
      this.ingest('skipNoAgent', facts, now, { reason: NO_AGENT_REASON });
      return false;
    }
    if (existing.transcriptAnnounced) {
      this.ingest('reviveDue', facts, now, { at: now });
      return true;
    }
    this.ingest('reviveWaiting', facts, now, { at: now + firstCheckDelayMs });
    return false;
  }

  /**
   * transcript.ready: fetch now. It may come before conversation.ended and carry no agent; then the
   * job waits for whoever tells us the agent (conversation.ended or the sweep).
   */
  onTranscriptReady(facts: ConversationFacts, now: number): boolean {
    const existing = this.get(facts.conversationId);
    if (!existing) {
      const state: JobState = facts.agentId ? 'due' : 'waiting_agent';
      this.insert(facts, 'webhook', now, { state, nextAttemptAt: now, transcriptAnnounced: true });
      return state === 'due';
    }
    if (existing.state === 'waiting_transcript' || existing.state === 'due') {
      this.ingest('announceDue', facts, now);
      return true;
    }
    if (lacksAgent(existing) && (existing.agentId || facts.agentId)) {
      this.ingest('announceRevive', facts, now);
      return true;
    }
    this.ingest('announce', facts, now);
    return false;
  }

  /**
   * The sweep found a completed conversation. Creates its job when it is new (due now: the
   * conversation is over, its transcript is likely ready), supplies a missing agent, gives a job an
   * outage made fail another go, and otherwise leaves a known job alone. 'skipped': new, but
   * without an agent it cannot be evaluated.
   */
  onSwept(facts: ConversationFacts, now: number): 'created' | 'skipped' | 'updated' | 'known' {
    const existing = this.get(facts.conversationId);
    if (!existing) {
      if (facts.agentId) {
        this.insert(facts, 'sweep', now, { state: 'due', nextAttemptAt: now });
        return 'created';
      }
      this.insert(facts, 'sweep', now, {
        state: 'skipped',
        reasonCode: 'no_agent',
        reason: NO_AGENT_REASON,
        finishedAt: now,
      });
      return 'skipped';
    }
    if (existing.state === 'failed' && existing.reasonCode === 'attempts_exhausted' && existing.agentId) {
      // Failed only because CXone was down for longer than the retries lasted: CXone lists it as
      // completed again, so try again rather than lose it.
      this.ingest('retryAfterOutage', facts, now);
      return 'updated';
    }
    if (!lacksAgent(existing)) {
      if (!existing.agentId && facts.agentId) {
        this.ingest('learn', facts, now);
        return 'updated';
      }
      return 'known';
    }
    if (!facts.agentId && existing.state === 'skipped') return 'known';
    if (facts.agentId) this.ingest('reviveDue', facts, now, { at: now });
    else this.ingest('skipNoAgent', facts, now, { reason: NO_AGENT_REASON });
    return 'updated';
  }

  // ---- Leases ---------------------------------------------------------------------------------

  /**
   * Leases up to `limit` runnable jobs to `owner`: due or waiting jobs whose time has come, and jobs
   * whose lease expired because the process that held them died. BEGIN IMMEDIATE makes the read and
   * the lease one step, so two processes never lease the same job.
   *
   * Rows are leased by rowid, and a row whose id does not read back equal to what is stored (an id
   * that was not well-formed Unicode) is failed right here ('invalid_id') and passed to
   * `onQuarantined` instead of being returned: every later transition would address it by that id,
   * match nothing, and leave it runnable at the head of the queue for ever.
   */
  claim(
    owner: string,
    limit: number,
    now: number,
    leaseMs: number,
    onQuarantined?: (job: QuarantinedJob) => void,
  ): Job[] {
    if (limit <= 0) return [];
    const quarantined: QuarantinedJob[] = [];
    const claimed = this.transaction(() => {
      const ready = this.sql.ready.all({ now, formId: this.formId, limit }) as { rowid: number }[];
      const orphaned =
        ready.length < limit
          ? (this.sql.orphaned.all({ now, formId: this.formId, limit: limit - ready.length }) as {
              rowid: number;
            }[])
          : [];
      const leased: Job[] = [];
      for (const { rowid } of [...ready, ...orphaned]) {
        const row = this.sql.lease.get({
          rowid,
          formId: this.formId,
          owner,
          now,
          expiresAt: now + leaseMs,
        }) as Record<string, unknown> | undefined;
        if (!row) continue;
        const job = fromRow(row);
        if (this.sql.addressable.get({ rowid, ...this.key(job.conversationId) })) {
          leased.push(job);
          continue;
        }
        this.sql.quarantine.run({ rowid, formId: this.formId, reason: INVALID_ID_REASON, now });
        quarantined.push({ conversationId: job.conversationId, reason: INVALID_ID_REASON });
      }
      return leased;
    });
    // Told after the commit, so what is reported is what the database holds.
    for (const q of quarantined) onQuarantined?.(q);
    return claimed;
  }

  /** Extends every lease `owner` holds: a job that is still running never loses its lease. */
  renewLeases(owner: string, now: number, leaseMs: number): number {
    return this.sql.renew.run({ owner, expiresAt: now + leaseMs }).changes;
  }

  /** At shutdown: hand every job still leased by `owner` back as due now, for the next process. */
  releaseLeases(owner: string, now: number): number {
    return this.sql.release.run({ owner, now }).changes;
  }

  // ---- Worker: how a leased run ended (each answers false when the lease was lost) ------------

  /**
   * The destination accepted the evaluation: done, with where it went, its score and rubric. The
   * per-rule results are kept once, in the results table (written in the same transaction), not
   * copied onto the job as well.
   */
  submitted(owner: string, conversationId: string, result: SubmittedResult, now: number): boolean {
    return this.endRun('submitted', owner, conversationId, now, {
      code: result.note?.code ?? null,
      reason: result.note?.reason ?? null,
      evaluationId: result.delivery.id,
      deliveredTo: result.delivery.target,
      overallScore: result.overallScore,
      rubricName: result.rubric.name,
      rubricVersion: result.rubric.version,
      rubricHash: result.rubric.hash,
    });
  }

  /** Nothing to evaluate: done without an evaluation. */
  skip(owner: string, conversationId: string, why: { code: SkipCode; reason: string }, now: number): boolean {
    return this.endRun('skip', owner, conversationId, now, why);
  }

  /**
   * Failed for good (until an operator requeues it, or, for 'attempts_exhausted', the sweep lists
   * the conversation again). The run counts as an attempt.
   */
  fail(owner: string, conversationId: string, why: { code: FailCode; reason: string }, now: number): boolean {
    return this.endRun('fail', owner, conversationId, now, why);
  }

  /** The transcript answered 404 once more and the wait is over: failed ('transcript_timeout'). */
  transcriptTimedOut(owner: string, conversationId: string, why: { reason: string }, now: number): boolean {
    return this.endRun('transcriptTimedOut', owner, conversationId, now, why);
  }

  /** The transcript answered 404 (still transcribing): look again at `at`. */
  waitForTranscript(
    owner: string,
    conversationId: string,
    wait: { reason: string; at: number },
    now: number,
  ): boolean {
    return this.endRun('waitForTranscript', owner, conversationId, now, wait);
  }

  /** A failure that may pass: due again at `at`, one more attempt used. */
  retryLater(
    owner: string,
    conversationId: string,
    retry: { code: RetryCode; reason: string; at: number },
    now: number,
  ): boolean {
    return this.endRun('retryLater', owner, conversationId, now, retry);
  }

  /** CXone refused the credentials: due again at `at`, no attempt used (the operator must act). */
  credentialsRefused(
    owner: string,
    conversationId: string,
    retry: { reason: string; at: number },
    now: number,
  ): boolean {
    return this.endRun('credentialsRefused', owner, conversationId, now, retry);
  }

  // ---- Operator -------------------------------------------------------------------------------

  /**
   * An operator's second chance for jobs that ended failed or skipped (after fixing the form, the
   * credentials, ...): due now, attempts reset. Safe even if CXone did make an evaluation before:
   * the repeat carries the same Idempotency-Key. Submitted jobs are never reopened.
   */
  requeue(conversationIds: string[] | 'all-failed', now: number): number {
    return this.transaction(() => {
      if (conversationIds === 'all-failed') {
        return this.sql.requeueFailed.run({ formId: this.formId, now }).changes;
      }
      let changed = 0;
      for (const id of conversationIds) changed += this.sql.requeueOne.run({ ...this.key(id), now }).changes;
      return changed;
    });
  }

  // ---- Queries --------------------------------------------------------------------------------

  /** The earliest time something becomes runnable (a due time or a lease expiry), or null. */
  nextWakeAt(): number | null {
    const due = (this.sql.nextDue.get({ formId: this.formId }) as { at: number | null }).at;
    const lease = (this.sql.nextLease.get({ formId: this.formId }) as { at: number | null }).at;
    if (due === null) return lease;
    return lease === null ? due : Math.min(due, lease);
  }

  /** The earliest retry of a job that failed transiently (not a transcript wait), or null. */
  nextRetryAt(): number | null {
    return (this.sql.nextRetry.get({ formId: this.formId }) as { at: number | null }).at;
  }

  /** Jobs of this form per state; only those of `conversationIds` when given. */
  countByState(conversationIds?: string[]): Record<JobState, number> {
    const counts: Record<JobState, number> = {
      waiting_agent: 0,
      waiting_transcript: 0,
      due: 0,
      in_progress: 0,
      submitted: 0,
      skipped: 0,
      failed: 0,
    };
    const add = (filter: string, ids: string[]) => {
      const rows = this.sqlite
        .prepare(`SELECT state, count(*) AS n FROM jobs WHERE form_id = ?${filter} GROUP BY state`)
        .all(this.formId, ...ids) as { state: JobState; n: number }[];
      for (const row of rows) counts[row.state] += row.n;
    };
    if (!conversationIds) add('', []);
    // SQLite bounds the number of parameters in one statement: count in chunks.
    for (let i = 0; conversationIds && i < conversationIds.length; i += 500) {
      const chunk = conversationIds.slice(i, i + 500);
      add(` AND conversation_id IN (${chunk.map(() => '?').join(', ')})`, chunk);
    }
    return counts;
  }

  // ---- Internals ------------------------------------------------------------------------------

  private key(conversationId: string): { conversationId: string; formId: string } {
    return { conversationId, formId: this.formId };
  }

  /** Runs one ingest statement: the facts it learns, plus what the transition needs. */
  private ingest(
    name:
      | 'learn'
      | 'skipNoAgent'
      | 'reviveDue'
      | 'reviveWaiting'
      | 'announce'
      | 'announceDue'
      | 'announceRevive'
      | 'retryAfterOutage',
    facts: ConversationFacts,
    now: number,
    extra: Record<string, unknown> = {},
  ): void {
    this.sql[name].run({
      ...this.key(facts.conversationId),
      agentId: facts.agentId ?? null,
      mediaType: facts.mediaType ?? null,
      startTime: facts.startTime ?? null,
      endTime: facts.endTime ?? null,
      now,
      ...extra,
    });
  }

  /** Runs one worker transition, fenced by `owner`'s lease; false when the lease was lost. */
  private endRun(
    name:
      | 'submitted'
      | 'skip'
      | 'fail'
      | 'transcriptTimedOut'
      | 'waitForTranscript'
      | 'retryLater'
      | 'credentialsRefused',
    owner: string,
    conversationId: string,
    now: number,
    values: Record<string, unknown>,
  ): boolean {
    return this.sql[name].run({ ...values, ...this.key(conversationId), owner, now }).changes === 1;
  }

  private insert(
    facts: ConversationFacts,
    source: 'webhook' | 'sweep',
    now: number,
    fields: Pick<Job, 'state'> &
      Partial<Pick<Job, 'reasonCode' | 'reason' | 'nextAttemptAt' | 'transcriptAnnounced' | 'finishedAt'>>,
  ): void {
    const row: Job = {
      conversationId: facts.conversationId,
      formId: this.formId,
      agentId: facts.agentId ?? null,
      mediaType: facts.mediaType ?? null,
      startTime: facts.startTime ?? null,
      endTime: facts.endTime ?? null,
      source,
      reasonCode: null,
      reason: null,
      transcriptAnnounced: false,
      attempts: 0,
      transcriptChecks: 0,
      firstSeenAt: now,
      nextAttemptAt: now,
      leaseOwner: null,
      leaseExpiresAt: null,
      evaluationId: null,
      deliveredTo: null,
      overallScore: null,
      rubricName: null,
      rubricVersion: null,
      rubricHash: null,
      resultJson: null,
      finishedAt: null,
      createdAt: now,
      updatedAt: now,
      ...fields,
    };
    this.sql.insert.run(toRow(row));
  }
}

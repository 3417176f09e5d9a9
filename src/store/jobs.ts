import type { Statement } from 'better-sqlite3';
import { getTableColumns } from 'drizzle-orm';
import type { Store } from './db.js';
import { type JobState, jobs } from './schema.js';

export type Job = typeof jobs.$inferSelect;

/** What any source (webhook, sweep) knows about a conversation. */
export interface ConversationFacts {
  conversationId: string;
  agentId?: string | null;
  mediaType?: string | null;
  startTime?: string | null;
  endTime?: string | null;
}

const NO_AGENT = 'conversation has no agent: it cannot be evaluated';

/**
 * Waiting for someone to name the agent: known only from transcript.ready, or skipped because a
 * source said there was none. CXone's sources can disagree for a while (the query may list a
 * conversation before its agent is attached), so a later source that names the agent revives the
 * job instead of losing the conversation.
 */
function lacksAgent(job: Job): boolean {
  return (
    job.state === 'waiting_agent' || (job.state === 'skipped' && job.reason === NO_AGENT && !job.agentId)
  );
}

type JobPatch = Partial<Omit<Job, 'conversationId' | 'formId'>>;

// Column names come from the drizzle schema, the single source of truth for the table.
const COLUMNS = getTableColumns(jobs);
const SELECT_LIST = Object.entries(COLUMNS)
  .map(([key, column]) => `"${column.name}" AS "${key}"`)
  .join(', ');

/** SQLite has no booleans and better-sqlite3 refuses to bind JS ones. */
function toSql(value: unknown): unknown {
  return typeof value === 'boolean' ? (value ? 1 : 0) : value;
}

function fromRow(row: Record<string, unknown> | undefined): Job | undefined {
  if (!row) return undefined;
  row.transcriptAnnounced = row.transcriptAnnounced === 1;
  return row as unknown as Job;
}

/**
 * The job queue. Its statements are prepared once: the ingest path runs them for every webhook and
 * the worker for every job, and building queries per call (drizzle's builder, then `prepare`) cost
 * more CPU than the fsync they wait for (see BENCHMARKS.md).
 *
 * The on* methods read before they write: call them inside `transaction()`, which is
 * `BEGIN IMMEDIATE` — a deferred transaction that reads and then writes fails at once with
 * SQLITE_BUSY when another process wrote in between, instead of waiting for busy_timeout.
 */
export class JobStore {
  private readonly sqlite: Store['sqlite'];
  private readonly statements = new Map<string, Statement>();
  private readonly findStatement: Statement;
  private readonly insertStatement: Statement;
  private readonly readyStatement: Statement;
  private readonly orphanedStatement: Statement;
  private readonly leaseStatement: Statement;
  private readonly renewStatement: Statement;
  private readonly releaseStatement: Statement;
  private readonly nextDueStatement: Statement;
  private readonly nextLeaseStatement: Statement;
  private readonly nextRetryStatement: Statement;

  constructor(
    store: Store,
    readonly formId: string,
  ) {
    this.sqlite = store.sqlite;
    const s = this.sqlite;
    const keys = Object.keys(COLUMNS);
    this.findStatement = s.prepare(
      `SELECT ${SELECT_LIST} FROM jobs WHERE conversation_id = ? AND form_id = ?`,
    );
    this.insertStatement = s.prepare(
      `INSERT INTO jobs (${keys.map((k) => `"${COLUMNS[k as keyof typeof COLUMNS].name}"`).join(', ')}) VALUES (${keys.map((k) => `@${k}`).join(', ')})`,
    );
    this.readyStatement = s.prepare(
      `SELECT conversation_id AS id FROM jobs WHERE state IN ('due', 'waiting_transcript') AND next_attempt_at <= ? AND form_id = ? ORDER BY next_attempt_at LIMIT ?`,
    );
    this.orphanedStatement = s.prepare(
      `SELECT conversation_id AS id FROM jobs WHERE state = 'in_progress' AND lease_expires_at <= ? AND form_id = ? LIMIT ?`,
    );
    this.leaseStatement = s.prepare(
      `UPDATE jobs SET state = 'in_progress', lease_owner = ?, lease_expires_at = ?, updated_at = ? WHERE conversation_id = ? AND form_id = ? RETURNING ${SELECT_LIST}`,
    );
    this.renewStatement = s.prepare(
      `UPDATE jobs SET lease_expires_at = ? WHERE lease_owner = ? AND state = 'in_progress'`,
    );
    this.releaseStatement = s.prepare(
      `UPDATE jobs SET state = 'due', next_attempt_at = ?, lease_owner = NULL, lease_expires_at = NULL, updated_at = ? WHERE lease_owner = ? AND state = 'in_progress'`,
    );
    this.nextDueStatement = s.prepare(
      `SELECT min(next_attempt_at) AS at FROM jobs WHERE state IN ('due', 'waiting_transcript') AND form_id = ?`,
    );
    this.nextRetryStatement = s.prepare(
      `SELECT min(next_attempt_at) AS at FROM jobs WHERE state = 'due' AND form_id = ?`,
    );
    this.nextLeaseStatement = s.prepare(
      `SELECT min(lease_expires_at) AS at FROM jobs WHERE state = 'in_progress' AND form_id = ?`,
    );
  }

  /** Runs `fn` in BEGIN IMMEDIATE (nested calls become savepoints). */
  transaction<T>(fn: () => T): T {
    return this.sqlite.transaction(fn).immediate();
  }

  get(conversationId: string): Job | undefined {
    return fromRow(
      this.findStatement.get(conversationId, this.formId) as Record<string, unknown> | undefined,
    );
  }

  /**
   * conversation.ended: the agent is known. The transcript may still be transcribing, so unless
   * transcript.ready was already seen the first fetch waits `firstCheckDelayMs`. Returns true when
   * the job became runnable now.
   */
  onConversationEnded(facts: ConversationFacts, now: number, firstCheckDelayMs: number): boolean {
    const existing = this.get(facts.conversationId);
    if (!existing) {
      if (!facts.agentId) {
        this.insert(facts, 'webhook', now, { state: 'skipped', reason: NO_AGENT, finishedAt: now });
        return false;
      }
      this.insert(facts, 'webhook', now, {
        state: 'waiting_transcript',
        nextAttemptAt: now + firstCheckDelayMs,
      });
      return firstCheckDelayMs <= 0;
    }
    const agentId = existing.agentId ?? facts.agentId ?? null;
    const patch: JobPatch = { ...this.mergeFacts(existing, facts), updatedAt: now };
    if (lacksAgent(existing)) {
      if (!agentId) {
        Object.assign(patch, { state: 'skipped', reason: NO_AGENT, finishedAt: now });
      } else if (existing.transcriptAnnounced) {
        Object.assign(patch, { state: 'due', nextAttemptAt: now, reason: null, finishedAt: null });
      } else {
        Object.assign(patch, {
          state: 'waiting_transcript',
          nextAttemptAt: now + firstCheckDelayMs,
          reason: null,
          finishedAt: null,
        });
      }
    }
    this.update(facts.conversationId, patch);
    return patch.state === 'due';
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
    const patch: JobPatch = {
      ...this.mergeFacts(existing, facts),
      transcriptAnnounced: true,
      updatedAt: now,
    };
    const agentId = existing.agentId ?? facts.agentId ?? null;
    if (existing.state === 'waiting_transcript' || existing.state === 'due') {
      Object.assign(patch, { state: 'due', nextAttemptAt: Math.min(existing.nextAttemptAt, now) });
    } else if (lacksAgent(existing) && agentId) {
      Object.assign(patch, { state: 'due', nextAttemptAt: now, reason: null, finishedAt: null });
    }
    this.update(facts.conversationId, patch);
    return patch.state === 'due';
  }

  /**
   * The sweep found a completed conversation. Creates its job when it is new (due now: the
   * conversation is over, its transcript is likely ready), supplies a missing agent, and otherwise
   * leaves a known job alone. 'skipped': new, but without an agent it cannot be evaluated.
   */
  onSwept(facts: ConversationFacts, now: number): 'created' | 'skipped' | 'updated' | 'known' {
    const existing = this.get(facts.conversationId);
    if (!existing) {
      if (facts.agentId) {
        this.insert(facts, 'sweep', now, { state: 'due', nextAttemptAt: now });
        return 'created';
      }
      this.insert(facts, 'sweep', now, { state: 'skipped', reason: NO_AGENT, finishedAt: now });
      return 'skipped';
    }
    if (existing.state === 'failed' && existing.retryBySweep && existing.agentId) {
      // Failed only because CXone was down for longer than the retries lasted: CXone lists it as
      // completed again, so try again rather than lose it.
      this.update(facts.conversationId, {
        state: 'due',
        nextAttemptAt: now,
        attempts: 0,
        reason: null,
        finishedAt: null,
        retryBySweep: false,
        updatedAt: now,
      });
      return 'updated';
    }
    if (!lacksAgent(existing)) {
      if (!existing.agentId && facts.agentId) {
        this.update(facts.conversationId, { ...this.mergeFacts(existing, facts), updatedAt: now });
        return 'updated';
      }
      return 'known';
    }
    if (!facts.agentId && existing.state === 'skipped') return 'known';
    const patch: JobPatch = { ...this.mergeFacts(existing, facts), updatedAt: now };
    if (facts.agentId)
      Object.assign(patch, { state: 'due', nextAttemptAt: now, reason: null, finishedAt: null });
    else Object.assign(patch, { state: 'skipped', reason: NO_AGENT, finishedAt: now });
    this.update(facts.conversationId, patch);
    return 'updated';
  }

  /**
   * Leases up to `limit` runnable jobs to `owner`: due or waiting jobs whose time has come, and jobs
   * whose lease expired because the process that held them died. BEGIN IMMEDIATE makes the read and
   * the lease one step, so two processes never lease the same job.
   */
  claim(owner: string, limit: number, now: number, leaseMs: number): Job[] {
    if (limit <= 0) return [];
    return this.transaction(() => {
      const ready = this.readyStatement.all(now, this.formId, limit) as { id: string }[];
      const orphaned =
        ready.length < limit
          ? (this.orphanedStatement.all(now, this.formId, limit - ready.length) as { id: string }[])
          : [];
      return [...ready, ...orphaned].map(
        ({ id }) =>
          fromRow(
            this.leaseStatement.get(owner, now + leaseMs, now, id, this.formId) as Record<string, unknown>,
          )!,
      );
    });
  }

  /** Extends every lease `owner` holds: a job that is still running never loses its lease. */
  renewLeases(owner: string, now: number, leaseMs: number): number {
    return this.renewStatement.run(now + leaseMs, owner).changes;
  }

  /**
   * Ends a leased job. Fenced by the lease: when `owner` no longer holds it (it expired and another
   * process took the job over), nothing is written and false is returned.
   */
  finish(owner: string, conversationId: string, patch: JobPatch, now: number): boolean {
    const full: JobPatch = { ...patch, leaseOwner: null, leaseExpiresAt: null, updatedAt: now };
    const statement = this.updateStatement(Object.keys(full), true);
    return statement.run(this.bindings(conversationId, full, owner)).changes === 1;
  }

  /**
   * An operator's second chance for jobs that ended failed or skipped (after fixing the form, the
   * credentials, ...): due now, attempts reset. Safe even if CXone did make an evaluation before:
   * the repeat carries the same Idempotency-Key. Submitted jobs are never reopened.
   */
  requeue(conversationIds: string[] | 'all-failed', now: number): number {
    return this.transaction(() => {
      const reset = `state = 'due', reason = NULL, attempts = 0, retry_by_sweep = 0, transcript_checks = 0, first_seen_at = ?, next_attempt_at = ?, finished_at = NULL, updated_at = ?`;
      if (conversationIds === 'all-failed') {
        return this.sqlite
          .prepare(`UPDATE jobs SET ${reset} WHERE form_id = ? AND state = 'failed'`)
          .run(now, now, now, this.formId).changes;
      }
      const statement = this.sqlite.prepare(
        `UPDATE jobs SET ${reset} WHERE form_id = ? AND conversation_id = ? AND state IN ('failed', 'skipped') AND agent_id IS NOT NULL`,
      );
      let changed = 0;
      for (const id of conversationIds) changed += statement.run(now, now, now, this.formId, id).changes;
      return changed;
    });
  }

  /** At shutdown: hand every job still leased by `owner` back as due now, for the next process. */
  releaseLeases(owner: string, now: number): number {
    return this.releaseStatement.run(now, now, owner).changes;
  }

  /** The earliest time something becomes runnable (a due time or a lease expiry), or null. */
  nextWakeAt(): number | null {
    const due = (this.nextDueStatement.get(this.formId) as { at: number | null }).at;
    const lease = (this.nextLeaseStatement.get(this.formId) as { at: number | null }).at;
    if (due === null) return lease;
    return lease === null ? due : Math.min(due, lease);
  }

  /** The earliest retry of a job that failed transiently (not a transcript wait), or null. */
  nextRetryAt(): number | null {
    return (this.nextRetryStatement.get(this.formId) as { at: number | null }).at;
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

  private insert(
    facts: ConversationFacts,
    source: 'webhook' | 'sweep',
    now: number,
    fields: JobPatch & { state: JobState },
  ): void {
    const { state, ...rest } = fields;
    const row: Job = {
      conversationId: facts.conversationId,
      formId: this.formId,
      agentId: facts.agentId ?? null,
      mediaType: facts.mediaType ?? null,
      startTime: facts.startTime ?? null,
      endTime: facts.endTime ?? null,
      source,
      state,
      reason: null,
      transcriptAnnounced: false,
      retryBySweep: false,
      attempts: 0,
      transcriptChecks: 0,
      firstSeenAt: now,
      nextAttemptAt: now,
      leaseOwner: null,
      leaseExpiresAt: null,
      evaluationId: null,
      overallScore: null,
      rubricName: null,
      rubricVersion: null,
      rubricHash: null,
      resultJson: null,
      finishedAt: null,
      createdAt: now,
      updatedAt: now,
      ...rest,
    };
    this.insertStatement.run(Object.fromEntries(Object.entries(row).map(([k, v]) => [k, toSql(v)])));
  }

  private update(conversationId: string, patch: JobPatch): void {
    this.updateStatement(Object.keys(patch), false).run(this.bindings(conversationId, patch));
  }

  /** One prepared UPDATE per set of columns (there are a handful), fenced by the lease or not. */
  private updateStatement(keys: string[], fenced: boolean): Statement {
    const cacheKey = `${fenced ? 'F' : 'U'}:${keys.join(',')}`;
    let statement = this.statements.get(cacheKey);
    if (!statement) {
      const assignments = keys.map((k) => {
        const column = COLUMNS[k as keyof typeof COLUMNS];
        if (!column) throw new Error(`jobs has no column for '${k}'`);
        return `"${column.name}" = @${k}`;
      });
      const fence = fenced ? ` AND lease_owner = @_owner AND state = 'in_progress'` : '';
      statement = this.sqlite.prepare(
        `UPDATE jobs SET ${assignments.join(', ')} WHERE conversation_id = @_conversationId AND form_id = @_formId${fence}`,
      );
      this.statements.set(cacheKey, statement);
    }
    return statement;
  }

  private bindings(conversationId: string, patch: JobPatch, owner?: string): Record<string, unknown> {
    const values: Record<string, unknown> = { _conversationId: conversationId, _formId: this.formId };
    if (owner !== undefined) values._owner = owner;
    for (const [k, v] of Object.entries(patch)) values[k] = toSql(v ?? null);
    return values;
  }

  /** Fills what we did not know yet; never overwrites what an earlier source told us. */
  private mergeFacts(existing: Job, facts: ConversationFacts): JobPatch {
    return {
      agentId: existing.agentId ?? facts.agentId ?? null,
      mediaType: existing.mediaType ?? facts.mediaType ?? null,
      startTime: existing.startTime ?? facts.startTime ?? null,
      endTime: existing.endTime ?? facts.endTime ?? null,
    };
  }
}

import { and, asc, eq, inArray, lte, min, sql } from 'drizzle-orm';
import type { Db } from './db.js';
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

export const RUNNABLE_STATES: JobState[] = ['due', 'waiting_transcript'];
export const TERMINAL_STATES: JobState[] = ['submitted', 'skipped', 'failed'];

const NO_AGENT = 'conversation has no agent: it cannot be evaluated';

/**
 * Every function here that reads before it writes must run inside a `BEGIN IMMEDIATE` transaction
 * (callers use `db.transaction(fn, { behavior: 'immediate' })`): a deferred transaction that reads
 * and then writes fails at once with SQLITE_BUSY when another process wrote in between, instead of
 * waiting for busy_timeout.
 */
export class JobStore {
  constructor(
    private readonly db: Db,
    readonly formId: string,
  ) {}

  get(conversationId: string): Job | undefined {
    return this.db
      .select()
      .from(jobs)
      .where(and(eq(jobs.conversationId, conversationId), eq(jobs.formId, this.formId)))
      .get();
  }

  /**
   * conversation.ended: the agent is known. The transcript may still be transcribing, so unless
   * transcript.ready was already seen the first fetch waits `firstCheckDelayMs`. Returns true when
   * the job became runnable now.
   */
  onConversationEnded(tx: Db, facts: ConversationFacts, now: number, firstCheckDelayMs: number): boolean {
    const existing = this.find(tx, facts.conversationId);
    if (!existing) {
      if (!facts.agentId) {
        this.insert(tx, facts, 'webhook', now, { state: 'skipped', reason: NO_AGENT, finishedAt: now });
        return false;
      }
      this.insert(tx, facts, 'webhook', now, {
        state: 'waiting_transcript',
        nextAttemptAt: now + firstCheckDelayMs,
      });
      return firstCheckDelayMs <= 0;
    }
    const agentId = existing.agentId ?? facts.agentId ?? null;
    const patch: Partial<Job> = { ...this.mergeFacts(existing, facts), updatedAt: now };
    if (existing.state === 'waiting_agent') {
      if (!agentId) {
        Object.assign(patch, { state: 'skipped', reason: NO_AGENT, finishedAt: now });
      } else if (existing.transcriptAnnounced) {
        Object.assign(patch, { state: 'due', nextAttemptAt: now });
      } else {
        Object.assign(patch, { state: 'waiting_transcript', nextAttemptAt: now + firstCheckDelayMs });
      }
    }
    this.update(tx, facts.conversationId, patch);
    return patch.state === 'due';
  }

  /**
   * transcript.ready: fetch now. It may come before conversation.ended and carry no agent; then the
   * job waits for whoever tells us the agent (conversation.ended or the sweep).
   */
  onTranscriptReady(tx: Db, facts: ConversationFacts, now: number): boolean {
    const existing = this.find(tx, facts.conversationId);
    if (!existing) {
      const state: JobState = facts.agentId ? 'due' : 'waiting_agent';
      this.insert(tx, facts, 'webhook', now, { state, nextAttemptAt: now, transcriptAnnounced: true });
      return state === 'due';
    }
    const patch: Partial<Job> = {
      ...this.mergeFacts(existing, facts),
      transcriptAnnounced: true,
      updatedAt: now,
    };
    const agentId = existing.agentId ?? facts.agentId ?? null;
    if (existing.state === 'waiting_transcript' || existing.state === 'due') {
      Object.assign(patch, { state: 'due', nextAttemptAt: Math.min(existing.nextAttemptAt, now) });
    } else if (existing.state === 'waiting_agent' && agentId) {
      Object.assign(patch, { state: 'due', nextAttemptAt: now });
    }
    this.update(tx, facts.conversationId, patch);
    return patch.state === 'due';
  }

  /**
   * The sweep found a completed conversation. Creates its job when it is new (due now: the
   * conversation is over, its transcript is likely ready), supplies a missing agent, and otherwise
   * leaves a known job alone. Returns whether a job was created.
   */
  onSwept(tx: Db, facts: ConversationFacts, now: number): 'created' | 'updated' | 'known' {
    const existing = this.find(tx, facts.conversationId);
    if (!existing) {
      if (facts.agentId) this.insert(tx, facts, 'sweep', now, { state: 'due', nextAttemptAt: now });
      else this.insert(tx, facts, 'sweep', now, { state: 'skipped', reason: NO_AGENT, finishedAt: now });
      return 'created';
    }
    if (existing.state !== 'waiting_agent') {
      if (!existing.agentId && facts.agentId) {
        this.update(tx, facts.conversationId, { ...this.mergeFacts(existing, facts), updatedAt: now });
        return 'updated';
      }
      return 'known';
    }
    const patch: Partial<Job> = { ...this.mergeFacts(existing, facts), updatedAt: now };
    if (facts.agentId) Object.assign(patch, { state: 'due', nextAttemptAt: now });
    else Object.assign(patch, { state: 'skipped', reason: NO_AGENT, finishedAt: now });
    this.update(tx, facts.conversationId, patch);
    return 'updated';
  }

  /**
   * Leases up to `limit` runnable jobs to `owner`: due or waiting jobs whose time has come, and jobs
   * whose lease expired because the process that held them died. Runs in BEGIN IMMEDIATE, so two
   * processes never lease the same job.
   */
  claim(owner: string, limit: number, now: number, leaseMs: number): Job[] {
    if (limit <= 0) return [];
    return this.db.transaction(
      (tx) => {
        const ready = tx
          .select({ conversationId: jobs.conversationId })
          .from(jobs)
          .where(
            and(
              eq(jobs.formId, this.formId),
              inArray(jobs.state, RUNNABLE_STATES),
              lte(jobs.nextAttemptAt, now),
            ),
          )
          .orderBy(asc(jobs.nextAttemptAt))
          .limit(limit)
          .all();
        const orphaned =
          ready.length < limit
            ? tx
                .select({ conversationId: jobs.conversationId })
                .from(jobs)
                .where(
                  and(
                    eq(jobs.formId, this.formId),
                    eq(jobs.state, 'in_progress'),
                    lte(jobs.leaseExpiresAt, now),
                  ),
                )
                .limit(limit - ready.length)
                .all()
            : [];
        const ids = [...ready, ...orphaned].map((r) => r.conversationId);
        if (ids.length === 0) return [];
        return tx
          .update(jobs)
          .set({ state: 'in_progress', leaseOwner: owner, leaseExpiresAt: now + leaseMs, updatedAt: now })
          .where(and(eq(jobs.formId, this.formId), inArray(jobs.conversationId, ids)))
          .returning()
          .all();
      },
      { behavior: 'immediate' },
    );
  }

  /** Extends every lease `owner` holds: a job that is still running never loses its lease. */
  renewLeases(owner: string, now: number, leaseMs: number): number {
    return this.db
      .update(jobs)
      .set({ leaseExpiresAt: now + leaseMs })
      .where(and(eq(jobs.leaseOwner, owner), eq(jobs.state, 'in_progress')))
      .run().changes;
  }

  /**
   * Ends a leased job. Fenced by the lease: when `owner` no longer holds it (it expired and another
   * process took the job over), nothing is written and false is returned.
   */
  finish(owner: string, conversationId: string, patch: Partial<Job>, now: number): boolean {
    return (
      this.db
        .update(jobs)
        .set({ ...patch, leaseOwner: null, leaseExpiresAt: null, updatedAt: now })
        .where(
          and(
            eq(jobs.conversationId, conversationId),
            eq(jobs.formId, this.formId),
            eq(jobs.leaseOwner, owner),
            eq(jobs.state, 'in_progress'),
          ),
        )
        .run().changes === 1
    );
  }

  /** At shutdown: hand every job still leased by `owner` back as due now, for the next process. */
  releaseLeases(owner: string, now: number): number {
    return this.db
      .update(jobs)
      .set({ state: 'due', nextAttemptAt: now, leaseOwner: null, leaseExpiresAt: null, updatedAt: now })
      .where(and(eq(jobs.leaseOwner, owner), eq(jobs.state, 'in_progress')))
      .run().changes;
  }

  /** The earliest time something becomes runnable (a due time or a lease expiry), or null. */
  nextWakeAt(): number | null {
    const due = this.db
      .select({ at: min(jobs.nextAttemptAt) })
      .from(jobs)
      .where(and(eq(jobs.formId, this.formId), inArray(jobs.state, RUNNABLE_STATES)))
      .get();
    const lease = this.db
      .select({ at: min(jobs.leaseExpiresAt) })
      .from(jobs)
      .where(and(eq(jobs.formId, this.formId), eq(jobs.state, 'in_progress')))
      .get();
    const times = [due?.at, lease?.at].filter((t): t is number => typeof t === 'number');
    return times.length ? Math.min(...times) : null;
  }

  countByState(conversationIds?: string[]): Record<JobState, number> {
    const counts = {
      waiting_agent: 0,
      waiting_transcript: 0,
      due: 0,
      in_progress: 0,
      submitted: 0,
      skipped: 0,
      failed: 0,
    } satisfies Record<JobState, number>;
    if (conversationIds && conversationIds.length === 0) return counts;
    const where = conversationIds
      ? and(eq(jobs.formId, this.formId), inArray(jobs.conversationId, conversationIds))
      : eq(jobs.formId, this.formId);
    const rows = this.db
      .select({ state: jobs.state, n: sql<number>`count(*)` })
      .from(jobs)
      .where(where)
      .groupBy(jobs.state)
      .all();
    for (const row of rows) counts[row.state] = row.n;
    return counts;
  }

  private find(tx: Db, conversationId: string): Job | undefined {
    return tx
      .select()
      .from(jobs)
      .where(and(eq(jobs.conversationId, conversationId), eq(jobs.formId, this.formId)))
      .get();
  }

  private insert(
    tx: Db,
    facts: ConversationFacts,
    source: 'webhook' | 'sweep',
    now: number,
    fields: Partial<Job> & { state: JobState },
  ): void {
    tx.insert(jobs)
      .values({
        conversationId: facts.conversationId,
        formId: this.formId,
        agentId: facts.agentId ?? null,
        mediaType: facts.mediaType ?? null,
        startTime: facts.startTime ?? null,
        endTime: facts.endTime ?? null,
        source,
        firstSeenAt: now,
        nextAttemptAt: now,
        createdAt: now,
        updatedAt: now,
        ...fields,
      })
      .run();
  }

  private update(tx: Db, conversationId: string, patch: Partial<Job>): void {
    tx.update(jobs)
      .set(patch)
      .where(and(eq(jobs.conversationId, conversationId), eq(jobs.formId, this.formId)))
      .run();
  }

  /** Fills what we did not know yet; never overwrites what an earlier source told us. */
  private mergeFacts(existing: Job, facts: ConversationFacts): Partial<Job> {
    return {
      agentId: existing.agentId ?? facts.agentId ?? null,
      mediaType: existing.mediaType ?? facts.mediaType ?? null,
      startTime: existing.startTime ?? facts.startTime ?? null,
      endTime: existing.endTime ?? facts.endTime ?? null,
    };
  }
}

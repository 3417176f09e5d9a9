import type { Statement } from 'better-sqlite3';
import type { Store } from './db.js';
import type { JobState } from './schema.js';

/** A job as the console's queue and history show it. */
export interface JobView {
  conversationId: string;
  formId: string;
  agentId: string | null;
  mediaType: string | null;
  source: string;
  state: JobState;
  reason: string | null;
  attempts: number;
  transcriptChecks: number;
  firstSeenAt: number;
  nextAttemptAt: number;
  finishedAt: number | null;
  evaluationId: string | null;
  updatedAt: number;
}

export interface QueueHealth {
  /** Jobs per unfinished state (and failed), with the oldest first-seen time of each. */
  states: { state: JobState; count: number; oldestFirstSeenAt: number | null }[];
  lastSweep: { startedAt: number; finishedAt: number | null; status: string; error: string | null } | null;
}

export interface DeliveryView {
  webhookId: string;
  eventId: string;
  type: string;
  occurredAt: string;
  receivedAt: number;
}

const JOB_COLUMNS = `conversation_id AS conversationId, form_id AS formId, agent_id AS agentId,
  media_type AS mediaType, source, state, reason, attempts, transcript_checks AS transcriptChecks,
  first_seen_at AS firstSeenAt, next_attempt_at AS nextAttemptAt, finished_at AS finishedAt,
  evaluation_id AS evaluationId, updated_at AS updatedAt`;

const UNFINISHED = `'waiting_agent', 'waiting_transcript', 'due', 'in_progress'`;

/** Read-only views of the job queue for the console (the state machine itself is in jobs.ts). */
export class QueueView {
  private readonly healthStatement: Statement;
  private readonly lastSweepStatement: Statement;
  private readonly jobsOfStatement: Statement;
  private readonly deliveriesStatement: Statement;
  private readonly waitingStatement: Statement;
  private readonly failedStatement: Statement;
  private readonly failedAfterStatement: Statement;

  constructor(store: Store) {
    const s = store.sqlite;
    // Counts only unfinished and failed jobs: the index on (state, ...) reads those entries and
    // never the hundreds of thousands of submitted ones.
    this.healthStatement = s.prepare(
      `SELECT state, count(*) AS count, min(first_seen_at) AS oldestFirstSeenAt FROM jobs
       WHERE state IN (${UNFINISHED}, 'failed') GROUP BY state`,
    );
    this.lastSweepStatement = s.prepare(
      'SELECT started_at AS startedAt, finished_at AS finishedAt, status, error FROM sweeps ORDER BY id DESC LIMIT 1',
    );
    this.jobsOfStatement = s.prepare(`SELECT ${JOB_COLUMNS} FROM jobs WHERE conversation_id = ?`);
    this.deliveriesStatement = s.prepare(
      `SELECT webhook_id AS webhookId, event_id AS eventId, type, occurred_at AS occurredAt, received_at AS receivedAt
       FROM webhook_events WHERE conversation_id = ? ORDER BY received_at LIMIT 100`,
    );
    this.waitingStatement = s.prepare(
      `SELECT ${JOB_COLUMNS} FROM jobs WHERE state IN (${UNFINISHED})
       ORDER BY next_attempt_at, conversation_id LIMIT ?`,
    );
    this.failedStatement = s.prepare(
      `SELECT ${JOB_COLUMNS} FROM jobs WHERE state = 'failed'
       ORDER BY finished_at DESC, conversation_id DESC, form_id DESC LIMIT ?`,
    );
    this.failedAfterStatement = s.prepare(
      `SELECT ${JOB_COLUMNS} FROM jobs WHERE state = 'failed'
         AND (finished_at, conversation_id, form_id) < (?, ?, ?)
       ORDER BY finished_at DESC, conversation_id DESC, form_id DESC LIMIT ?`,
    );
  }

  health(): QueueHealth {
    return {
      states: this.healthStatement.all() as QueueHealth['states'],
      lastSweep: (this.lastSweepStatement.get() as QueueHealth['lastSweep'] | undefined) ?? null,
    };
  }

  /** Unfinished jobs, the soonest due first. */
  waiting(limit: number): JobView[] {
    return this.waitingStatement.all(limit) as JobView[];
  }

  /** Failed jobs, the most recent first, a page at a time. */
  failed(
    limit: number,
    after?: { finishedAt: number; conversationId: string; formId: string },
  ): { rows: JobView[]; next: { finishedAt: number; conversationId: string; formId: string } | null } {
    const rows = (
      after
        ? this.failedAfterStatement.all(after.finishedAt, after.conversationId, after.formId, limit + 1)
        : this.failedStatement.all(limit + 1)
    ) as JobView[];
    if (rows.length <= limit) return { rows, next: null };
    const kept = rows.slice(0, limit);
    const last = kept[kept.length - 1]!;
    return {
      rows: kept,
      next: { finishedAt: last.finishedAt ?? 0, conversationId: last.conversationId, formId: last.formId },
    };
  }

  /** A conversation's jobs (one per destination). */
  jobsOf(conversationId: string): JobView[] {
    return this.jobsOfStatement.all(conversationId) as JobView[];
  }

  /** The webhook deliveries that named a conversation, oldest first. */
  deliveriesOf(conversationId: string): DeliveryView[] {
    return this.deliveriesStatement.all(conversationId) as DeliveryView[];
  }
}

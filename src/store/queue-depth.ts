import type { Store } from './db.js';
import type { JobState } from './schema.js';

/** The states of a job that has not finished: what "the queue" holds. */
export const UNFINISHED_STATES = ['waiting_agent', 'waiting_transcript', 'due', 'in_progress'] as const;

export interface QueueDepthReading {
  byState: Record<(typeof UNFINISHED_STATES)[number], number>;
  /** How long the most overdue due job has waited past its next_attempt_at (seconds), 0 when none. */
  dueLagSeconds: number;
}

/**
 * Reads the queue for /metrics at scrape time. Each count is one range of the (state, next_attempt_at)
 * index, so a scrape costs what the unfinished jobs cost, not the table: a database that holds
 * millions of finished jobs answers as fast as an empty one. Finished jobs are not counted here
 * (counting them would walk most of the table on every scrape); qm_jobs_total counts how runs end.
 * The statements are prepared once.
 */
export function createQueueDepthReader(store: Store): (now: number) => QueueDepthReading {
  const count = store.sqlite.prepare('SELECT count(*) AS n FROM jobs WHERE state = ?').pluck();
  const oldestDue = store.sqlite.prepare("SELECT min(next_attempt_at) FROM jobs WHERE state = 'due'").pluck();
  return (now) => {
    // One read transaction: the counts are of one moment.
    return store.sqlite.transaction(() => {
      const byState = Object.fromEntries(
        UNFINISHED_STATES.map((state: JobState) => [state, Number(count.get(state) ?? 0)]),
      ) as QueueDepthReading['byState'];
      const due = oldestDue.get() as number | null;
      return { byState, dueLagSeconds: due === null ? 0 : Math.max(0, now - due) / 1000 };
    })();
  };
}

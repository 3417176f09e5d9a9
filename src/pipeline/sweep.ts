import type { Logger } from 'pino';
import type { Clock } from '../clock.js';
import type { ConversationPage, CxoneClient, CxoneError, CxoneResult } from '../cxone/types.js';
import { retryWhileBusy } from '../store/db.js';
import type { JobStore } from '../store/jobs.js';
import type { SweepStore } from '../store/sweeps.js';
import { backoffDelay } from './backoff.js';

export interface SweepOptions {
  cxone: CxoneClient;
  jobs: JobStore;
  sweeps: SweepStore;
  clock: Clock;
  log: Logger;
  owner: string;
  lookbackMs: number;
  /** Overlap with the previous pass: conversations can reach "completed" a while after they end. */
  safetyMarginMs: number;
  /** Stops the pass between pages (shutdown, Ctrl-C); the watermark then stays where it was. */
  signal?: AbortSignal;
  /** Attempts per page on retryable failures. */
  pageAttempts?: number;
  retryBaseMs?: number;
}

// A pass has no one waiting on it: it may wait for another process's lock this long (with timers, not
// on the event loop) before it ends as failed, to be redone by the next pass.
const SWEEP_BUSY_BUDGET_MS = 30_000;

export interface SweepResult {
  ok: boolean;
  pages: number;
  /** Completed conversations inside the window. */
  seen: number;
  /** Of those, new to the database. */
  created: number;
  /** Of the new ones, skipped at once (no agent). */
  skipped: number;
  /** Ids of the conversations inside the window, for the caller's summary. */
  conversationIds: string[];
  error?: CxoneError;
  /** The signal stopped the pass before its end. */
  interrupted?: boolean;
}

/**
 * One reconciliation pass: pages through completed conversations, newest first, until they ended
 * before the horizon (the last successful pass's start minus a safety margin, but never further back
 * than the lookback), and creates a job for every one the database does not know yet. The watermark
 * moves only when the pass reached its end, so a pass cut short is redone in full next time.
 */
export async function runSweep(options: SweepOptions): Promise<SweepResult> {
  const { jobs, sweeps, clock, log, owner } = options;
  const write = <T>(fn: () => T) => retryWhileBusy(fn, { clock, budgetMs: SWEEP_BUSY_BUDGET_MS });
  const startedAt = clock.now();
  const last = sweeps.lastSuccessfulStart();
  const horizon = Math.max(startedAt - options.lookbackMs, last === null ? 0 : last - options.safetyMarginMs);
  const id = await write(() => sweeps.begin(owner, startedAt));
  const result: SweepResult = { ok: false, pages: 0, seen: 0, created: 0, skipped: 0, conversationIds: [] };
  let pageToken: string | null = null;

  /** Records how the pass ended, logs its one line, and answers the result. */
  const end = async (how: 'finished' | 'failed' | 'interrupted', error?: string): Promise<SweepResult> => {
    result.ok = how === 'finished';
    const counts = { pages: result.pages, seen: result.seen, created: result.created };
    const outcome = { ok: result.ok, ...counts, ...(error ? { error } : {}) };
    await write(() => sweeps.finish(id, clock.now(), outcome));
    const line = {
      ...counts,
      durationMs: clock.now() - startedAt,
      horizon: new Date(horizon).toISOString(),
      error,
    };
    if (how === 'failed') log.warn(line, 'sweep failed');
    else log.info(line, `sweep ${how}`);
    return result;
  };

  for (;;) {
    if (options.signal?.aborted) {
      result.interrupted = true;
      return end('interrupted', 'interrupted');
    }
    const page = await fetchPage(options, pageToken);
    if (!page.ok) {
      result.error = page.error;
      // The client's messages already name the call.
      return end('failed', page.error.message);
    }
    result.pages++;
    let reachedHorizon = false;
    const now = clock.now();
    const recordPage = () => {
      for (const conversation of page.value.conversations) {
        if (conversation.status && conversation.status.toUpperCase() !== 'COMPLETED') continue;
        const endedAt = conversation.endTime ? Date.parse(conversation.endTime) : Number.NaN;
        // Sorted newest first: the first one older than the horizon ends the pass after this page.
        if (!Number.isNaN(endedAt) && endedAt < horizon) {
          reachedHorizon = true;
          continue;
        }
        result.seen++;
        result.conversationIds.push(conversation.id);
        const change = jobs.onSwept(
          {
            conversationId: conversation.id,
            agentId: conversation.agentId,
            mediaType: conversation.type ?? null,
            startTime: conversation.startTime,
            endTime: conversation.endTime,
          },
          now,
        );
        if (change === 'created' || change === 'skipped') result.created++;
        if (change === 'skipped') result.skipped++;
      }
    };
    // BEGIN IMMEDIATE fails before recordPage runs when the lock is taken: a retry counts nothing twice.
    await write(() => jobs.transaction(recordPage));
    pageToken = page.value.nextPageToken;
    if (reachedHorizon || !pageToken || page.value.conversations.length === 0) break;
  }
  return end('finished');
}

async function fetchPage(
  options: SweepOptions,
  pageToken: string | null,
): Promise<CxoneResult<ConversationPage>> {
  const attempts = options.pageAttempts ?? 4;
  let answer = await options.cxone.queryCompletedConversations(pageToken);
  for (let attempt = 1; !answer.ok && answer.error.retryable && attempt < attempts; attempt++) {
    await options.clock.sleep(backoffDelay(attempt, options.retryBaseMs ?? 1_000, 30_000));
    answer = await options.cxone.queryCompletedConversations(pageToken);
  }
  return answer;
}

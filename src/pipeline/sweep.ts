import type { Logger } from 'pino';
import type { Clock } from '../clock.js';
import { cxoneError } from '../cxone/api-caller.js';
import type {
  ConversationPage,
  ConversationSummary,
  CxoneClient,
  CxoneError,
  CxoneResult,
} from '../cxone/types.js';
import { idProblem, printable, textProblem } from '../domain/ids.js';
import { retryWhileBusy } from '../store/db.js';
import type { ConversationFacts, JobStore } from '../store/jobs.js';
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
  /**
   * Most pages one pass reads (SWEEP_MAX_PAGES, default 1,000): a pass that has not reached its horizon
   * by then ends as failed, naming the limit. What it guards against is a CXone that pages forever
   * with fresh tokens and fresh rows; a real window does not come near it (1,000 pages of 50 are
   * 50,000 conversations, more than the default call budget can evaluate in a day: ~36,000).
   */
  maxPages?: number;
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
  /**
   * Rows skipped because their conversation id (or agent id) cannot be one: not well-formed Unicode,
   * `..`, a control character... (src/domain/ids.ts). Nothing is recorded for them.
   */
  refused: number;
  /** Ids of the conversations inside the window, for the caller's summary. */
  conversationIds: string[];
  error?: CxoneError;
  /** The signal stopped the pass before its end. */
  interrupted?: boolean;
}

export const DEFAULT_SWEEP_MAX_PAGES = 1_000;
/** Refused rows named in the pass's warning; the rest are only counted. */
const REFUSED_SHOWN = 5;
const MAX_SHORT_TEXT = 100;

/**
 * One reconciliation pass: pages through completed conversations, newest first, until they ended
 * before the horizon (the last successful pass's start minus a safety margin, but never further back
 * than the lookback), and creates a job for every one the database does not know yet. The watermark
 * moves only when the pass reached its end, so a pass cut short is redone in full next time.
 *
 * A CXone that pages in a loop ends the pass as failed instead of running it forever: a page token
 * seen before in this pass, a page whose rows were all seen before in this pass, or more than
 * `maxPages` pages.
 */
export async function runSweep(options: SweepOptions): Promise<SweepResult> {
  const { jobs, sweeps, clock, log, owner } = options;
  const maxPages = options.maxPages ?? DEFAULT_SWEEP_MAX_PAGES;
  const write = <T>(fn: () => T) => retryWhileBusy(fn, { clock, budgetMs: SWEEP_BUSY_BUDGET_MS });
  const startedAt = clock.now();
  const last = sweeps.lastSuccessfulStart();
  const horizon = Math.max(startedAt - options.lookbackMs, last === null ? 0 : last - options.safetyMarginMs);
  const id = await write(() => sweeps.begin(owner, startedAt));
  const result: SweepResult = {
    ok: false,
    pages: 0,
    seen: 0,
    created: 0,
    skipped: 0,
    refused: 0,
    conversationIds: [],
  };
  let pageToken: string | null = null;
  /** Page tokens used in this pass, with the page they led to (1-based). */
  const tokensUsed = new Map<string, number>();
  /** Every row id this pass has read, refused ones included: a page of nothing new is a loop. */
  const rowsRead = new Set<string>();
  const refusedShown: { id: string; problem: string }[] = [];

  /** Records how the pass ended, logs its one line, and answers the result. */
  const end = async (how: 'finished' | 'failed' | 'interrupted', error?: string): Promise<SweepResult> => {
    result.ok = how === 'finished';
    const counts = { pages: result.pages, seen: result.seen, created: result.created };
    const outcome = { ok: result.ok, ...counts, ...(error ? { error } : {}) };
    await write(() => sweeps.finish(id, clock.now(), outcome));
    if (result.refused > 0) {
      // Once per pass, however many rows: the ids are CXone's, a pass later lists them again.
      log.warn(
        { refused: result.refused, examples: refusedShown.map((r) => `${r.id}: ${r.problem}`) },
        'sweep skipped conversations whose id cannot be a conversation id',
      );
    }
    const line = {
      ...counts,
      refused: result.refused,
      durationMs: clock.now() - startedAt,
      horizon: new Date(horizon).toISOString(),
      error,
    };
    if (how === 'failed') log.warn(line, 'sweep failed');
    else log.info(line, `sweep ${how}`);
    return result;
  };
  const loop = (message: string): Promise<SweepResult> => {
    result.error = cxoneError('queryConversations', 'bad_response', `queryConversations: ${message}`);
    return end('failed', result.error.message);
  };

  for (;;) {
    if (options.signal?.aborted) {
      result.interrupted = true;
      return end('interrupted', 'interrupted');
    }
    if (result.pages >= maxPages) {
      return loop(
        `pass ended after ${maxPages} pages (SWEEP_MAX_PAGES) without reaching conversations older than ${new Date(horizon).toISOString()}`,
      );
    }
    const page = await fetchPage(options, pageToken);
    if (!page.ok) {
      result.error = page.error;
      // The client's messages already name the call.
      return end('failed', page.error.message);
    }
    result.pages++;
    const rows = page.value.conversations;
    const fresh = rows.filter((c) => !rowsRead.has(c.id));
    if (rows.length > 0 && fresh.length === 0) {
      return loop(
        `page ${result.pages} repeats only conversations already read in this pass: CXone is paging in a loop`,
      );
    }
    for (const c of rows) rowsRead.add(c.id);
    let reachedHorizon = false;
    const now = clock.now();
    const recordPage = () => {
      for (const conversation of fresh) {
        if (conversation.status && conversation.status.toUpperCase() !== 'COMPLETED') continue;
        const endedAt = conversation.endTime ? Date.parse(conversation.endTime) : Number.NaN;
        // Sorted newest first: the first one older than the horizon ends the pass after this page.
        if (!Number.isNaN(endedAt) && endedAt < horizon) {
          reachedHorizon = true;
          continue;
        }
        const facts = factsOf(conversation);
        if (!facts.ok) {
          result.refused++;
          if (refusedShown.length < REFUSED_SHOWN) refusedShown.push(facts);
          continue;
        }
        result.seen++;
        result.conversationIds.push(conversation.id);
        const change = jobs.onSwept(facts.value, now);
        if (change === 'created' || change === 'skipped') result.created++;
        if (change === 'skipped') result.skipped++;
      }
    };
    // BEGIN IMMEDIATE fails before recordPage runs when the lock is taken: a retry counts nothing twice.
    await write(() => jobs.transaction(recordPage));
    const next = page.value.nextPageToken;
    if (reachedHorizon || !next || rows.length === 0) break;
    const earlier = tokensUsed.get(next);
    if (earlier !== undefined) {
      return loop(
        `page ${result.pages} answers page token ${printable(next, 40)} again (it led to page ${earlier}): CXone is paging in a loop`,
      );
    }
    tokensUsed.set(next, result.pages + 1);
    pageToken = next;
  }
  return end('finished');
}

/**
 * What the store may keep of one listed conversation: refused (with why, the id shown escaped) when
 * its id or agent id cannot be an id; other text fields that are not well-formed are dropped rather
 * than stored as bytes that do not read back (they are facts to fill in, not keys).
 */
function factsOf(
  c: ConversationSummary,
): { ok: true; value: ConversationFacts } | { ok: false; id: string; problem: string } {
  const idIssue = idProblem(c.id);
  if (idIssue) return { ok: false, id: printable(c.id), problem: `id ${idIssue}` };
  const agentIssue = c.agentId === null ? null : idProblem(c.agentId);
  if (agentIssue) return { ok: false, id: printable(c.id), problem: `agent_id ${agentIssue}` };
  const text = (value: string | null | undefined) =>
    value === null || value === undefined || textProblem(value, MAX_SHORT_TEXT) ? null : value;
  return {
    ok: true,
    value: {
      conversationId: c.id,
      agentId: c.agentId,
      mediaType: text(c.type),
      startTime: text(c.startTime),
      endTime: text(c.endTime),
    },
  };
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

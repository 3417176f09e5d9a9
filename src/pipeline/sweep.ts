import type { Logger } from 'pino';
import type { Clock } from '../clock.js';
import { cxoneError } from '../cxone/api-caller.js';
import type { CxoneError, CxoneResult } from '../cxone/types.js';
import { DEFAULT_SWEEP_MAX_PAGES } from '../defaults.js';
import { idProblem, printable, textProblem } from '../domain/ids.js';
import { retryWhileBusy } from '../store/db.js';
import type { ConversationFacts, JobStore } from '../store/jobs.js';
import type { SweepStore } from '../store/sweeps.js';
import { backoffDelay } from './backoff.js';
import type { ConversationLister, ListedPage } from './listers.js';

export interface SweepOptions {
  /** Where completed conversations are listed: the profile's CXone API (listers.ts). */
  lister: ConversationLister;
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

/** Refused rows named in the pass's warning; the rest are only counted. */
const REFUSED_SHOWN = 5;
const MAX_SHORT_TEXT = 100;

/**
 * The horizon of a pass starting at `startedAt`: the last successful pass's start minus the safety
 * margin (the overlap), but never further back than the lookback.
 */
export function sweepHorizon(
  startedAt: number,
  lastSuccessfulStart: number | null,
  lookbackMs: number,
  safetyMarginMs: number,
): number {
  return Math.max(
    startedAt - lookbackMs,
    lastSuccessfulStart === null ? 0 : lastSuccessfulStart - safetyMarginMs,
  );
}

/**
 * One reconciliation pass: pages through the conversations the lister says completed since the
 * horizon (see sweepHorizon), and creates a job for every one the database does not know yet. The
 * watermark moves only when the pass reached its end, so a pass cut short is redone in full next time.
 *
 * A CXone that pages in a loop ends the pass as failed instead of running it forever: a page whose
 * rows were all seen before in this pass, more than `maxPages` pages, or what the lister detects (a
 * page token seen before).
 */
export async function runSweep(options: SweepOptions): Promise<SweepResult> {
  const { jobs, sweeps, clock, log, owner } = options;
  const maxPages = options.maxPages ?? DEFAULT_SWEEP_MAX_PAGES;
  const write = <T>(fn: () => T) => retryWhileBusy(fn, { clock, budgetMs: SWEEP_BUSY_BUDGET_MS });
  const startedAt = clock.now();
  const last = sweeps.lastSuccessfulStart();
  const horizon = sweepHorizon(startedAt, last, options.lookbackMs, options.safetyMarginMs);
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
  const { lister } = options;
  let cursor: unknown = lister.start(horizon);
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
    result.error = cxoneError(lister.call, 'bad_response', `${lister.call}: ${message}`);
    return end('failed', result.error.message);
  };

  for (;;) {
    if (options.signal?.aborted) {
      result.interrupted = true;
      return end('interrupted', 'interrupted');
    }
    if (result.pages >= maxPages) return loop(pageCapMessage(maxPages, horizon));
    const page = await fetchPage(options, cursor);
    if (!page.ok) {
      result.error = page.error;
      // The client's messages already name the call.
      return end('failed', page.error.message);
    }
    result.pages++;
    const rows = page.value.conversations;
    for (const reason of page.value.refused) {
      result.refused++;
      if (refusedShown.length < REFUSED_SHOWN) refusedShown.push({ id: '(row)', problem: reason });
    }
    const fresh = rows.filter((c) => !rowsRead.has(c.conversationId));
    if (rows.length > 0 && fresh.length === 0) return loop(repeatedPageMessage(result.pages));
    for (const c of rows) rowsRead.add(c.conversationId);
    const now = clock.now();
    const recordPage = () => {
      for (const conversation of fresh) {
        const facts = factsOf(conversation);
        if (!facts.ok) {
          result.refused++;
          if (refusedShown.length < REFUSED_SHOWN) refusedShown.push(facts);
          continue;
        }
        result.seen++;
        result.conversationIds.push(conversation.conversationId);
        const change = jobs.onSwept(facts.value, now);
        if (change === 'created' || change === 'skipped') result.created++;
        if (change === 'skipped') result.skipped++;
      }
    };
    // BEGIN IMMEDIATE fails before recordPage runs when the lock is taken: a retry counts nothing twice.
    await write(() => jobs.transaction(recordPage));
    if (page.value.loop) return loop(page.value.loop);
    if (page.value.next === null) break;
    cursor = page.value.next;
  }
  return end('finished');
}

/** Why a pass that needs more than `maxPages` pages ends (the sweep and the dry run say it alike). */
export function pageCapMessage(maxPages: number, horizon: number): string {
  return `pass ended after ${maxPages} pages (SWEEP_MAX_PAGES) without reaching conversations older than ${new Date(horizon).toISOString()}`;
}

/** Why a pass whose page `page` holds only rows it read before ends. */
export function repeatedPageMessage(page: number): string {
  return `page ${page} repeats only conversations already read in this pass: CXone is paging in a loop`;
}

/**
 * What the store may keep of one listed conversation: refused (with why, the id shown escaped) when
 * its id or agent id cannot be an id; other text fields that are not well-formed are dropped rather
 * than stored as bytes that do not read back (they are facts to fill in, not keys).
 */
function factsOf(
  c: ConversationFacts,
): { ok: true; value: ConversationFacts } | { ok: false; id: string; problem: string } {
  const idIssue = idProblem(c.conversationId);
  if (idIssue) return { ok: false, id: printable(c.conversationId), problem: `id ${idIssue}` };
  const agentIssue = c.agentId === null || c.agentId === undefined ? null : idProblem(c.agentId);
  if (agentIssue) return { ok: false, id: printable(c.conversationId), problem: `agent_id ${agentIssue}` };
  const text = (value: string | null | undefined) =>
    value === null || value === undefined || textProblem(value, MAX_SHORT_TEXT) ? null : value;
  return {
    ok: true,
    value: {
      conversationId: c.conversationId,
      agentId: c.agentId ?? null,
      mediaType: text(c.mediaType),
      startTime: text(c.startTime),
      endTime: text(c.endTime),
    },
  };
}

async function fetchPage(options: SweepOptions, cursor: unknown): Promise<CxoneResult<ListedPage<unknown>>> {
  const attempts = options.pageAttempts ?? 4;
  let answer = await options.lister.page(cursor);
  for (let attempt = 1; !answer.ok && answer.error.retryable && attempt < attempts; attempt++) {
    await options.clock.sleep(backoffDelay(attempt, options.retryBaseMs ?? 1_000, 30_000));
    answer = await options.lister.page(cursor);
  }
  return answer;
}

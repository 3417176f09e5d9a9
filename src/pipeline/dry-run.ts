import type { Clock } from '../clock.js';
import { cxoneError } from '../cxone/api-caller.js';
import { resultOf, summaryOf } from '../cxone/platform/business-data.js';
import type { CxoneError } from '../cxone/types.js';
import { DEFAULT_SWEEP_MAX_PAGES } from '../defaults.js';
import { formatScore, type Scorer } from '../scoring/index.js';
import { backoffDelay } from './backoff.js';
import type { ConversationLister } from './listers.js';
import type { TranscriptSource } from './sources.js';
import { pageCapMessage, repeatedPageMessage } from './sweep.js';

/**
 * `npm run sweep -- --dry-run`: what a sweep would find and how each conversation would score, with
 * nothing written: no job rows, no sweep watermark, no delivery (no QM evaluation, no business data).
 * It is real otherwise: it lists through CXone, fetches transcripts and runs the rubric, so an
 * operator sees whether the credentials, permissions and data work before going live. Only the call
 * budget is shared as always (its accounting is the one thing it writes).
 */
export interface DryRunRow {
  conversationId: string;
  agentId: string | null;
  verdict: 'score' | 'skip' | 'wait' | 'unchecked' | 'error';
  /** What it would deliver (score, pass/fail, summary), or why not. */
  detail: string;
  score?: number;
}

export interface DryRunResult {
  rows: DryRunRow[];
  /** The listing failed: what was listed before is in `rows`. */
  error?: CxoneError;
  /** A transcript call CXone refused (credentials or permissions), if any. */
  refused?: CxoneError;
}

export async function dryRun(options: {
  lister: ConversationLister;
  source: TranscriptSource;
  scorer: Scorer;
  horizon: number;
  /** Transcripts fetched and scored at most; the rest are listed only. */
  limit: number;
  /** Pages read at most (SWEEP_MAX_PAGES), as a sweep. */
  maxPages?: number;
  clock: Clock;
  signal?: AbortSignal;
  onRow?: (row: DryRunRow) => void;
}): Promise<DryRunResult> {
  const { lister, source, scorer, limit, clock } = options;
  const result: DryRunResult = { rows: [] };
  const seen = new Set<string>();
  let checked = 0;
  let cursor: unknown = lister.start(options.horizon);
  const maxPages = options.maxPages ?? DEFAULT_SWEEP_MAX_PAGES;
  // A CXone paging in a loop ends the run with an error as it ends a sweep (see runSweep): otherwise
  // the dry run would page on quietly, spending the call budget a running service shares with it.
  const loop = (message: string) => {
    result.error = cxoneError(lister.call, 'bad_response', `${lister.call}: ${message}`);
  };
  for (let pages = 0; cursor !== null; pages++) {
    if (options.signal?.aborted) break;
    if (pages >= maxPages) {
      loop(pageCapMessage(maxPages, options.horizon));
      break;
    }
    let page = await lister.page(cursor);
    for (let attempt = 1; !page.ok && page.error.retryable && attempt < 4; attempt++) {
      await clock.sleep(backoffDelay(attempt, 1_000, 30_000));
      page = await lister.page(cursor);
    }
    if (!page.ok) {
      result.error = page.error;
      break;
    }
    const rows = page.value.conversations;
    if (rows.length > 0 && rows.every((facts) => seen.has(facts.conversationId))) {
      loop(repeatedPageMessage(pages + 1));
      break;
    }
    for (const facts of rows) {
      if (options.signal?.aborted) break;
      if (seen.has(facts.conversationId)) continue;
      seen.add(facts.conversationId);
      const row: DryRunRow = {
        conversationId: facts.conversationId,
        agentId: facts.agentId ?? null,
        verdict: 'unchecked',
        detail: `not fetched (over --limit ${limit})`,
      };
      if (!facts.agentId) Object.assign(row, { verdict: 'skip', detail: 'no agent' });
      else if (checked < limit) {
        checked++;
        const transcript = await source.fetch(facts.conversationId);
        if (transcript.kind === 'not_ready')
          Object.assign(row, { verdict: 'wait', detail: transcript.reason });
        else if (transcript.kind === 'no_source')
          Object.assign(row, { verdict: 'skip', detail: transcript.reason });
        else if (transcript.kind === 'failed') {
          Object.assign(row, { verdict: 'error', detail: transcript.error.message });
          if (transcript.error.kind === 'unauthorized' || transcript.error.kind === 'forbidden') {
            result.refused ??= transcript.error;
          }
        } else if (!transcript.lines.some((l) => l.text.trim() !== '')) {
          Object.assign(row, { verdict: 'skip', detail: 'transcript is empty' });
        } else {
          const scored = await scorer.score(transcript.lines);
          const score = Number(formatScore(Math.min(100, Math.max(0, scored.overallScore))));
          Object.assign(row, {
            verdict: 'score',
            score,
            detail: `${formatScore(score)} ${resultOf(scored)}: ${summaryOf(scored)}`,
          });
        }
      }
      result.rows.push(row);
      options.onRow?.(row);
    }
    if (page.value.loop) {
      loop(page.value.loop);
      break;
    }
    cursor = page.value.next;
  }
  return result;
}

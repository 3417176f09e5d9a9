import { describe, expect, it } from 'vitest';
import { systemClock } from '../../src/clock.js';
import { dryRun } from '../../src/pipeline/dry-run.js';
import type { ConversationLister, ListedPage } from '../../src/pipeline/listers.js';
import type { TranscriptSource } from '../../src/pipeline/sources.js';
import { createScorer } from '../../src/scoring/index.js';
import { rubricOf } from '../support/scoring.js';

/** A lister whose page `n` (1-based) is `pageOf(n)`; counts the pages asked for. */
function listerOf(pageOf: (n: number) => ListedPage<number>): ConversationLister<number> & { asked: number } {
  const lister = {
    call: 'queryConversations' as const,
    asked: 0,
    start: () => 1,
    async page(n: number) {
      lister.asked++;
      return { ok: true as const, value: pageOf(n) };
    },
  };
  return lister;
}

const facts = (id: string) => ({ conversationId: id, agentId: 'agent-1' });
const source: TranscriptSource = {
  async fetch() {
    return {
      kind: 'lines',
      lines: [{ speaker: 'AGENT', text: 'hello', timestamp: '00:00:01' }],
      warnings: [],
    };
  },
};
const scorer = createScorer(rubricOf('greeting:\n  pattern: hello\n  weight: 1\n'));
const run = (lister: ConversationLister<number>, maxPages?: number) =>
  dryRun({
    lister,
    source,
    scorer,
    horizon: 0,
    limit: 5,
    clock: systemClock,
    ...(maxPages !== undefined ? { maxPages } : {}),
  });

// A dry run is a sweep that writes nothing: a CXone paging in a loop must end it with an error as it
// ends a sweep, not page on silently (10,000 pages against the shared call budget) and exit 0.
describe('dryRun against a CXone paging in a loop', () => {
  it('a page of nothing new (the same rows under a fresh cursor) ends it with an error naming the loop', async () => {
    const lister = listerOf((n) => ({ conversations: [facts('a'), facts('b')], refused: [], next: n + 1 }));
    const result = await run(lister);
    expect(lister.asked).toBe(2);
    expect(result.rows.map((r) => r.conversationId)).toEqual(['a', 'b']);
    expect(result.error?.kind).toBe('bad_response');
    expect(result.error?.message).toMatch(
      /^queryConversations: page 2 repeats only conversations already read/,
    );
  });

  it("the lister's own loop (a page token seen before) is an error, not a quiet end", async () => {
    const lister = listerOf(() => ({
      conversations: [facts('a')],
      refused: [],
      next: null,
      loop: 'page 1 answers page token t again (it led to page 1): CXone is paging in a loop',
    }));
    const result = await run(lister);
    expect(result.rows.map((r) => r.conversationId)).toEqual(['a']);
    expect(result.error?.message).toBe(
      'queryConversations: page 1 answers page token t again (it led to page 1): CXone is paging in a loop',
    );
  });

  it('stops after maxPages (SWEEP_MAX_PAGES), saying so', async () => {
    const lister = listerOf((n) => ({ conversations: [facts(`c${n}`)], refused: [], next: n + 1 }));
    const result = await run(lister, 3);
    expect(lister.asked).toBe(3);
    expect(result.rows).toHaveLength(3);
    expect(result.error?.message).toMatch(
      /^queryConversations: pass ended after 3 pages \(SWEEP_MAX_PAGES\)/,
    );
  });

  it('a listing that ends is no error', async () => {
    const lister = listerOf((n) => ({
      conversations: [facts(`c${n}`)],
      refused: [],
      next: n < 3 ? n + 1 : null,
    }));
    const result = await run(lister);
    expect(result.error).toBeUndefined();
    expect(result.rows.map((r) => r.verdict)).toEqual(['score', 'score', 'score']);
  });
});

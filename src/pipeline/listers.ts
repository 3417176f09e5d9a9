import type { PlatformClient } from '../cxone/platform/types.js';
import type { CxoneCall, CxoneClient, CxoneResult } from '../cxone/types.js';
import { printable } from '../domain/ids.js';
import type { ConversationFacts } from '../store/jobs.js';

/**
 * Where a sweep learns which conversations ended: one implementation per API profile. The sweep
 * keeps the watermark and lookback rules (the horizon), the per-page retries and the job creation;
 * a lister only turns a horizon into pages of completed conversations.
 */
export interface ListedPage<C> {
  conversations: ConversationFacts[];
  /** Rows that cannot be used (an id that is not one), each with its reason: counted and logged. */
  refused: string[];
  /** Where the next page starts; null when the pass is complete. */
  next: C | null;
  /**
   * CXone is paging in a loop (a page token seen before): this page's rows are recorded, then the
   * pass ends as failed with this message instead of going on forever.
   */
  loop?: string;
}

export interface ConversationLister<C = unknown> {
  /** The CXone call that lists (for messages about the listing as a whole). */
  readonly call: CxoneCall;
  /** The first page of a pass that must reach back to `horizon` (epoch ms). */
  start(horizon: number): C;
  page(cursor: C): Promise<CxoneResult<ListedPage<C>>>;
}

type TutorialCursor = {
  horizon: number;
  token: string | null;
  /** Page tokens used in this pass, with the page they led to (1-based). */
  used: Map<string, number>;
  page: number;
};

/**
 * The tutorial API: completed conversations newest first, page tokens, until one ended before the
 * horizon. A page token that repeats the one just used would loop forever: it ends the pass as an
 * error instead.
 */
export function tutorialLister(
  cxone: Pick<CxoneClient, 'queryCompletedConversations'>,
): ConversationLister<TutorialCursor> {
  return {
    call: 'queryConversations',
    start: (horizon) => ({ horizon, token: null, used: new Map(), page: 1 }),
    async page({ horizon, token, used, page }) {
      const answer = await cxone.queryCompletedConversations(token);
      if (!answer.ok) return answer;
      const conversations: ConversationFacts[] = [];
      let reachedHorizon = false;
      for (const c of answer.value.conversations) {
        if (c.status && c.status.toUpperCase() !== 'COMPLETED') continue;
        const endedAt = c.endTime ? Date.parse(c.endTime) : Number.NaN;
        // Sorted newest first: the first one older than the horizon ends the pass after this page.
        if (!Number.isNaN(endedAt) && endedAt < horizon) {
          reachedHorizon = true;
          continue;
        }
        conversations.push({
          conversationId: c.id,
          agentId: c.agentId,
          mediaType: c.type ?? null,
          startTime: c.startTime,
          endTime: c.endTime,
        });
      }
      const nextToken = answer.value.nextPageToken;
      const done = reachedHorizon || !nextToken || answer.value.conversations.length === 0;
      const earlier = nextToken
        ? (used.get(nextToken) ?? (nextToken === token ? page : undefined))
        : undefined;
      if (!done && earlier !== undefined) {
        return {
          ok: true,
          value: {
            conversations,
            refused: [],
            next: null,
            loop: `page ${page} answers page token ${printable(nextToken!, 40)} again (it led to page ${earlier}): CXone is paging in a loop`,
          },
        };
      }
      if (nextToken) used.set(nextToken, page + 1);
      return {
        ok: true,
        value: {
          conversations,
          refused: [],
          next: done ? null : { horizon, token: nextToken, used, page: page + 1 },
        },
      };
    },
  };
}

type PlatformCursor = { updatedSince: string; skip: number };

/**
 * Reporting's completed contacts (platform profile): every contact updated since the horizon, oldest
 * update first, `top`/`skip` paging, a 204 (no rows) ending the pass. The horizon already overlaps
 * the previous pass (SWEEP_SAFETY_MARGIN_MINUTES): a contact updated while a pass paged past it (its
 * row moves to the end, and skip paging may step over the row behind it) was updated after that
 * pass started, so the next pass lists it.
 */
export function platformLister(
  client: Pick<PlatformClient, 'completedContacts'>,
  top: number,
): ConversationLister<PlatformCursor> {
  return {
    call: 'completedContacts',
    start: (horizon) => ({ updatedSince: new Date(horizon).toISOString(), skip: 0 }),
    async page({ updatedSince, skip }) {
      const answer = await client.completedContacts({ updatedSince, skip, top });
      if (!answer.ok) return answer;
      const { contacts, refused, more } = answer.value;
      const rows = contacts.length + refused.length;
      return {
        ok: true,
        value: {
          conversations: contacts.map((c) => ({
            conversationId: c.contactId,
            agentId: c.agentId,
            mediaType: c.mediaTypeName,
            startTime: c.startTime,
            endTime: c.endTime,
          })),
          refused: refused.map((r) => r.reason),
          next: more && rows > 0 ? { updatedSince, skip: skip + rows } : null,
        },
      };
    },
  };
}

import { describe, expect, it } from 'vitest';
import type { CompletedContactsPage } from '../../src/cxone/platform/types.js';
import type { ConversationPage, CxoneResult } from '../../src/cxone/types.js';
import { platformLister, tutorialLister } from '../../src/pipeline/listers.js';

describe('platformLister', () => {
  it('asks from the horizon, pages with skip by the rows received, and stops when nothing more', async () => {
    const asked: { updatedSince: string; skip: number; top: number }[] = [];
    const pages: CompletedContactsPage[] = [
      {
        contacts: [
          {
            contactId: '1',
            agentId: '9',
            mediaTypeId: 4,
            mediaTypeName: 'Call',
            startTime: null,
            endTime: null,
            lastUpdateTime: null,
          },
        ],
        refused: [{ index: 1, reason: 'completedContacts.1.contactId is not an int64 id' }],
        lastPollTime: null,
        more: true,
      },
      { contacts: [], refused: [], lastPollTime: null, more: false },
    ];
    const lister = platformLister(
      {
        async completedContacts(q) {
          asked.push(q);
          return { ok: true, value: pages[asked.length - 1]! };
        },
      },
      2,
    );
    const first = await lister.page(lister.start(Date.UTC(2026, 0, 1)));
    if (!first.ok) throw new Error('page');
    expect(first.value.conversations).toEqual([
      { conversationId: '1', agentId: '9', mediaType: 'Call', startTime: null, endTime: null },
    ]);
    expect(first.value.refused).toHaveLength(1);
    const second = await lister.page(first.value.next!);
    expect(second.ok && second.value.next).toBeNull();
    expect(asked).toEqual([
      { updatedSince: '2026-01-01T00:00:00.000Z', skip: 0, top: 2 },
      { updatedSince: '2026-01-01T00:00:00.000Z', skip: 2, top: 2 },
    ]);
  });
});

describe('tutorialLister', () => {
  const conv = (id: string, end: string) => ({
    id,
    agentId: 'a',
    startTime: end,
    endTime: end,
    status: 'COMPLETED',
  });
  it('stops at the horizon', async () => {
    const lister = tutorialLister({
      async queryCompletedConversations(): Promise<CxoneResult<ConversationPage>> {
        return {
          ok: true,
          value: {
            conversations: [conv('new', '2026-01-02T00:00:00Z'), conv('old', '2025-12-01T00:00:00Z')],
            nextPageToken: 't2',
          },
        };
      },
    });
    const page = await lister.page(lister.start(Date.UTC(2026, 0, 1)));
    expect(page.ok && page.value.conversations.map((c) => c.conversationId)).toEqual(['new']);
    expect(page.ok && page.value.next).toBeNull();
  });
  it('a repeated page token ends the pass as an error instead of looping', async () => {
    const lister = tutorialLister({
      async queryCompletedConversations() {
        return {
          ok: true,
          value: { conversations: [conv('x', '2026-01-02T00:00:00Z')], nextPageToken: 'same' },
        };
      },
    });
    const first = await lister.page(lister.start(0));
    if (!first.ok) throw new Error('page');
    const second = await lister.page(first.value.next!);
    expect(second).toMatchObject({
      ok: true,
      value: { next: null, loop: expect.stringMatching(/paging in a loop/) },
    });
  });
});

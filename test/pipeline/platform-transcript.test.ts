import { describe, expect, it } from 'vitest';
import type { ContactInteraction, PlatformClient } from '../../src/cxone/platform/types.js';
import type { CxoneError, CxoneResult } from '../../src/cxone/types.js';
import { fetchPlatformTranscript } from '../../src/pipeline/platform-transcript.js';

type Fake = Pick<PlatformClient, 'contactMedia' | 'segmentTranscript'> & { calls: string[] };

const error = (kind: CxoneError['kind'], message = `x: ${kind}`): CxoneResult<never> => ({
  ok: false,
  error: { kind, call: 'getTranscript', retryable: kind === 'not_ready' || kind === 'server', message },
});

function fake(
  media: CxoneResult<ContactInteraction[]>,
  segments: Record<
    string,
    CxoneResult<{ userType: string; text: string; voiceMetadata?: { startTime: number } }[]>
  >,
): Fake {
  const calls: string[] = [];
  return {
    calls,
    async contactMedia(id) {
      calls.push(`media:${id}`);
      return media;
    },
    async segmentTranscript(id) {
      calls.push(`segment:${id}`);
      return segments[id] ?? error('not_ready');
    },
  };
}

const call = (...ids: string[]): CxoneResult<ContactInteraction[]> => ({
  ok: true,
  value: [
    {
      type: 'call',
      channelType: 'PHONE_CALL',
      messages: null,
      segments: ids.map((segmentId, i) => ({
        segmentId,
        startTime: new Date(Date.UTC(2026, 0, 1, 10, i)).toISOString(),
        endTime: new Date(Date.UTC(2026, 0, 1, 10, i + 1)).toISOString(),
      })),
    },
  ],
});

describe('fetchPlatformTranscript', () => {
  it('reads every segment of a call from IA and merges them', async () => {
    const client = fake(call('s1', 's2'), {
      s1: { ok: true, value: [{ userType: 'AGENT', text: 'Hello', voiceMetadata: { startTime: 1000 } }] },
      s2: { ok: true, value: [{ userType: 'CLIENT', text: 'Bye', voiceMetadata: { startTime: 500 } }] },
    });
    const out = await fetchPlatformTranscript(client, '42');
    expect(out).toEqual({
      kind: 'lines',
      source: 'interaction-analytics',
      warnings: [],
      lines: [
        { speaker: 'AGENT', text: 'Hello', timestamp: '00:00:01.000' },
        { speaker: 'CUSTOMER', text: 'Bye', timestamp: '00:01:00.500' },
      ],
    });
    expect(client.calls).toEqual(['media:42', 'segment:s1', 'segment:s2']);
  });

  it('waits while a segment is not analysed, without asking for the ones after it', async () => {
    const client = fake(call('s1', 's2', 's3'), { s1: { ok: true, value: [] } });
    expect(await fetchPlatformTranscript(client, '42')).toEqual({
      kind: 'not_ready',
      reason: 'segment 2 of 3 not analysed by Interaction Analytics yet',
    });
    expect(client.calls).toEqual(['media:42', 'segment:s1', 'segment:s2']);
  });

  it('a chat is its messages', async () => {
    const client = fake(
      {
        ok: true,
        value: [
          {
            type: 'chat',
            channelType: 'CHAT',
            segments: [{ segmentId: 'c1', startTime: null, endTime: null }],
            messages: [{ participantType: 'AGENT', text: 'Hi', timeStamp: '2026-01-01T10:00:00Z' }],
          },
        ],
      },
      {},
    );
    const out = await fetchPlatformTranscript(client, '7');
    expect(out).toMatchObject({
      kind: 'lines',
      source: 'messages',
      lines: [{ speaker: 'AGENT', text: 'Hi' }],
    });
    expect(client.calls).toEqual(['media:7']);
  });

  it('says which licence or setting is missing when there is no usable source', async () => {
    const noIa = fake(call('s1'), { s1: error('forbidden', 'segmentTranscript: HTTP 403 (no IA licence)') });
    expect(await fetchPlatformTranscript(noIa, '1')).toEqual({
      kind: 'no_source',
      reason:
        'segmentTranscript: HTTP 403 (no IA licence): calls are transcribed by Interaction Analytics only',
    });
    expect(await fetchPlatformTranscript(fake(call(), {}), '1')).toMatchObject({
      kind: 'no_source',
      reason: expect.stringMatching(/turn on recording/),
    });
    const email = fake(
      { ok: true, value: [{ type: 'email', channelType: 'EMAIL', segments: [], messages: null }] },
      {},
    );
    expect(await fetchPlatformTranscript(email, '1')).toMatchObject({
      kind: 'no_source',
      reason: expect.stringMatching(/email/),
    });
    const noMedia = fake(error('forbidden', 'contactMedia: HTTP 403'), {});
    expect(await fetchPlatformTranscript(noMedia, '1')).toMatchObject({
      kind: 'no_source',
      reason: expect.stringMatching(/permission to view interactions/),
    });
  });

  it('nothing recorded yet waits; other failures are handed back as they are', async () => {
    expect(await fetchPlatformTranscript(fake(error('not_ready'), {}), '1')).toMatchObject({
      kind: 'not_ready',
    });
    const failed = await fetchPlatformTranscript(fake(call('s1'), { s1: error('server') }), '1');
    expect(failed).toMatchObject({ kind: 'failed', error: { kind: 'server' } });
  });
});

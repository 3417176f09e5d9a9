import { describe, expect, it } from 'vitest';
import {
  assembleCallTranscript,
  assembleChatTranscript,
  formatOffset,
  inferVoiceTimeUnit,
  type SegmentTranscript,
  speakerOfBlock,
} from '../../../src/cxone/platform/transcript.js';
import { parseTimestamp } from '../../../src/scoring/transcript.js';

const block = (userType: string, text: string, startTime?: number, endTime?: number) => ({
  userType,
  channelName: userType,
  text,
  ...(startTime !== undefined ? { voiceMetadata: { startTime, endTime: endTime ?? startTime + 1000 } } : {}),
});

describe('speakerOfBlock', () => {
  it('AGENT is the agent, CLIENT and CUSTOMER the customer, in any case', () => {
    expect(speakerOfBlock({ userType: 'AGENT' })).toBe('AGENT');
    expect(speakerOfBlock({ channelName: 'Agent' })).toBe('AGENT');
    expect(speakerOfBlock({ userType: 'CLIENT' })).toBe('CUSTOMER');
    expect(speakerOfBlock({ userType: 'customer', channelName: 'Client' })).toBe('CUSTOMER');
  });
  it('anything else, or the two fields contradicting, is unknown', () => {
    expect(speakerOfBlock({ userType: 'IVR' })).toBe('UNKNOWN');
    expect(speakerOfBlock({})).toBe('UNKNOWN');
    expect(speakerOfBlock({ userType: 'AGENT', channelName: 'Client' })).toBe('UNKNOWN');
    expect(speakerOfBlock({ userType: 'BOT', channelName: 'AGENT' })).toBe('AGENT');
  });
});

describe('assembleCallTranscript', () => {
  const t0 = Date.UTC(2026, 0, 5, 10, 0, 0);
  const iso = (ms: number) => new Date(ms).toISOString();

  it('merges several segments in time order, times in ms from each segment start', () => {
    // Segment B (the transfer) is listed first by Media Playback but starts later.
    const segments: SegmentTranscript[] = [
      {
        segmentId: 'B',
        startTime: iso(t0 + 60_000),
        endTime: iso(t0 + 120_000),
        blocks: [block('AGENT', 'Second agent here', 2_000), block('CLIENT', 'Thanks', 5_500)],
      },
      {
        segmentId: 'A',
        startTime: iso(t0),
        endTime: iso(t0 + 60_000),
        blocks: [block('CLIENT', 'I need help', 9_000), block('AGENT', 'Hello, welcome', 1_250)],
      },
    ];
    const out = assembleCallTranscript(segments);
    expect(out.timeUnit).toBe('ms');
    expect(out.lines).toEqual([
      { speaker: 'AGENT', text: 'Hello, welcome', timestamp: '00:00:01.250' },
      { speaker: 'CUSTOMER', text: 'I need help', timestamp: '00:00:09.000' },
      { speaker: 'AGENT', text: 'Second agent here', timestamp: '00:01:02.000' },
      { speaker: 'CUSTOMER', text: 'Thanks', timestamp: '00:01:05.500' },
    ]);
    // The engine reads the offsets back as seconds.
    expect(parseTimestamp(out.lines[2]!.timestamp)).toEqual({ kind: 'offset', seconds: 62 });
  });

  it('interleaves overlapping segments (a conference) by time', () => {
    const out = assembleCallTranscript([
      {
        segmentId: 'A',
        startTime: iso(t0),
        endTime: iso(t0 + 60_000),
        blocks: [block('AGENT', 'a1', 1000), block('AGENT', 'a2', 30_000)],
      },
      {
        segmentId: 'B',
        startTime: iso(t0 + 10_000),
        endTime: iso(t0 + 60_000),
        blocks: [block('CLIENT', 'b1', 5_000)],
      },
    ]);
    expect(out.lines.map((l) => l.text)).toEqual(['a1', 'b1', 'a2']);
  });

  it('reads times as seconds when only seconds fit the segment length, and says so', () => {
    const seg: SegmentTranscript = {
      segmentId: 'A',
      startTime: iso(t0),
      endTime: iso(t0 + 300_000),
      blocks: [block('AGENT', 'hello', 2, 4), block('CLIENT', 'hi', 40, 45), block('AGENT', 'bye', 290, 295)],
    };
    expect(inferVoiceTimeUnit([seg])).toBe('s');
    const out = assembleCallTranscript([seg]);
    expect(out.lines.map((l) => l.timestamp)).toEqual(['00:00:02.000', '00:00:40.000', '00:04:50.000']);
    expect(out.warnings.join()).toMatch(/seconds/);
  });

  it('drops times that fit no unit (never places words at the wrong moment), keeping IA order', () => {
    const seg: SegmentTranscript = {
      segmentId: 'A',
      startTime: iso(t0),
      endTime: iso(t0 + 60_000),
      blocks: [block('AGENT', 'first', 9_000_000_000), block('CLIENT', 'second', 10)],
    };
    const out = assembleCallTranscript([seg]);
    expect(out.timeUnit).toBe('none');
    expect(out.lines.map((l) => [l.text, l.timestamp])).toEqual([
      ['first', ''],
      ['second', ''],
    ]);
    expect(out.warnings.join()).toMatch(/fit no unit/);
  });

  it('assumes ms without segment lengths, ignores negative times and drops empty blocks', () => {
    const out = assembleCallTranscript([
      {
        segmentId: 'A',
        blocks: [block('AGENT', 'x', 3_000), block('AGENT', '  ', 4_000), block('CLIENT', 'y', -5)],
      },
    ]);
    expect(out.timeUnit).toBe('ms');
    expect(out.lines).toEqual([
      { speaker: 'AGENT', text: 'x', timestamp: '00:00:03.000' },
      { speaker: 'CUSTOMER', text: 'y', timestamp: '' },
    ]);
  });

  it('an analysed segment without blocks gives no lines', () => {
    expect(assembleCallTranscript([{ segmentId: 'A', blocks: [] }]).lines).toEqual([]);
  });

  it('formats offsets the engine reads', () => {
    expect(formatOffset(3725.5)).toBe('01:02:05.500');
    expect(parseTimestamp(formatOffset(3725.5))?.seconds).toBe(3725.5);
  });
});

describe('assembleChatTranscript', () => {
  it('maps participantType to speakers, sorts by timeStamp and drops empty messages', () => {
    const lines = assembleChatTranscript([
      { participantType: 'CUSTOMER', text: 'second', timeStamp: '2026-01-05T10:00:10Z' },
      { participantType: 'AGENT', text: 'first', timeStamp: '2026-01-05T10:00:01Z' },
      { participantType: 'BOT', text: 'third', timeStamp: '2026-01-05T10:00:20Z' },
      { participantType: 'AGENT', text: '', timeStamp: '2026-01-05T10:00:30Z' },
    ]);
    expect(lines).toEqual([
      { speaker: 'AGENT', text: 'first', timestamp: '2026-01-05T10:00:01.000Z' },
      { speaker: 'CUSTOMER', text: 'second', timestamp: '2026-01-05T10:00:10.000Z' },
      { speaker: 'UNKNOWN', text: 'third', timestamp: '2026-01-05T10:00:20.000Z' },
    ]);
  });
  it('keeps the given order when a time is missing', () => {
    const lines = assembleChatTranscript([
      { participantType: 'AGENT', text: 'b', timeStamp: '2026-01-05T10:00:10Z' },
      { participantType: 'AGENT', text: 'a', timeStamp: null },
    ]);
    expect(lines.map((l) => l.text)).toEqual(['b', 'a']);
  });
});

import { describe, expect, it } from 'vitest';
import { assembleCallTranscript, assembleChatTranscript } from '../../src/cxone/platform/transcript.js';
import {
  generatePlatformSamples,
  SAMPLE_RULES,
  TUTORIAL_RUBRIC_PATTERNS,
} from '../../src/simulator/index.js';

describe('generatePlatformSamples', () => {
  const samples = generatePlatformSamples(300, 7);

  it('is deterministic and covers every kind', () => {
    expect(generatePlatformSamples(300, 7)).toEqual(samples);
    const kinds = new Set(samples.map((s) => s.kind));
    expect([...kinds].sort()).toEqual(['call', 'chat', 'digital', 'email', 'unrecorded-call']);
    const segmentCounts = new Set(
      samples.filter((s) => s.kind === 'call').map((s) => s.contact.segments!.length),
    );
    expect([...segmentCounts].sort()).toEqual([1, 2, 3]);
    expect(samples.some((s) => s.contact.agentId === null)).toBe(true);
  });

  it('keeps the ground truth: the assembled transcript holds exactly the rubric elements it claims', () => {
    for (const sample of samples) {
      const c = sample.contact;
      const lines =
        sample.kind === 'call'
          ? assembleCallTranscript(
              c.segments!.map((s) => ({
                segmentId: s.segmentId,
                startTime: new Date(s.startTime).toISOString(),
                endTime: new Date(s.endTime).toISOString(),
                blocks: s.blocks.map((b) => ({
                  userType: b.side,
                  channelName: b.side,
                  text: b.text,
                  voiceMetadata: { startTime: b.startMs ?? null, endTime: b.endMs ?? null },
                })),
              })),
            ).lines
          : sample.kind === 'chat' || sample.kind === 'digital'
            ? assembleChatTranscript(
                c.messages!.map((m) => ({ ...m, timeStamp: new Date(m.timeStamp).toISOString() })),
              )
            : [];
      const text = lines.map((l) => l.text).join(' ');
      for (const rule of SAMPLE_RULES) {
        expect(TUTORIAL_RUBRIC_PATTERNS[rule].test(text), `${c.contactId} ${rule}`).toBe(
          sample.compliance[rule],
        );
      }
      // Calls keep the speaking order across segments.
      if (sample.kind === 'call') expect(lines.every((l) => l.timestamp !== '')).toBe(true);
    }
  });

  it('can start past 2^53', () => {
    const [first] = generatePlatformSamples(1, 1, { firstContactId: '9007199254740993' });
    expect(first!.contact.contactId).toBe('9007199254740993');
  });
});

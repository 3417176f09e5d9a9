import { describe, expect, it } from 'vitest';
import {
  generateSampleConversations,
  SAMPLE_RULES,
  TUTORIAL_RUBRIC_PATTERNS,
} from '../../src/simulator/index.js';

describe('generateSampleConversations', () => {
  it('is deterministic for a seed and differs between seeds', () => {
    expect(generateSampleConversations(50, 7)).toEqual(generateSampleConversations(50, 7));
    expect(generateSampleConversations(50, 8)).not.toEqual(generateSampleConversations(50, 7));
  });

  it('its compliance flags are the truth the tutorial rubric finds in the joined transcript', () => {
    const conversations = generateSampleConversations(400, 42);
    for (const conv of conversations) {
      const joined = conv.transcript.map((line) => line.text).join(' ');
      for (const rule of SAMPLE_RULES) {
        expect({ id: conv.id, rule, found: TUTORIAL_RUBRIC_PATTERNS[rule].test(joined) }).toEqual({
          id: conv.id,
          rule,
          found: conv.compliance[rule],
        });
      }
    }
  });

  it('has the realistic mix: voice and chat, offsets and ISO times, some without agent, empty or non-compliant', () => {
    const conversations = generateSampleConversations(400, 1);
    const voice = conversations.filter((c) => c.type === 'voice');
    const chat = conversations.filter((c) => c.type === 'chat');
    expect(voice.length).toBeGreaterThan(100);
    expect(chat.length).toBeGreaterThan(50);
    expect(voice.flatMap((c) => c.transcript).every((l) => /^\d\d:\d\d:\d\d\.\d$/.test(l.timestamp))).toBe(
      true,
    );
    expect(chat.flatMap((c) => c.transcript).every((l) => !Number.isNaN(Date.parse(l.timestamp)))).toBe(true);
    expect(conversations.some((c) => c.agentId === null)).toBe(true);
    expect(conversations.some((c) => c.transcript.length === 0)).toBe(true);
    const full = conversations.filter((c) => SAMPLE_RULES.every((r) => c.compliance[r]));
    expect(full.length / conversations.length).toBeGreaterThan(0.5);
    expect(full.length).toBeLessThan(conversations.length - 40);
    const speakers = new Set(conversations.flatMap((c) => c.transcript.map((l) => l.speaker)));
    expect([...speakers].sort()).toEqual(['AGENT', 'CUSTOMER', 'SYSTEM']);
  });

  it('lists conversations newest first with unique ids and start before end', () => {
    const conversations = generateSampleConversations(100, 3, {
      endAt: Date.UTC(2025, 0, 1),
      idPrefix: 'c-',
    });
    expect(new Set(conversations.map((c) => c.id)).size).toBe(100);
    expect(conversations[0]?.endTime).toBe('2025-01-01T00:00:00.000Z');
    for (let i = 1; i < conversations.length; i++) {
      expect(Date.parse(conversations[i]!.endTime)).toBeLessThan(Date.parse(conversations[i - 1]!.endTime));
    }
    for (const c of conversations) {
      expect(c.id.startsWith('c-')).toBe(true);
      expect(Date.parse(c.startTime)).toBeLessThan(Date.parse(c.endTime));
    }
  });
});

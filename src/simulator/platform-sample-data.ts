import { parseTimestamp } from '../scoring/index.js';
import type { PlatformSimBlock, PlatformSimContact, PlatformSimSegment } from './platform.js';
import { generateSampleConversations, type SampleOptions, type SampleRule } from './sample-data.js';

/**
 * Sample contacts for the platform simulator, built from the tutorial samples' text so the same
 * ground truth (`compliance`) holds: calls of one to three segments (a transfer splits the call),
 * chats and digital contacts with messages, contacts without an agent, and contacts with no usable
 * transcript source (an unrecorded call, an email). Deterministic for the same arguments.
 */

export type PlatformSampleKind = 'call' | 'chat' | 'digital' | 'unrecorded-call' | 'email';

export interface PlatformSample {
  contact: PlatformSimContact;
  kind: PlatformSampleKind;
  /** Which tutorial rubric elements the transcript holds (all false when there is none). */
  compliance: Record<SampleRule, boolean>;
}

export interface PlatformSampleOptions extends Omit<SampleOptions, 'idPrefix' | 'agentIds' | 'chatRate'> {
  /** First contact id (int64 as digits). Default 700000000001; use one past 2^53 to test exactness. */
  firstContactId?: string;
  /** Agent ids (digits). */
  agentIds?: string[];
  /** Shares of chats and digital contacts; the rest are calls. Defaults 0.25 and 0.1. */
  chatRate?: number;
  digitalRate?: number;
  /** Share of calls that were not recorded, and of contacts that are emails. Defaults 0.04 each. */
  unrecordedRate?: number;
  emailRate?: number;
  /** Segments are analysed this long after the call ends (epoch-independent). Default 0. */
  analysisDelayMs?: number;
}

function createRandom(seed: number): () => number {
  let a = (seed ^ 0x9e3779b9) >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const NONE: Record<SampleRule, boolean> = {
  greeting: false,
  verification: false,
  compliance_disclosure: false,
  closing_summary: false,
};

export function generatePlatformSamples(
  count: number,
  seed: number,
  opts: PlatformSampleOptions = {},
): PlatformSample[] {
  const random = createRandom(seed);
  const agentIds = opts.agentIds ?? ['10001', '10002', '10003', '10004', '10005'];
  const chatRate = opts.chatRate ?? 0.25;
  const digitalRate = opts.digitalRate ?? 0.1;
  const unrecordedRate = opts.unrecordedRate ?? 0.04;
  const emailRate = opts.emailRate ?? 0.04;
  const analysisDelayMs = opts.analysisDelayMs ?? 0;
  const first = BigInt(opts.firstContactId ?? '700000000001');
  // The tutorial generator makes the words; this one decides the channel.
  const base: SampleOptions = { agentIds, chatRate: 0 };
  for (const key of [
    'endAt',
    'spacingMs',
    'withoutAgentRate',
    'emptyTranscriptRate',
    'nonCompliantRate',
  ] as const) {
    if (opts[key] !== undefined) base[key] = opts[key];
  }
  const conversations = generateSampleConversations(count, seed, base);

  return conversations.map((conversation, n) => {
    const contactId = (first + BigInt(n)).toString();
    const start = Date.parse(conversation.startTime);
    const end = Date.parse(conversation.endTime);
    const roll = random();
    const kind: PlatformSampleKind =
      roll < emailRate
        ? 'email'
        : roll < emailRate + chatRate
          ? 'chat'
          : roll < emailRate + chatRate + digitalRate
            ? 'digital'
            : random() < unrecordedRate
              ? 'unrecorded-call'
              : 'call';
    const common = {
      contactId,
      agentId: conversation.agentId,
      agentName: `Agent ${conversation.agentId ?? ''}`.trim(),
      startTime: start,
      endTime: end,
    };
    // System lines ("Customer joined the queue") have no place in IA's two channels or in a chat.
    const spoken = conversation.transcript.filter((l) => l.speaker === 'AGENT' || l.speaker === 'CUSTOMER');
    const offsets = spoken.map((l) => parseTimestamp(l.timestamp));

    if (kind === 'email') {
      return { kind, compliance: NONE, contact: { ...common, media: 'email' } };
    }
    if (kind === 'unrecorded-call') {
      return { kind, compliance: NONE, contact: { ...common, media: 'call', segments: [] } };
    }
    if (kind === 'chat' || kind === 'digital') {
      let at = start + 2_000;
      const messages = spoken.map((l) => {
        at += 3_000 + Math.floor(random() * 20_000);
        return { participantType: l.speaker, text: l.text, timeStamp: Math.min(at, end) };
      });
      return {
        kind,
        compliance: conversation.compliance,
        contact: { ...common, media: kind, messages },
      };
    }

    // A call: one segment, or a transfer into two or three. Block times are milliseconds from the
    // start of their segment, as the service assumes IA's voiceMetadata to be.
    const segmentCount = spoken.length < 3 ? 1 : 1 + Math.floor(random() * 3);
    const cuts = [0];
    for (let k = 1; k < segmentCount; k++) cuts.push(Math.round((spoken.length * k) / segmentCount));
    cuts.push(spoken.length);
    const secondsOf = (i: number) => {
      const p = offsets[i];
      return p && p.kind === 'offset' ? p.seconds : i * 8;
    };
    const segments: PlatformSimSegment[] = [];
    for (let k = 0; k < segmentCount; k++) {
      const from = cuts[k]!;
      const to = cuts[k + 1]!;
      const segStart = k === 0 ? start : start + Math.max(0, secondsOf(from) - 1) * 1000;
      const segEnd = k === segmentCount - 1 ? end : start + Math.max(0, secondsOf(to) - 1) * 1000;
      const blocks: PlatformSimBlock[] = [];
      for (let i = from; i < to; i++) {
        const line = spoken[i]!;
        const at = Math.max(0, Math.round(start + secondsOf(i) * 1000 - segStart));
        blocks.push({
          side: line.speaker === 'AGENT' ? 'AGENT' : 'CLIENT',
          text: line.text,
          startMs: at,
          endMs: at + 1_500 + line.text.length * 40,
        });
      }
      segments.push({
        segmentId: `${contactId}-seg-${k + 1}-${(seed >>> 0).toString(36)}`,
        startTime: segStart,
        endTime: Math.max(segStart, segEnd),
        blocks,
        analysedAt: end + analysisDelayMs * (k + 1),
      });
    }
    return { kind, compliance: conversation.compliance, contact: { ...common, media: 'call', segments } };
  });
}

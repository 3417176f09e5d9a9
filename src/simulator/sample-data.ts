import type { TranscriptLine } from '../domain/transcript.js';

/**
 * Deterministic sample conversations for the demo, tests and benchmarks. Text is built so that the
 * tutorial rubric's four patterns match exactly when the conversation is meant to have that
 * element: filler lines never use any of the rubric's words, so `compliance` is the ground truth.
 */

export type SampleRule = 'greeting' | 'verification' | 'compliance_disclosure' | 'closing_summary';

export const SAMPLE_RULES: readonly SampleRule[] = [
  'greeting',
  'verification',
  'compliance_disclosure',
  'closing_summary',
];

/** The tutorial rubric's patterns (case-insensitive), for checking the generator's ground truth. */
export const TUTORIAL_RUBRIC_PATTERNS: Record<SampleRule, RegExp> = {
  greeting: /\b(hi|hello|welcome|good morning|good afternoon)\b/i,
  verification: /\b(verify|confirm|last four|date of birth|account number)\b/i,
  compliance_disclosure: /\b(this call may be recorded|quality assurance|monitoring)\b/i,
  closing_summary: /\b(is there anything else|thank you for calling|have a great day)\b/i,
};

export interface SampleConversation {
  id: string;
  agentId: string | null;
  type: 'voice' | 'chat';
  startTime: string;
  endTime: string;
  transcript: TranscriptLine[];
  /** Which tutorial rubric elements the transcript holds (all false for an empty transcript). */
  compliance: Record<SampleRule, boolean>;
}

export interface SampleOptions {
  /** End time of the newest conversation, epoch ms. Default 2024-05-10T17:00:00Z. */
  endAt?: number;
  /** Mean gap between conversation end times. Default 4 minutes. */
  spacingMs?: number;
  agentIds?: string[];
  /** Share of conversations with no agent. Default 0.05. */
  withoutAgentRate?: number;
  /** Share with an empty transcript. Default 0.04. */
  emptyTranscriptRate?: number;
  /** Share missing one or more rubric elements. Default 0.3. */
  nonCompliantRate?: number;
  /** Share of chats (the rest are voice). Default 0.35. */
  chatRate?: number;
  /** Prefix of conversation ids. Default `conv-`. */
  idPrefix?: string;
}

/** mulberry32: small, fast, good enough for sample data, and the same everywhere. */
export function createRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const GREETINGS = [
  'Hello, thank you for contacting Northwind Energy, my name is {agent}.',
  'Good morning, you have reached Northwind billing, {agent} speaking.',
  'Hi there, this is {agent} with Northwind support.',
  'Good afternoon and welcome to Northwind, my name is {agent}.',
];
const NEUTRAL_OPENINGS = ['Northwind support, {agent} speaking.', 'You are through to {agent} at Northwind.'];
const DISCLOSURES = [
  'Before we begin, this call may be recorded for quality assurance and training purposes.',
  'Please note this call may be recorded and is subject to monitoring.',
  'Just so you know, our conversations are kept for quality assurance.',
];
const VERIFICATIONS = [
  'Could you please verify your date of birth for me?',
  'Can you confirm the last four digits of the card on file?',
  'For security, please confirm your account number.',
];
const CUSTOMER_VERIFY_ANSWERS = [
  'Sure, it is the fourteenth of March, 1986.',
  'Yes, it ends in 4417.',
  'It is 88 21 403 5.',
];
const NEUTRAL_AGENT_CHECKS = [
  'Let me pull up the details on my side.',
  'One moment while I open that up.',
  'I can see the record now.',
];
const ISSUES = [
  [
    'I was charged twice on my last bill.',
    'I see the duplicate charge; I have refunded it, you should see it in three to five days.',
  ],
  [
    'My internet keeps dropping in the evening.',
    'I have reset the line from our side and booked an engineer check for Thursday.',
  ],
  [
    'I would like to move my plan to the cheaper tariff.',
    'Done, the new tariff starts from your next billing period.',
  ],
  [
    'The meter reading on my statement looks wrong.',
    'I have corrected the reading and reissued the statement by email.',
  ],
  ['I need to update my postal address.', 'The address is updated; the next letter goes to the new one.'],
  [
    'Why did my direct debit go up?',
    'The increase follows the annual price change; I have spread it over twelve months.',
  ],
] as const;
const CUSTOMER_ACKS = ['Okay, that sounds good.', 'Great, thanks.', 'Perfect.', 'Alright, understood.'];
const CLOSINGS = [
  'Is there anything else I can help you with today?',
  'Thank you for calling Northwind, have a great day!',
  'Thank you for calling, and have a great day.',
];
const NEUTRAL_CLOSINGS = ['Okay, bye now.', 'That is all sorted then, goodbye.'];
const SYSTEM_LINES = ['Customer joined the queue.', 'Transferred from IVR: billing.'];
const AGENT_NAMES = ['Maria', 'James', 'Aisha', 'Tom', 'Priya', 'Lukas', 'Chen', 'Sofia'];

function pick<T>(random: () => number, items: readonly T[]): T {
  return items[Math.floor(random() * items.length)]!;
}

function formatOffset(seconds: number): string {
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${pad(h)}:${pad(m)}:${s.toFixed(1).padStart(4, '0')}`;
}

/**
 * `count` conversations, newest first, the same for the same `count`, `seed` and options. Voice
 * transcripts carry offsets such as `00:01:23.5`, chats ISO-8601 times.
 */
export function generateSampleConversations(
  count: number,
  seed: number,
  opts: SampleOptions = {},
): SampleConversation[] {
  const random = createRandom(seed);
  const endAt = opts.endAt ?? Date.UTC(2024, 4, 10, 17, 0, 0);
  const spacingMs = opts.spacingMs ?? 4 * 60_000;
  const agentIds = opts.agentIds ?? [
    'agent-10001',
    'agent-10002',
    'agent-10003',
    'agent-10004',
    'agent-10005',
  ];
  const withoutAgentRate = opts.withoutAgentRate ?? 0.05;
  const emptyRate = opts.emptyTranscriptRate ?? 0.04;
  const nonCompliantRate = opts.nonCompliantRate ?? 0.3;
  const chatRate = opts.chatRate ?? 0.35;
  const idPrefix = opts.idPrefix ?? 'conv-';

  const out: SampleConversation[] = [];
  let end = endAt;
  for (let n = 0; n < count; n++) {
    const type = random() < chatRate ? 'chat' : 'voice';
    const agentId = random() < withoutAgentRate ? null : pick(random, agentIds);
    const agentName = pick(random, AGENT_NAMES);
    const empty = random() < emptyRate;

    const has: Record<SampleRule, boolean> = {
      greeting: true,
      verification: true,
      compliance_disclosure: true,
      closing_summary: true,
    };
    if (random() < nonCompliantRate) {
      // Miss one element, sometimes two.
      const missing = 1 + (random() < 0.25 ? 1 : 0);
      const order = [...SAMPLE_RULES].sort(() => random() - 0.5);
      for (const rule of order.slice(0, missing)) has[rule] = false;
    }

    const turns: [string, string][] = [];
    if (random() < 0.2) turns.push(['SYSTEM', pick(random, SYSTEM_LINES)]);
    const fill = (text: string) => text.replace('{agent}', agentName);
    turns.push(['AGENT', fill(has.greeting ? pick(random, GREETINGS) : pick(random, NEUTRAL_OPENINGS))]);
    if (has.compliance_disclosure) turns.push(['AGENT', pick(random, DISCLOSURES)]);
    const [problem, fix] = pick(random, ISSUES);
    turns.push(['CUSTOMER', problem]);
    if (has.verification) {
      const index = Math.floor(random() * VERIFICATIONS.length);
      turns.push(['AGENT', VERIFICATIONS[index]!]);
      turns.push(['CUSTOMER', CUSTOMER_VERIFY_ANSWERS[index]!]);
    }
    turns.push(['AGENT', pick(random, NEUTRAL_AGENT_CHECKS)]);
    turns.push(['AGENT', fix]);
    turns.push(['CUSTOMER', pick(random, CUSTOMER_ACKS)]);
    turns.push(['AGENT', has.closing_summary ? pick(random, CLOSINGS) : pick(random, NEUTRAL_CLOSINGS)]);
    if (has.closing_summary && random() < 0.5) turns.push(['CUSTOMER', 'No, that was everything.']);

    const gaps = turns.map(() => 4 + Math.floor(random() * 20) + Math.round(random() * 10) / 10);
    const durationSec = Math.ceil(gaps.reduce((a, b) => a + b, 0)) + 5;
    const endTime = end;
    const startTime = endTime - durationSec * 1000;

    let offset = 1 + Math.round(random() * 30) / 10;
    const transcript: TranscriptLine[] = empty
      ? []
      : turns.map(([speaker, text], i) => {
          const timestamp =
            type === 'voice'
              ? formatOffset(Math.round(offset * 10) / 10)
              : new Date(startTime + Math.round(offset * 1000)).toISOString();
          offset += gaps[i]!;
          return { speaker, text, timestamp };
        });

    const compliance: Record<SampleRule, boolean> = {
      greeting: !empty && has.greeting,
      verification: !empty && has.verification,
      compliance_disclosure: !empty && has.compliance_disclosure,
      closing_summary: !empty && has.closing_summary,
    };
    out.push({
      id: `${idPrefix}${seed}-${String(n + 1).padStart(5, '0')}`,
      agentId,
      type,
      startTime: new Date(startTime).toISOString(),
      endTime: new Date(endTime).toISOString(),
      transcript,
      compliance,
    });
    end -= Math.max(30_000, Math.round(spacingMs * (0.5 + random())));
  }
  return out;
}

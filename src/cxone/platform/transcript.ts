import type { TranscriptLine } from '../../domain/transcript.js';
import type { AnalyzedBlockWire, MediaMessageWire } from './schemas.js';

/**
 * Turns what the documented APIs give for one contact into the transcript the rubric engine reads.
 * Pure: no I/O, no clock.
 *
 * Calls: the contact's segments (Media Playback, with their start and end times) each have an
 * Interaction Analytics transcript of blocks. Speaker from the block's `userType`/`channelName`,
 * time from `voiceMetadata.startTime`, lines of every segment merged in time order.
 * Chats and digital contacts: Media Playback's `messages`.
 */

export type Side = 'AGENT' | 'CUSTOMER' | 'UNKNOWN';

const AGENT_WORDS = new Set(['AGENT']);
const CUSTOMER_WORDS = new Set(['CLIENT', 'CUSTOMER']);

function sideOf(value: string | null | undefined): Side | null {
  const v = (value ?? '').trim().toUpperCase();
  if (AGENT_WORDS.has(v)) return 'AGENT';
  if (CUSTOMER_WORDS.has(v)) return 'CUSTOMER';
  return null;
}

/**
 * `AGENT` is the agent; `CLIENT` or `CUSTOMER` the customer (any case); anything else, or the two
 * fields contradicting each other, is unknown: a rule scoped to the agent must never be passed by
 * words we are not sure the agent said.
 */
export function speakerOfBlock(block: Pick<AnalyzedBlockWire, 'userType' | 'channelName'>): Side {
  const byUser = sideOf(block.userType);
  const byChannel = sideOf(block.channelName);
  if (byUser && byChannel && byUser !== byChannel) return 'UNKNOWN';
  return byUser ?? byChannel ?? 'UNKNOWN';
}

export function speakerOfMessage(message: Pick<MediaMessageWire, 'participantType'>): Side {
  return sideOf(message.participantType) ?? 'UNKNOWN';
}

/** One analysed segment of a call: Media Playback's times, IA's blocks. */
export interface SegmentTranscript {
  segmentId: string;
  /** ISO-8601 from Media Playback's segmentsDataList, when given. */
  startTime?: string | null;
  endTime?: string | null;
  blocks: AnalyzedBlockWire[];
}

/**
 * The unit of `voiceMetadata.startTime`/`endTime`: NICE documents integers without a unit. We take
 * milliseconds from the segment's start (IA times words, and whole seconds could not order the
 * blocks of a fast exchange; the community code that reads these fields divides by 1000), and check
 * it against the segment's length from Media Playback: when the times only fit as seconds they are
 * read as seconds, and when they fit neither the times are dropped (rules with time windows then
 * fall back to turns) rather than placing words at the wrong moment.
 */
export type VoiceTimeUnit = 'ms' | 's' | 'none';

export interface AssembledTranscript {
  lines: TranscriptLine[];
  timeUnit: VoiceTimeUnit;
  /** What was odd and how it was handled, for the job's log line (never transcript text). */
  warnings: string[];
}

function finite(n: number | null | undefined): n is number {
  return typeof n === 'number' && Number.isFinite(n) && n >= 0;
}

function parseIso(value: string | null | undefined): number | null {
  if (!value) return null;
  const ms = Date.parse(value);
  return Number.isFinite(ms) ? ms : null;
}

function durationSeconds(segment: SegmentTranscript): number | null {
  const start = parseIso(segment.startTime);
  const end = parseIso(segment.endTime);
  return start !== null && end !== null && end >= start ? (end - start) / 1000 : null;
}

/** Largest block time of a segment, raw; null when it has none. */
function maxRawTime(segment: SegmentTranscript): number | null {
  let max: number | null = null;
  for (const b of segment.blocks) {
    for (const t of [b.voiceMetadata?.startTime, b.voiceMetadata?.endTime]) {
      if (finite(t)) max = max === null ? t : Math.max(max, t);
    }
  }
  return max;
}

/** Slack for clocks that disagree a little between Media Playback and IA. */
const fits = (seconds: number, duration: number) => seconds <= duration * 1.2 + 5;

export function inferVoiceTimeUnit(segments: SegmentTranscript[]): VoiceTimeUnit {
  let anyTimes = false;
  let measured = false;
  let ms = true;
  let seconds = true;
  for (const segment of segments) {
    const max = maxRawTime(segment);
    if (max === null) continue;
    anyTimes = true;
    const duration = durationSeconds(segment);
    if (duration === null) continue;
    measured = true;
    if (!fits(max / 1000, duration)) ms = false;
    // Seconds only when milliseconds would squeeze several blocks into well under a second of a call
    // that lasted at least half a minute: no speech is that fast.
    const spoken = segment.blocks.filter((b) => (b.text ?? '').trim() !== '').length;
    if (!(fits(max, duration) && duration >= 30 && spoken >= 2 && max / 1000 < 1)) seconds = false;
  }
  if (!anyTimes) return 'none';
  if (measured && seconds) return 's';
  if (ms) return 'ms';
  return 'none';
}

/** `H:MM:SS.mmm` from the start of the contact: the offset form the rubric engine reads. */
export function formatOffset(seconds: number): string {
  const totalMs = Math.max(0, Math.round(seconds * 1000));
  const h = Math.floor(totalMs / 3_600_000);
  const m = Math.floor((totalMs % 3_600_000) / 60_000);
  const s = (totalMs % 60_000) / 1000;
  return `${String(h).padStart(2, '0')}:${String(m).padStart(2, '0')}:${s.toFixed(3).padStart(6, '0')}`;
}

/**
 * The call's transcript: every segment's blocks, each placed at its segment's start (relative to the
 * earliest segment) plus its own start, merged in time order (a transfer's second segment follows the
 * first; a conference's overlap interleaves). Blocks without text are left out. Without usable
 * times, segments follow each other in start order and blocks in the order IA gave them.
 */
export function assembleCallTranscript(segments: SegmentTranscript[]): AssembledTranscript {
  const warnings: string[] = [];
  const unit = inferVoiceTimeUnit(segments);
  if (unit === 's') warnings.push('voiceMetadata times fit only as seconds: read as seconds');
  if (unit === 'none' && segments.some((s) => maxRawTime(s) !== null)) {
    warnings.push('voiceMetadata times fit no unit against the segment lengths: times left out');
  }
  const divisor = unit === 's' ? 1 : 1000;

  // Segments in start order; one without a start keeps its place after the one before it.
  const ordered = segments
    .map((segment, index) => ({ segment, index, start: parseIso(segment.startTime) }))
    .sort((a, b) =>
      a.start !== null && b.start !== null ? a.start - b.start || a.index - b.index : a.index - b.index,
    );
  const base = ordered.reduce<number | null>(
    (min, s) => (s.start === null ? min : min === null ? s.start : Math.min(min, s.start)),
    null,
  );

  type Placed = { line: TranscriptLine; at: number | null; order: number };
  const placed: Placed[] = [];
  let order = 0;
  let previousEnd = 0;
  for (const { segment, start } of ordered) {
    const offset = start !== null && base !== null ? (start - base) / 1000 : previousEnd;
    let segmentEnd = offset;
    for (const block of segment.blocks) {
      const text = (block.text ?? '').trim();
      if (text === '') continue;
      const raw = block.voiceMetadata?.startTime;
      const at = unit !== 'none' && finite(raw) ? offset + raw / divisor : null;
      const rawEnd = block.voiceMetadata?.endTime;
      if (unit !== 'none' && finite(rawEnd)) segmentEnd = Math.max(segmentEnd, offset + rawEnd / divisor);
      if (at !== null) segmentEnd = Math.max(segmentEnd, at);
      placed.push({
        line: { speaker: speakerOfBlock(block), text, timestamp: at === null ? '' : formatOffset(at) },
        at,
        order: order++,
      });
    }
    const duration = durationSeconds(segment);
    previousEnd = duration !== null ? Math.max(segmentEnd, offset + duration) : segmentEnd;
  }
  if (unit !== 'none') {
    // Stable: equal times keep segment order, then IA's block order. A block without a time sorts
    // with the one before it.
    let last = 0;
    for (const p of placed) {
      if (p.at === null) p.at = last;
      else last = p.at;
    }
    placed.sort((a, b) => a.at! - b.at! || a.order - b.order);
  }
  return { lines: placed.map((p) => p.line), timeUnit: unit, warnings };
}

/**
 * A chat's or digital contact's transcript from Media Playback's messages: speaker from
 * `participantType`, time the message's own ISO-8601 `timeStamp` (the engine measures from the first
 * one). Messages without text are left out; they are put in time order when every one has a time.
 */
export function assembleChatTranscript(messages: MediaMessageWire[]): TranscriptLine[] {
  const rows = messages
    .map((m, index) => ({ m, index, at: parseIso(m.timeStamp) }))
    .filter((r) => (r.m.text ?? '').trim() !== '');
  if (rows.every((r) => r.at !== null)) rows.sort((a, b) => a.at! - b.at! || a.index - b.index);
  return rows.map(({ m, at }) => ({
    speaker: speakerOfMessage(m),
    text: (m.text ?? '').trim(),
    timestamp: at === null ? '' : new Date(at).toISOString(),
  }));
}

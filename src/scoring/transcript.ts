/**
 * What the engine derives from a transcript once per scoring: speakers, times relative to the start of
 * the call, and accent- and case-folded text for phrase search (computed only when a phrase needs it).
 */
import { isWordChar } from './regex/chars.js';
import { isAscii } from './regex/index.js';
import type { TranscriptLine } from './types.js';

export type Speaker = 'agent' | 'customer' | 'system' | 'other';

/**
 * Whether a transcript has nothing to evaluate: no line with any text. Such a conversation is not
 * scored, by the service or offline (docs/rubrics.md section 8): every rule would fail on silence, and
 * an empty transcript is nearly always a transcription problem, not an agent's.
 */
export function isEmptyTranscript(lines: readonly TranscriptLine[]): boolean {
  return !lines.some((line) => String(line.text ?? '').trim() !== '');
}

/** Why an empty transcript was not scored, in the service's job record and the CLIs' output alike. */
export const EMPTY_TRANSCRIPT = 'transcript is empty';

/** Text folded for phrase search, with the way back to positions in the original line. */
export interface FoldedText {
  text: string;
  /** Original index of each folded index, plus one entry for the end; null when identical positions. */
  map: Int32Array | null;
}

const OFFSET = /^(?:(\d+):)?(\d{1,2}):(\d{1,2}(?:\.\d+)?)$/;
const SECONDS = /^\d+(?:\.\d+)?$/;
const ISO = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}/;

/**
 * Seconds of a timestamp: an offset such as `00:01:23.5`, `01:23` or `83.5` (kind 'offset'), or an
 * ISO-8601 time (kind 'absolute', seconds since the epoch); null when empty or unreadable.
 */
export function parseTimestamp(raw: string): { kind: 'offset' | 'absolute'; seconds: number } | null {
  const s = raw.trim();
  if (s === '') return null;
  const m = OFFSET.exec(s);
  if (m) {
    const [h, min, sec] = [Number(m[1] ?? 0), Number(m[2]), Number(m[3])];
    if (min >= 60 && m[1] !== undefined) return null;
    if (sec >= 60) return null;
    return { kind: 'offset', seconds: h * 3600 + min * 60 + sec };
  }
  if (SECONDS.test(s)) return { kind: 'offset', seconds: Number(s) };
  if (ISO.test(s)) {
    const ms = Date.parse(s);
    if (!Number.isNaN(ms)) return { kind: 'absolute', seconds: ms / 1000 };
  }
  return null;
}

export function normalizeSpeaker(raw: string): Speaker {
  const s = raw.trim().toLowerCase();
  return s === 'agent' || s === 'customer' || s === 'system' ? s : 'other';
}

/** Lower case, accents removed, curly apostrophes straightened, whitespace runs made one space. */
export function foldText(line: string): FoldedText {
  if (isAscii(line) && !/\s\s|[\t\n\r\f\v]/.test(line)) return { text: line.toLowerCase(), map: null };
  let out = '';
  const map: number[] = [];
  let lastSpace = false;
  for (let i = 0; i < line.length; ) {
    const cp = line.codePointAt(i)!;
    const ch = String.fromCodePoint(cp);
    const width = ch.length;
    if (/\s/.test(ch)) {
      if (!lastSpace) {
        out += ' ';
        map.push(i);
      }
      lastSpace = true;
    } else {
      lastSpace = false;
      let f = ch === '\u2019' || ch === '\u2018' || ch === '\u02bc' ? "'" : ch;
      if (cp >= 128) f = f.normalize('NFD').replace(/\p{M}/gu, '').toLowerCase();
      else f = f.toLowerCase();
      for (let k = 0; k < f.length; k++) {
        out += f[k];
        map.push(i);
      }
    }
    i += width;
  }
  map.push(line.length);
  return { text: out, map: Int32Array.from(map) };
}

/** Phrase as searched: folded like the text, trimmed. */
export function foldPhrase(phrase: string): string {
  return foldText(phrase.trim()).text;
}

/** Start index of `phrase` in `folded` at or after `from`, on word boundaries; -1 when absent. */
export function findPhrase(folded: string, phrase: string, from: number): number {
  const first = phrase.codePointAt(0)!;
  const last = phrase.codePointAt(phrase.length - 1)!;
  const needStart = isWordChar(first);
  const needEnd = isWordChar(last);
  let i = folded.indexOf(phrase, from);
  while (i >= 0) {
    const before = i > 0 ? folded.codePointAt(i - 1)! : -1;
    const after = i + phrase.length < folded.length ? folded.codePointAt(i + phrase.length)! : -1;
    const okStart = !needStart || before < 0 || !isWordChar(before);
    const okEnd = !needEnd || after < 0 || !isWordChar(after);
    if (okStart && okEnd) return i;
    i = folded.indexOf(phrase, i + 1);
  }
  return -1;
}

/** Per-transcript facts, computed on first use (the tutorial shape needs them only for evidence). */
export class TranscriptContext {
  readonly lines: readonly TranscriptLine[];
  private speakerList: Speaker[] | undefined;
  private timing: { times: number[]; ownTime: boolean[]; usable: boolean; end: number } | undefined;
  private folded: (FoldedText | undefined)[];
  private ascii: (boolean | undefined)[];
  /** Per-rule memo, e.g. the first occurrence a `before:` reference needs. */
  readonly memo = new Map<string, unknown>();

  constructor(lines: readonly TranscriptLine[]) {
    this.lines = lines;
    this.folded = new Array(lines.length);
    this.ascii = new Array(lines.length);
  }

  get speakers(): Speaker[] {
    this.speakerList ??= this.lines.map((l) => normalizeSpeaker(String(l.speaker ?? '')));
    return this.speakerList;
  }

  /** Seconds since the start of the call for each line (a line without a time takes its predecessor's). */
  get times(): number[] {
    return this.timed().times;
  }

  /** Whether the line's own timestamp was readable (for showing it in evidence). */
  get ownTime(): boolean[] {
    return this.timed().ownTime;
  }

  get timesUsable(): boolean {
    return this.timed().usable;
  }

  get endTime(): number {
    return this.timed().end;
  }

  private timed() {
    if (this.timing) return this.timing;
    const parsed = this.lines.map((l) => parseTimestamp(String(l.timestamp ?? '')));
    const firstAbsolute = parsed.find((p) => p?.kind === 'absolute')?.seconds ?? 0;
    const rel = parsed.map((p) =>
      p === null ? null : p.kind === 'absolute' ? p.seconds - firstAbsolute : p.seconds,
    );
    const firstKnown = rel.find((t) => t !== null) ?? null;
    let last = firstKnown ?? 0;
    const times = rel.map((t) => {
      if (t !== null) last = t;
      return last;
    });
    this.timing = {
      times,
      ownTime: rel.map((t) => t !== null),
      usable: firstKnown !== null,
      end: times.reduce((a, b) => Math.max(a, b), 0),
    };
    return this.timing;
  }

  /** The line's own time, relative to the start of the call, or null; cheaper than `times` for one line. */
  ownTimeOf(i: number): number | null {
    if (this.timing) return this.timing.ownTime[i] ? this.timing.times[i]! : null;
    const p = parseTimestamp(String(this.lines[i]!.timestamp ?? ''));
    if (p === null || p.kind === 'offset') return p?.seconds ?? null;
    for (const line of this.lines) {
      const q = parseTimestamp(String(line.timestamp ?? ''));
      if (q?.kind === 'absolute') return p.seconds - q.seconds;
    }
    return null;
  }

  foldedLine(i: number): FoldedText {
    let f = this.folded[i];
    if (f === undefined) {
      f = foldText(String(this.lines[i]!.text ?? ''));
      this.folded[i] = f;
    }
    return f;
  }

  isAsciiLine(i: number): boolean {
    let a = this.ascii[i];
    if (a === undefined) {
      a = isAscii(this.lines[i]!.text);
      this.ascii[i] = a;
    }
    return a;
  }
}

export function formatTime(seconds: number): string {
  const s = Math.floor(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${sec}` : `${String(m).padStart(2, '0')}:${sec}`;
}

/** Trims a quote to at most `max` characters, on one line. */
export function quote(s: string, max = 120): string {
  const flat = s.replace(/\s+/g, ' ').trim();
  return `"${flat.length > max ? `${flat.slice(0, max - 1)}…` : flat}"`;
}

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

const ISO = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}/;

/**
 * Seconds of a timestamp: an offset such as `00:01:23.5`, `01:23` or `83.5` (kind 'offset'), or an
 * ISO-8601 time (kind 'absolute', seconds since the epoch); null when empty or unreadable.
 *
 * Offsets are `[H+:]M{1,2}:S{1,2}[.F+]` or `S+[.F+]` (digits only), read here character by
 * character; an ISO time in the form CXone writes (`2024-05-10T14:30:04.000Z`, or without the
 * milliseconds) with ordinary field values is computed with Date.UTC, anything else goes to
 * Date.parse. Every line of every transcript is read once per scoring, and this took 0.5-0.8 us a
 * line with regular expressions and Date.parse.
 */
export function parseTimestamp(raw: string): { kind: 'offset' | 'absolute'; seconds: number } | null {
  const s = raw.trim();
  if (s === '') return null;
  const offset = parseOffset(s);
  if (offset !== undefined) return offset === null ? null : { kind: 'offset', seconds: offset };
  const utc = isoUtcMs(s);
  if (utc !== null) return { kind: 'absolute', seconds: utc / 1000 };
  if (ISO.test(s)) {
    const ms = Date.parse(s);
    if (!Number.isNaN(ms)) return { kind: 'absolute', seconds: ms / 1000 };
  }
  return null;
}

function isDigitCode(c: number): boolean {
  return c >= 48 && c <= 57;
}

/**
 * An offset's seconds; null when it has an offset's form but an impossible value (`1:75:00`,
 * `00:61`); undefined when it is not an offset at all.
 */
function parseOffset(s: string): number | null | undefined {
  // Up to three runs of digits separated by single colons, the last optionally followed by a
  // fraction. a0-a1, b0-b1, c0-c1: the runs (the last one read is the seconds).
  let a0 = -1;
  let a1 = -1;
  let b0 = -1;
  let b1 = -1;
  let c0 = 0;
  let c1 = 0;
  let groups = 0;
  let fractionEnd = -1;
  let i = 0;
  for (;;) {
    const start = i;
    while (i < s.length && isDigitCode(s.charCodeAt(i))) i++;
    if (i === start) return undefined;
    groups++;
    a0 = b0;
    a1 = b1;
    b0 = c0;
    b1 = c1;
    c0 = start;
    c1 = i;
    if (i === s.length) break;
    const c = s.charCodeAt(i);
    if (c === 58 /* : */ && groups < 3) {
      i++;
      continue;
    }
    if (c !== 46 /* . */) return undefined;
    const fraction = ++i;
    while (i < s.length && isDigitCode(s.charCodeAt(i))) i++;
    if (i === fraction || i !== s.length) return undefined;
    fractionEnd = i;
    break;
  }
  // Minutes and seconds take one or two digits.
  if (groups > 1 && (c1 - c0 > 2 || b1 - b0 > 2)) return undefined;
  // The seconds with their fraction, as Number reads them (a fraction of zeros adds nothing).
  let sec = -1;
  for (let k = c1 + 1; k < fractionEnd; k++) {
    if (s.charCodeAt(k) !== 48) {
      sec = Number(s.slice(c0, fractionEnd));
      break;
    }
  }
  if (sec < 0) sec = digits(s, c0, c1);
  if (groups === 1) return sec;
  const min = digits(s, b0, b1);
  const h = groups === 3 ? digits(s, a0, a1) : 0;
  if (min >= 60 && groups === 3) return null;
  if (sec >= 60) return null;
  return h * 3600 + min * 60 + sec;
}

/** The number a run of ASCII digits spells, as Number would read it. */
function digits(s: string, start: number, end: number): number {
  if (end - start > 15) return Number(s.slice(start, end));
  let n = 0;
  for (let i = start; i < end; i++) n = n * 10 + (s.charCodeAt(i) - 48);
  return n;
}

/** The number of `width` ASCII digits at `at`, or -1 when one is not a digit. */
function field(s: string, at: number, width: number): number {
  let n = 0;
  for (let i = at; i < at + width; i++) {
    const c = s.charCodeAt(i);
    if (!isDigitCode(c)) return -1;
    n = n * 10 + (c - 48);
  }
  return n;
}

/**
 * Milliseconds of `YYYY-MM-DDTHH:MM:SS[.mmm]Z` when every field is one Date.parse reads the same
 * way as Date.UTC (no 24:00, no day past the 28th, no year before 100); otherwise null.
 */
function isoUtcMs(s: string): number | null {
  if (s.length !== 20 && s.length !== 24) return null;
  if (s.charCodeAt(s.length - 1) !== 90 /* Z */) return null;
  // - - T : : (and . before the milliseconds)
  if (s.charCodeAt(4) !== 45 || s.charCodeAt(7) !== 45 || s.charCodeAt(10) !== 84) return null;
  if (s.charCodeAt(13) !== 58 || s.charCodeAt(16) !== 58) return null;
  if (s.length === 24 && s.charCodeAt(19) !== 46) return null;
  const year = field(s, 0, 4);
  const month = field(s, 5, 2);
  const day = field(s, 8, 2);
  const hour = field(s, 11, 2);
  const minute = field(s, 14, 2);
  const second = field(s, 17, 2);
  const ms = s.length === 24 ? field(s, 20, 3) : 0;
  if (year < 100 || month < 1 || month > 12 || day < 1 || day > 28) return null;
  if (hour < 0 || hour > 23 || minute < 0 || minute > 59 || second < 0 || second > 59 || ms < 0) return null;
  return Date.UTC(year, month - 1, day, hour, minute, second, ms);
}

export function normalizeSpeaker(raw: string): Speaker {
  const s = raw.trim().toLowerCase();
  return s === 'agent' || s === 'customer' || s === 'system' ? s : 'other';
}

/** Lower case, accents removed, curly apostrophes straightened, whitespace runs made one space. */
// What keeps a line off the fast path of foldText: anything not ASCII, whitespace other than the
// space, or two spaces (in ASCII text, that is exactly "not ASCII, or \s\s, or [\t\n\r\f\v]"), in
// one pass over the line.
// biome-ignore lint/suspicious/noControlCharactersInRegex: the ASCII range starts at U+0000
const NOT_PLAIN = /[^\u0000-\u007f]|[\t\n\v\f\r]| {2}/;

export function foldText(line: string): FoldedText {
  if (!NOT_PLAIN.test(line)) return { text: line.toLowerCase(), map: null };
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
  /** Seconds of the first absolute timestamp (null: none), once ownTimeOf has looked for it. */
  private firstAbsolute: number | null | undefined;
  // The memos below are made on first use: the tutorial's rules use none of them, and making them
  // for every transcript was a tenth of what scoring a call allocated.
  private folded: (FoldedText | undefined)[] | undefined;
  private ascii: (boolean | undefined)[] | undefined;
  private memoMap: Map<string, unknown> | undefined;
  private byFinderMap: Map<object, unknown> | undefined;

  constructor(lines: readonly TranscriptLine[]) {
    this.lines = lines;
  }

  /** Per-rule memo, e.g. the first occurrence a `before:` reference needs. */
  get memo(): Map<string, unknown> {
    this.memoMap ??= new Map();
    return this.memoMap;
  }

  /** Per-finder memo (a rubric's finders are objects compiled once), e.g. its eligible turns. */
  get byFinder(): Map<object, unknown> {
    this.byFinderMap ??= new Map();
    return this.byFinderMap;
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
    // The call's first absolute time, looked for once per transcript (each rule's evidence asks).
    if (this.firstAbsolute === undefined) {
      this.firstAbsolute = null;
      for (const line of this.lines) {
        const q = parseTimestamp(String(line.timestamp ?? ''));
        if (q?.kind === 'absolute') {
          this.firstAbsolute = q.seconds;
          break;
        }
      }
    }
    // Never null here: line i itself has an absolute time.
    return this.firstAbsolute === null ? null : p.seconds - this.firstAbsolute;
  }

  foldedLine(i: number): FoldedText {
    this.folded ??= new Array(this.lines.length);
    let f = this.folded[i];
    if (f === undefined) {
      f = foldText(String(this.lines[i]!.text ?? ''));
      this.folded[i] = f;
    }
    return f;
  }

  isAsciiLine(i: number): boolean {
    this.ascii ??= new Array(this.lines.length);
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

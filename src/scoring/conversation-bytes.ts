/**
 * readConversationBytes: one JSON Lines conversation of the usual shape, read straight from its UTF-8
 * bytes, without JSON.parse:
 *
 *   {"id": "...", "transcript": [{"speaker": "...", "text": "...", "timestamp": "..."}, ...]}
 *
 * with the keys in any order, each at most once, `id`, `speaker` and `timestamp` optional, every value
 * a string without a backslash escape, and JSON whitespace between tokens. For any other line (another
 * key, a number or null, an escape, a control character, a repeated key, not JSON at all) it answers
 * null, and the caller reads the line as it always did (readConversationLine, ./conversations.ts),
 * which also says what is wrong with it. What it answers is what readConversationLine would: the same
 * id, the same lines, and the texts already joined as the tutorial's shape searches them.
 *
 * Why: JSON.parse builds an object per turn and a string per field, and the tutorial's shape then
 * joins every text again; scanning the bytes once and copying the texts into the joined text costs
 * about half of that (the bulk of `qm score` on a large file). Pure: no I/O; the bytes are only read.
 */
import type { JoinedText, TranscriptLine } from './types.js';

export interface BytesConversation {
  /** Absent when the line has no `id`: the caller names the conversation, as for any other line. */
  id: string | undefined;
  /**
   * The transcript. Each line's speaker and timestamp are decoded from `bytes` when first read (most
   * are never read), so they must be read while `bytes` still holds this line.
   */
  lines: TranscriptLine[];
  /** The texts joined by single spaces, and where each starts (scoreTranscript's `joinedText`). */
  joined: JoinedText;
}

const TAB = 0x09;
const CR = 0x0d;
const SPACE = 0x20;
const QUOTE = 0x22;
const COMMA = 0x2c;
const COLON = 0x3a;
const OPEN_ARRAY = 0x5b;
const BACKSLASH = 0x5c;
const CLOSE_ARRAY = 0x5d;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;

const key = (name: string) => Uint8Array.from(name, (c) => c.charCodeAt(0));
const ID = key('id');
const TRANSCRIPT = key('transcript');

const NEWLINE = 0x0a;

/**
 * Where the texts are copied, joined, before they are decoded as one string, and each transcript
 * line's five numbers (see below): reused from line to line (fresh memory costs a page fault per
 * 4 KB), grown when a line needs more. One of each per thread.
 */
let joinedBytes = Buffer.allocUnsafeSlow(256 * 1024);
let fields = new Int32Array(5 * 4096);

/** Skips JSON whitespace (a newline ends the line, so it is none here). */
function skipSpace(bytes: Buffer, i: number, end: number): number {
  for (; i < end; i++) {
    const c = bytes[i];
    if (c !== SPACE && c !== TAB && c !== CR) return i;
  }
  return i;
}

/**
 * The index of the quote that closes the string whose first byte is at `i`, or -1 when the string
 * holds a backslash or a control character, or does not close before `end`.
 */
function stringEnd(bytes: Buffer, i: number, end: number): number {
  for (; i < end; i++) {
    const c = bytes[i]!;
    if (c === QUOTE) return i;
    if (c === BACKSLASH || c < SPACE) return -1;
  }
  return -1;
}

// A transcript line's keys, checked byte by byte: they come 3 times per turn, and a loop over the
// name's bytes was an eighth of the time.
const isText = (b: Buffer, s: number, e: number) =>
  e - s === 4 && b[s] === 0x74 && b[s + 1] === 0x65 && b[s + 2] === 0x78 && b[s + 3] === 0x74;
const isSpeaker = (b: Buffer, s: number, e: number) =>
  e - s === 7 &&
  b[s] === 0x73 &&
  b[s + 1] === 0x70 &&
  b[s + 2] === 0x65 &&
  b[s + 3] === 0x61 &&
  b[s + 4] === 0x6b &&
  b[s + 5] === 0x65 &&
  b[s + 6] === 0x72;
const isTimestamp = (b: Buffer, s: number, e: number) =>
  e - s === 9 &&
  b[s] === 0x74 &&
  b[s + 1] === 0x69 &&
  b[s + 2] === 0x6d &&
  b[s + 3] === 0x65 &&
  b[s + 4] === 0x73 &&
  b[s + 5] === 0x74 &&
  b[s + 6] === 0x61 &&
  b[s + 7] === 0x6d &&
  b[s + 8] === 0x70;

function keyIs(bytes: Buffer, start: number, end: number, name: Uint8Array): boolean {
  if (end - start !== name.length) return false;
  for (let k = 0; k < name.length; k++) if (bytes[start + k] !== name[k]) return false;
  return true;
}

/** Positions in the line's bytes of one transcript line's speaker and timestamp (-1: absent). */
class BytesLine implements TranscriptLine {
  private decodedSpeaker: string | undefined;
  private decodedTimestamp: string | undefined;

  constructor(
    private readonly bytes: Buffer,
    private readonly joined: JoinedText,
    private readonly index: number,
    private readonly textLength: number,
    private readonly speakerStart: number,
    private readonly speakerEnd: number,
    private readonly timestampStart: number,
    private readonly timestampEnd: number,
  ) {}

  get text(): string {
    const start = this.joined.offsets[this.index]!;
    return this.joined.text.slice(start, start + this.textLength);
  }

  // As readConversation fills them in: 'UNKNOWN' for a line without a speaker, '' without a time.
  get speaker(): string {
    this.decodedSpeaker ??=
      this.speakerStart < 0 ? 'UNKNOWN' : this.bytes.toString('utf8', this.speakerStart, this.speakerEnd);
    return this.decodedSpeaker;
  }

  get timestamp(): string {
    this.decodedTimestamp ??=
      this.timestampStart < 0 ? '' : this.bytes.toString('utf8', this.timestampStart, this.timestampEnd);
    return this.decodedTimestamp;
  }
}

/**
 * The conversation in `bytes[start, end)`, a whole line: `end` is its newline, or the end of `bytes`
 * (else null). Null too when the line is not of the shape above. Strings are decoded as
 * `bytes.toString('utf8')` decodes the whole line: every string is bounded by ASCII quotes, so
 * decoding it alone, or the texts joined by spaces, gives the same characters (a malformed sequence
 * included).
 */
export function readConversationBytes(bytes: Buffer, start: number, end: number): BytesConversation | null {
  // No read below goes past `end`, and the byte there (a newline) or none (past the buffer) matches
  // nothing the scan expects: structural bytes are read without comparing the index with `end`.
  if (start > end || (end < bytes.length && bytes[end] !== NEWLINE)) return null;
  if (joinedBytes.length < end - start) joinedBytes = Buffer.allocUnsafeSlow(2 * (end - start));
  const out = joinedBytes;
  let i = skipSpace(bytes, start, end);
  if (bytes[i] !== OPEN_OBJECT) return null;
  let idStart = -1;
  let idEnd = -1;
  let sawTranscript = false;
  // Per transcript line, in `fields`: its text's length in UTF-16 code units once decoded, where its
  // speaker and its timestamp are in `bytes` (start and end, -1 when absent).
  let count = 0;
  let written = 0;
  let utf16Length = 0;
  i = skipSpace(bytes, i + 1, end);
  if (bytes[i] === CLOSE_OBJECT) return null; // `{}`: no transcript, the schema's error
  for (;;) {
    if (bytes[i] !== QUOTE) return null;
    const keyStart = i + 1;
    const keyEnd = stringEnd(bytes, keyStart, end);
    if (keyEnd < 0) return null;
    i = skipSpace(bytes, keyEnd + 1, end);
    if (bytes[i] !== COLON) return null;
    i = skipSpace(bytes, i + 1, end);
    if (idStart < 0 && keyIs(bytes, keyStart, keyEnd, ID)) {
      if (bytes[i] !== QUOTE) return null;
      idStart = i + 1;
      idEnd = stringEnd(bytes, idStart, end);
      if (idEnd < 0) return null;
      i = idEnd + 1;
    } else if (!sawTranscript && keyIs(bytes, keyStart, keyEnd, TRANSCRIPT)) {
      sawTranscript = true;
      if (bytes[i] !== OPEN_ARRAY) return null;
      i = skipSpace(bytes, i + 1, end);
      if (bytes[i] === CLOSE_ARRAY) i++;
      else {
        for (;;) {
          if (bytes[i] !== OPEN_OBJECT) return null;
          i = skipSpace(bytes, i + 1, end);
          let textStart = -1;
          let textEnd = -1;
          let ascii = true;
          let speakerStart = -1;
          let speakerEnd = -1;
          let timestampStart = -1;
          let timestampEnd = -1;
          for (;;) {
            if (bytes[i] !== QUOTE) return null;
            const nameStart = i + 1;
            const nameEnd = stringEnd(bytes, nameStart, end);
            if (nameEnd < 0) return null;
            i = skipSpace(bytes, nameEnd + 1, end);
            if (bytes[i] !== COLON) return null;
            i = skipSpace(bytes, i + 1, end);
            if (bytes[i] !== QUOTE) return null;
            const valueStart = i + 1;
            if (textStart < 0 && isText(bytes, nameStart, nameEnd)) {
              // Copied as it is checked: the joined text is the texts' bytes, spaces between them.
              if (count > 0) out[written++] = SPACE;
              textStart = written;
              let k = valueStart;
              for (; k < end; k++) {
                const c = bytes[k]!;
                if (c === QUOTE) break;
                if (c === BACKSLASH || c < SPACE) return null;
                if (c >= 0x80) ascii = false;
                out[written++] = c;
              }
              if (k >= end) return null;
              textEnd = written;
              i = k + 1;
            } else {
              const valueEnd = stringEnd(bytes, valueStart, end);
              if (valueEnd < 0) return null;
              if (speakerStart < 0 && isSpeaker(bytes, nameStart, nameEnd)) {
                speakerStart = valueStart;
                speakerEnd = valueEnd;
              } else if (timestampStart < 0 && isTimestamp(bytes, nameStart, nameEnd)) {
                timestampStart = valueStart;
                timestampEnd = valueEnd;
              } else return null;
              i = valueEnd + 1;
            }
            i = skipSpace(bytes, i, end);
            if (bytes[i] === COMMA) {
              i = skipSpace(bytes, i + 1, end);
              continue;
            }
            if (bytes[i] !== CLOSE_OBJECT) return null;
            i++;
            break;
          }
          // A line without a text: the schema's error ("has no text").
          if (textStart < 0) return null;
          // UTF-16 length of the text once decoded: its byte count when ASCII, else decoded alone.
          const length = ascii ? textEnd - textStart : out.toString('utf8', textStart, textEnd).length;
          if (fields.length < 5 * (count + 1)) {
            const bigger = new Int32Array(fields.length * 2);
            bigger.set(fields);
            fields = bigger;
          }
          const f = 5 * count++;
          fields[f] = length;
          fields[f + 1] = speakerStart;
          fields[f + 2] = speakerEnd;
          fields[f + 3] = timestampStart;
          fields[f + 4] = timestampEnd;
          utf16Length += length + 1;
          i = skipSpace(bytes, i, end);
          if (bytes[i] === COMMA) {
            i = skipSpace(bytes, i + 1, end);
            continue;
          }
          if (bytes[i] !== CLOSE_ARRAY) return null;
          i++;
          break;
        }
      }
    } else return null;
    i = skipSpace(bytes, i, end);
    if (bytes[i] === COMMA) {
      i = skipSpace(bytes, i + 1, end);
      continue;
    }
    if (bytes[i] !== CLOSE_OBJECT) return null;
    i = skipSpace(bytes, i + 1, end);
    break;
  }
  if (i !== end || !sawTranscript) return null;
  const text = out.toString('utf8', 0, written);
  // The texts decoded one by one and joined make exactly this string; if the lengths disagree, the
  // line is left to JSON.parse rather than trusted.
  if (text.length !== Math.max(0, utf16Length - 1)) return null;
  const offsets = new Array<number>(count);
  const joined: JoinedText = { text, offsets };
  const lines = new Array<TranscriptLine>(count);
  for (let n = 0, at = 0; n < count; n++) {
    const f = n * 5;
    offsets[n] = at;
    at += fields[f]! + 1;
    lines[n] = new BytesLine(
      bytes,
      joined,
      n,
      fields[f]!,
      fields[f + 1]!,
      fields[f + 2]!,
      fields[f + 3]!,
      fields[f + 4]!,
    );
  }
  return { id: idStart < 0 ? undefined : bytes.toString('utf8', idStart, idEnd), lines, joined };
}

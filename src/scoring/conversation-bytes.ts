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
let joinedView = new DataView(joinedBytes.buffer, joinedBytes.byteOffset, joinedBytes.byteLength);
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

/** What the transcript lines of one conversation read from. */
interface Source {
  bytes: Buffer;
  joined: JoinedText;
  /** Five numbers per line, as `fields` holds them (see readConversationBytes), copied for this line. */
  fields: Int32Array;
}

/**
 * One transcript line: its text is a slice of the joined text, its speaker and timestamp are decoded
 * from the bytes when read (a scorer reads a few of them, for its evidence). A reference and an
 * index: there are ~150 of these per call, and they were a third of what reading a call allocated.
 */
class BytesLine implements TranscriptLine {
  constructor(
    private readonly source: Source,
    private readonly index: number,
  ) {}

  get text(): string {
    const { joined, fields } = this.source;
    const start = joined.offsets[this.index]!;
    return joined.text.slice(start, start + fields[5 * this.index]!);
  }

  // As readConversation fills them in: 'UNKNOWN' for a line without a speaker, '' without a time.
  get speaker(): string {
    const { bytes, fields } = this.source;
    const f = 5 * this.index;
    return fields[f + 1]! < 0 ? 'UNKNOWN' : bytes.toString('utf8', fields[f + 1], fields[f + 2]);
  }

  get timestamp(): string {
    const { bytes, fields } = this.source;
    const f = 5 * this.index;
    return fields[f + 3]! < 0 ? '' : bytes.toString('utf8', fields[f + 3], fields[f + 4]);
  }
}

// The line being read, shared by the functions below (one line at a time per thread): bytes written
// to `joinedBytes`, transcript lines read, and the UTF-16 length of the joined text so far.
let written = 0;
let count = 0;
let utf16Length = 0;
/** Whether every text copied so far is ASCII (then the joined text decodes as Latin-1, a plain copy). */
let asciiLine = true;

/** The decoded length (UTF-16 code units) of the text copyText copied last. */
let textLength = 0;

/*
 * The scan is split into small functions (a turn, a text, the transcript, the line) rather than one:
 * V8 optimizes each as soon as it is hot, where one large function took 40-55 ms to optimize and was
 * optimized again twice, once after its tail first ran (seen with --trace-opt, on every thread).
 */

/**
 * Copies the text whose first byte is at `i` to the end of the joined text, after a space unless it
 * is the first; the index of its closing quote, or -1 (nothing kept) when it holds a backslash or a
 * control character or does not close before `end`. Sets textLength.
 */
function copyText(bytes: Buffer, i: number, end: number): number {
  const out = joinedBytes;
  const outView = joinedView;
  const view = viewOf(bytes);
  let at = written;
  if (count > 0) out[at++] = SPACE;
  const textStart = at;
  let ascii = true;
  for (;;) {
    // Four bytes at a time while none is special: a quote, a backslash, a control character or a
    // byte of a multi-byte character (the bytes seen as one 32-bit word, each test on all four).
    while (i + 4 <= end) {
      const w = view.getInt32(i, true);
      const quote = w ^ 0x22222222;
      const backslash = w ^ 0x5c5c5c5c;
      const special =
        (((w - 0x20202020) & ~w) |
          ((quote - 0x01010101) & ~quote) |
          ((backslash - 0x01010101) & ~backslash) |
          w) &
        0x80808080;
      if (special !== 0) break;
      outView.setInt32(at, w, true);
      at += 4;
      i += 4;
    }
    // Then one at a time, up to four, or to the end.
    const stop = Math.min(end, i + 4);
    for (; i < stop; i++) {
      const c = bytes[i]!;
      if (c === QUOTE) break;
      if (c === BACKSLASH || c < SPACE) return -1;
      if (c >= 0x80) ascii = false;
      out[at++] = c;
    }
    if (i < stop) break; // the closing quote
    if (i >= end) return -1;
  }
  written = at;
  // UTF-16 length of the text once decoded: its byte count when ASCII, else decoded alone.
  if (!ascii) asciiLine = false;
  textLength = ascii ? at - textStart : out.toString('utf8', textStart, at).length;
  return i;
}

/** A DataView on the bytes being read, made once per buffer (a chunk holds many lines). */
let viewed: Buffer | null = null;
let view: DataView = new DataView(new ArrayBuffer(0));
function viewOf(bytes: Buffer): DataView {
  if (bytes !== viewed) {
    viewed = bytes;
    view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  return view;
}

/**
 * Reads the transcript line (an object) at `i`, the opening brace; the index after its closing brace,
 * or -1 when it is not of the shape above.
 */
function readTurn(bytes: Buffer, i: number, end: number): number {
  if (bytes[i] !== OPEN_OBJECT) return -1;
  i = skipSpace(bytes, i + 1, end);
  let sawText = false;
  let speakerStart = -1;
  let speakerEnd = -1;
  let timestampStart = -1;
  let timestampEnd = -1;
  for (;;) {
    if (bytes[i] !== QUOTE) return -1;
    const nameStart = i + 1;
    const nameEnd = stringEnd(bytes, nameStart, end);
    if (nameEnd < 0) return -1;
    i = skipSpace(bytes, nameEnd + 1, end);
    if (bytes[i] !== COLON) return -1;
    i = skipSpace(bytes, i + 1, end);
    if (bytes[i] !== QUOTE) return -1;
    const valueStart = i + 1;
    if (!sawText && isText(bytes, nameStart, nameEnd)) {
      // Copied as it is checked: the joined text is the texts' bytes, spaces between them.
      const valueEnd = copyText(bytes, valueStart, end);
      if (valueEnd < 0) return -1;
      sawText = true;
      i = valueEnd + 1;
    } else {
      const valueEnd = stringEnd(bytes, valueStart, end);
      if (valueEnd < 0) return -1;
      if (speakerStart < 0 && isSpeaker(bytes, nameStart, nameEnd)) {
        speakerStart = valueStart;
        speakerEnd = valueEnd;
      } else if (timestampStart < 0 && isTimestamp(bytes, nameStart, nameEnd)) {
        timestampStart = valueStart;
        timestampEnd = valueEnd;
      } else return -1;
      i = valueEnd + 1;
    }
    i = skipSpace(bytes, i, end);
    if (bytes[i] === COMMA) {
      i = skipSpace(bytes, i + 1, end);
      continue;
    }
    if (bytes[i] !== CLOSE_OBJECT) return -1;
    break;
  }
  // A line without a text: the schema's error ("has no text").
  if (!sawText) return -1;
  recordTurn(speakerStart, speakerEnd, timestampStart, timestampEnd);
  return i + 1;
}

/** Records a transcript line whose text copyText has just copied. */
function recordTurn(
  speakerStart: number,
  speakerEnd: number,
  timestampStart: number,
  timestampEnd: number,
): void {
  if (fields.length < 5 * (count + 1)) {
    const bigger = new Int32Array(fields.length * 2);
    bigger.set(fields);
    fields = bigger;
  }
  const f = 5 * count++;
  fields[f] = textLength;
  fields[f + 1] = speakerStart;
  fields[f + 2] = speakerEnd;
  fields[f + 3] = timestampStart;
  fields[f + 4] = timestampEnd;
  utf16Length += textLength + 1;
}

/** The little-endian 32-bit word of `text`'s four characters (bytes) from `at`, as DataView.getInt32 reads it. */
const word = (text: string, at: number) =>
  text.charCodeAt(at) |
  (text.charCodeAt(at + 1) << 8) |
  (text.charCodeAt(at + 2) << 16) |
  (text.charCodeAt(at + 3) << 24);

// The compact form's separators, as words: `{"speaker":"` (12 bytes), `","text":"` (10) and
// `","timestamp":"` (15).
const SPEAKER_OPEN = '{"speaker":"';
const SPEAKER_0 = word(SPEAKER_OPEN, 0);
const SPEAKER_1 = word(SPEAKER_OPEN, 4);
const SPEAKER_2 = word(SPEAKER_OPEN, 8);
const TEXT_OPEN = '","text":"';
const TEXT_0 = word(TEXT_OPEN, 0);
const TEXT_1 = word(TEXT_OPEN, 4);
const TIMESTAMP_OPEN = '","timestamp":"';
const TIMESTAMP_0 = word(TIMESTAMP_OPEN, 0);
const TIMESTAMP_1 = word(TIMESTAMP_OPEN, 4);
const TIMESTAMP_2 = word(TIMESTAMP_OPEN, 8);

/**
 * readTurn for the form nearly every line has (JSON.stringify's, keys in the tutorial's order:
 * `{"speaker":"...","text":"...","timestamp":"..."}`), checked against that form's bytes four at a
 * time instead of token by token; -1 (nothing recorded) for anything else, which readTurn then reads.
 * Same result as readTurn on the lines it accepts: it is the same reading, with the keys and
 * separators known. Every read stays before `end` (DataView reads past the buffer would throw).
 */
function readCompactTurn(bytes: Buffer, i: number, end: number): number {
  const view = viewOf(bytes);
  if (
    i + SPEAKER_OPEN.length > end ||
    view.getInt32(i, true) !== SPEAKER_0 ||
    view.getInt32(i + 4, true) !== SPEAKER_1 ||
    view.getInt32(i + 8, true) !== SPEAKER_2
  )
    return -1;
  const speakerStart = i + SPEAKER_OPEN.length;
  const speakerEnd = stringEnd(bytes, speakerStart, end);
  // Each separator starts with the quote that closes the value before it.
  if (
    speakerEnd < 0 ||
    speakerEnd + TEXT_OPEN.length > end ||
    view.getInt32(speakerEnd, true) !== TEXT_0 ||
    view.getInt32(speakerEnd + 4, true) !== TEXT_1 ||
    bytes[speakerEnd + 8] !== COLON ||
    bytes[speakerEnd + 9] !== QUOTE
  )
    return -1;
  const before = written;
  const textEnd = copyText(bytes, speakerEnd + TEXT_OPEN.length, end);
  if (textEnd < 0) return -1;
  const timestampStart = textEnd + TIMESTAMP_OPEN.length;
  const timestampEnd =
    timestampStart <= end &&
    view.getInt32(textEnd, true) === TIMESTAMP_0 &&
    view.getInt32(textEnd + 4, true) === TIMESTAMP_1 &&
    view.getInt32(textEnd + 8, true) === TIMESTAMP_2 &&
    bytes[textEnd + 12] === QUOTE &&
    bytes[textEnd + 13] === COLON &&
    bytes[textEnd + 14] === QUOTE
      ? stringEnd(bytes, timestampStart, end)
      : -1;
  if (timestampEnd < 0 || bytes[timestampEnd + 1] !== CLOSE_OBJECT) {
    written = before;
    return -1;
  }
  recordTurn(speakerStart, speakerEnd, timestampStart, timestampEnd);
  return timestampEnd + 2;
}

/** Reads the transcript (an array) at `i`, its opening bracket; the index after it, or -1. */
function readTranscript(bytes: Buffer, i: number, end: number): number {
  if (bytes[i] !== OPEN_ARRAY) return -1;
  i = skipSpace(bytes, i + 1, end);
  if (bytes[i] === CLOSE_ARRAY) return i + 1;
  for (;;) {
    const next = readCompactTurn(bytes, i, end);
    i = next < 0 ? readTurn(bytes, i, end) : next;
    if (i < 0) return -1;
    i = skipSpace(bytes, i, end);
    if (bytes[i] === COMMA) {
      i = skipSpace(bytes, i + 1, end);
      continue;
    }
    return bytes[i] === CLOSE_ARRAY ? i + 1 : -1;
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
  if (joinedBytes.length < end - start) {
    joinedBytes = Buffer.allocUnsafeSlow(2 * (end - start));
    joinedView = new DataView(joinedBytes.buffer, joinedBytes.byteOffset, joinedBytes.byteLength);
  }
  written = 0;
  count = 0;
  utf16Length = 0;
  asciiLine = true;
  let i = skipSpace(bytes, start, end);
  if (bytes[i] !== OPEN_OBJECT) return null;
  let idStart = -1;
  let idEnd = -1;
  let sawTranscript = false;
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
      i = readTranscript(bytes, i, end);
      if (i < 0) return null;
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
  return conversation(bytes, idStart < 0 ? undefined : bytes.toString('utf8', idStart, idEnd));
}

/** The conversation read (the joined text and the transcript lines recorded in `fields`). */
function conversation(bytes: Buffer, id: string | undefined): BytesConversation | null {
  // ASCII decodes the same either way; Latin-1 is a copy where UTF-8 checks every byte first.
  const text = joinedBytes.toString(asciiLine ? 'latin1' : 'utf8', 0, written);
  // The texts decoded one by one and joined make exactly this string; if the lengths disagree, the
  // line is left to JSON.parse rather than trusted.
  if (text.length !== Math.max(0, utf16Length - 1)) return null;
  const offsets = new Array<number>(count);
  const joined: JoinedText = { text, offsets };
  const source: Source = { bytes, joined, fields: fields.slice(0, 5 * count) };
  const lines = new Array<TranscriptLine>(count);
  for (let n = 0, at = 0; n < count; n++) {
    offsets[n] = at;
    at += fields[5 * n]! + 1;
    lines[n] = new BytesLine(source, n);
  }
  return { id, lines, joined };
}

/**
 * Runs the reader once over a few small lines that take every path: ASCII and multi-byte texts of
 * every length modulo four, a special byte inside a word, the spaced form, an escape, a line cut
 * short, two buffers. V8 optimizes the reader for what it has seen run; a path first taken after
 * that (the first non-ASCII text, the first line in a new chunk) threw the optimized code away and
 * made V8 compile the reader again, several times per thread, each time tens of milliseconds of
 * a core (measured with --trace-deopt on 20,000 calls). Feedback from these lines, taken before
 * any real line, lets the first optimization be the last. Nothing is kept: the state is per line.
 * Called by the threads that read many lines (`qm score`'s), not on import: other processes never
 * read a line this way.
 */
export function primeConversationBytes(): void {
  const texts = ['', 'a', 'ab', 'abc', 'Hello', 'Hello, there', 'café', 'naïve €20', '😀 ok', 'x'.repeat(9)];
  const turns = texts.map((text, n) => ({
    speaker: n % 3 === 0 ? 'AGENT' : 'CUSTOMER',
    text,
    timestamp: n % 2 === 0 ? '00:00:01.5' : '2024-05-01T10:00:00.000Z',
  }));
  const compact = JSON.stringify({ id: 'prime', transcript: turns });
  const lines = [
    compact,
    JSON.stringify({ transcript: turns, id: 'prime-2' }),
    JSON.stringify({
      id: 'p',
      transcript: [
        { text: 'x', speaker: 'A' },
        { speaker: 'A', text: 'y' },
      ],
    }),
    compact.replace(/":"/g, '": "'),
    compact.replace('Hello', 'He\\"llo'),
    compact.replace('Hello', 'He\tllo'),
    compact.slice(0, compact.length - 30),
    '{"transcript":[]}',
  ];
  for (let round = 0; round < 2; round++) {
    for (const line of lines) {
      const bytes = Buffer.from(`${line}\n${line}`);
      const read = readConversationBytes(bytes, 0, Buffer.byteLength(line));
      if (read) for (const l of read.lines) void [l.text, l.speaker, l.timestamp];
      readConversationBytes(bytes, Buffer.byteLength(line) + 1, bytes.length);
    }
  }
}

/**
 * Scores a run of whole JSON Lines of a conversation file and formats the result: the unit of work
 * `npm run score` hands to its worker threads (score-worker.ts) or, for small inputs, does itself.
 * Pure apart from its input bytes: no I/O.
 */
import {
  isEmptyTranscript,
  primeConversationBytes,
  type Rubric,
  readConversationBytes,
  readConversationLine,
  scoreTranscript,
  type TranscriptLine,
} from '../scoring/index.js';
import { formatScored, formatSkipped, type OutputFormat } from './score-output.js';

// Every thread that loads this module reads lines in bulk (`qm score` and its workers).
primeConversationBytes();

export interface BatchRequest {
  /** UTF-8 bytes of whole lines (cut after a newline, or at the end of the file). */
  bytes: Uint8Array;
  file: string;
  /** The id prefix of conversations without one (fileBaseName). */
  base: string;
  /** Line number of the first line in `bytes`, from 1. */
  firstLine: number;
  format: OutputFormat;
  width: number;
  /**
   * Memory to write the output into: the buffer of an earlier result, handed back once printed. Fresh
   * memory costs a page fault per 4 KB on first touch, and one large string or buffer per chunk was
   * fresh memory each time (a third of the command's system time).
   */
  output?: ArrayBuffer;
}

export interface BatchResult {
  /** UTF-8 output, in input order: what to write to stdout (a view on `request.output` when it fits). */
  out: Uint8Array;
  /** One line per bad input line, naming file and line. */
  errors: string[];
  /** The request's bytes, handed back so that their buffer can be read into again. */
  input: Uint8Array;
}

const encoder = new TextEncoder();

/** Bytes of output memory when the request brings none: a chunk's output is about a tenth of its input. */
const OUTPUT_BYTES = 256 * 1024;

/** UTF-8 output written piece by piece into one buffer, grown (doubled) when a piece does not fit. */
class Output {
  private bytes: Uint8Array;
  private length = 0;

  constructor(memory: ArrayBuffer | undefined) {
    this.bytes = new Uint8Array(memory ?? new ArrayBuffer(OUTPUT_BYTES));
  }

  write(text: string): void {
    let rest = text;
    for (;;) {
      const { read, written } = encoder.encodeInto(rest, this.bytes.subarray(this.length));
      this.length += written;
      if (read === rest.length) return;
      // encodeInto stops before a character that does not fit whole, never inside a surrogate pair.
      rest = rest.slice(read);
      const bigger = new Uint8Array(Math.max(this.bytes.length * 2, OUTPUT_BYTES));
      bigger.set(this.bytes.subarray(0, this.length));
      this.bytes = bigger;
    }
  }

  /** What was written, on a buffer of its own (never a slice of a shared pool), so it can be transferred. */
  view(): Uint8Array {
    return this.bytes.subarray(0, this.length);
  }
}

export function scoreBatch(rubric: Rubric, request: BatchRequest): BatchResult {
  const { buffer, byteOffset, byteLength } = request.bytes;
  const bytes = Buffer.from(buffer, byteOffset, byteLength);
  const out = new Output(request.output);
  const errors: string[] = [];
  // The tutorial's shape searches the texts joined: read from the bytes straight into that (most
  // lines), else (another shape, or a line readConversationBytes leaves alone) parsed as always.
  const fromBytes = rubric.shape === 'tutorial';
  for (let start = 0, i = 0; start <= bytes.length; i++) {
    const newline = bytes.indexOf(10, start);
    const end = newline < 0 ? bytes.length : newline;
    const lineStart = start;
    start = end + 1;
    const lineNumber = request.firstLine + i;
    const fast = fromBytes ? readConversationBytes(bytes, lineStart, end) : null;
    let id: string;
    let transcript: TranscriptLine[];
    if (fast) {
      // Named as readConversationLine names a conversation without an id.
      id = fast.id ?? `${request.base}:${lineNumber}`;
      transcript = fast.lines;
    } else {
      // Each line decoded on its own, as readFileSync(file, 'utf8') would decode it: a chunk decoded
      // whole becomes a two-byte string as soon as one of its lines has a letter past U+00FF, and every
      // line of it then parses at half speed (2.5x the CPU for the same JSON).
      const line = bytes.toString('utf8', lineStart, end);
      const read = readConversationLine(line, request.file, request.base, lineNumber);
      if (!read) continue;
      if (!read.ok) {
        errors.push(read.error);
        continue;
      }
      ({ id, transcript } = read.conversation);
    }
    // Written per conversation: a chunk's output as one string would be a large object, fresh memory
    // each time, and so would its encoding.
    out.write(
      isEmptyTranscript(transcript)
        ? formatSkipped(request.format, id, request.file)
        : formatScored(
            request.format,
            rubric,
            id,
            request.file,
            scoreTranscript(rubric, transcript, fast?.joined),
            request.width,
          ),
    );
  }
  return { out: out.view(), errors, input: request.bytes };
}

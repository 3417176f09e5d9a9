/**
 * Scores a run of whole JSON Lines of a conversation file and formats the result: the unit of work
 * `npm run score` hands to its worker threads (score-worker.ts) or, for small inputs, does itself.
 * Pure apart from its input bytes: no I/O.
 */
import { isEmptyTranscript, type Rubric, readConversationLine, scoreTranscript } from '../scoring/index.js';
import { formatScored, formatSkipped, type OutputFormat } from './score-output.js';

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
}

export interface BatchResult {
  /** UTF-8 output, in input order: what to write to stdout. */
  out: Uint8Array;
  /** One line per bad input line, naming file and line. */
  errors: string[];
  /** The request's bytes, handed back so that their buffer can be read into again. */
  input: Uint8Array;
}

const encoder = new TextEncoder();

export function scoreBatch(rubric: Rubric, request: BatchRequest): BatchResult {
  const { buffer, byteOffset, byteLength } = request.bytes;
  const bytes = Buffer.from(buffer, byteOffset, byteLength);
  let out = '';
  const errors: string[] = [];
  // Each line decoded on its own, as readFileSync(file, 'utf8') would decode it: a chunk decoded whole
  // becomes a two-byte string as soon as one of its lines has a non-ASCII letter, and every line of it
  // then parses at half speed (2.5x the CPU for the same JSON).
  for (let start = 0, i = 0; start <= bytes.length; i++) {
    const newline = bytes.indexOf(10, start);
    const end = newline < 0 ? bytes.length : newline;
    const line = bytes.toString('utf8', start, end);
    start = end + 1;
    const read = readConversationLine(line, request.file, request.base, request.firstLine + i);
    if (!read) continue;
    if (!read.ok) {
      errors.push(read.error);
      continue;
    }
    const { id, transcript } = read.conversation;
    out += isEmptyTranscript(transcript)
      ? formatSkipped(request.format, id, request.file)
      : formatScored(
          request.format,
          rubric,
          id,
          request.file,
          scoreTranscript(rubric, transcript),
          request.width,
        );
  }
  // A fresh buffer of its own (never a slice of a shared pool), so it can be transferred.
  return { out: encoder.encode(out), errors, input: request.bytes };
}

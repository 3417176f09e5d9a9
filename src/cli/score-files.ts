/**
 * The work of `qm score` (./score.ts starts it): checks the rubric, then scores each file and prints
 * the results in input order.
 *
 * Large JSON Lines files are read in chunks of whole lines, each parsed and scored by a worker thread
 * with room for it or, when none has, by this one, and printed in input order: parsing and scoring use
 * every core, reading and writing overlap them, and memory stays bounded by the chunks in flight.
 * Everything else (a single conversation, an array of them, small inputs) is read whole and scored on
 * this thread.
 */
import { readSync } from 'node:fs';
import { type FileHandle, open } from 'node:fs/promises';
import { setImmediate as nextTurn } from 'node:timers/promises';
import {
  fileBaseName,
  isEmptyTranscript,
  parseConversations,
  parseRubric,
  parsesAsJson,
  type Rubric,
  scoreTranscript,
} from '../scoring/index.js';
import type { WorkerPool } from '../worker-pool/index.js';
import { type BatchRequest, type BatchResult, scoreBatch } from './score-batch.js';
import { formatScored, formatSkipped, type OutputFormat } from './score-output.js';

/**
 * Bytes read at a time from a JSON Lines file: one task (~65 ten-minute calls). Small enough that the
 * chunks in flight stay in memory already touched (4 MB chunks cost a third more page faults).
 */
const CHUNK_BYTES = 1024 * 1024;
/** Chunks read and not yet printed, at most: memory stays bounded whatever the file's size. */
const MAX_CHUNKS_IN_FLIGHT = 8;

export interface ScoreFilesOptions {
  rubricText: string;
  rubricPath: string;
  format: OutputFormat;
  /** Terminal width, for the table format. */
  width: number;
  /** Worker threads started for a large input (their rubric is the same text), or none. */
  pool: WorkerPool<BatchRequest, BatchResult> | null;
  files: string[];
}

/**
 * Scores every file; the exit code: 0 when every file scored, 1 when some file or line could not be
 * read, 2 when the rubric does not compile (one line per problem on stderr, nothing scored).
 */
export async function scoreFiles(options: ScoreFilesOptions): Promise<number> {
  const parsed = parseRubric(options.rubricText, options.rubricPath);
  if (!parsed.ok) {
    for (const line of parsed.errors) process.stderr.write(`${line}\n`);
    return 2;
  }
  const run: Run = {
    rubric: parsed.rubric,
    format: options.format,
    width: options.width,
    pool: options.pool,
  };
  let failed = false;
  for (const file of options.files) {
    if (!(await scoreFile(run, file))) failed = true;
  }
  return failed ? 1 : 0;
}

interface Run {
  rubric: Rubric;
  format: OutputFormat;
  width: number;
  pool: WorkerPool<BatchRequest, BatchResult> | null;
}

function cannotRead(file: string, e: unknown): false {
  process.stderr.write(
    `${file}: cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})\n`,
  );
  return false;
}

/** Scores one file; false when the file or some line of it could not be read. */
async function scoreFile(run: Run, file: string): Promise<boolean> {
  let handle: FileHandle;
  try {
    handle = await open(file, 'r');
  } catch (e) {
    return cannotRead(file, e);
  }
  try {
    const first = readChunk(handle.fd, Buffer.alloc(0));
    if (first.eof || !isJsonLines(first.bytes)) {
      // One document (or a short file): read whole and parsed as it always was.
      const rest = first.eof ? [] : [await readRest(handle)];
      return scoreWhole(run, file, Buffer.concat([first.bytes, first.tail, ...rest]).toString('utf8'));
    }
    return await scoreJsonLines(run, file, handle, first);
  } catch (e) {
    return cannotRead(file, e);
  } finally {
    await handle.close();
  }
}

interface Chunk {
  /** Whole lines (ending with a newline). */
  bytes: Buffer;
  /** The unfinished line after them. */
  tail: Buffer;
  eof: boolean;
}

/**
 * Reads about CHUNK_BYTES after `carry` (an unfinished line), cut after the last newline; more when
 * a single line is longer than that (the buffer doubles, so a long line costs linear time).
 *
 * Synchronously: a read from Node's thread pool left this thread waiting for it (a third of a
 * millisecond per chunk, a tenth of a second over 300 MB) while the pool's thread took a core from
 * the workers for the same copy.
 */
function readChunk(fd: number, carry: Buffer, spare: Buffer[] = []): Chunk {
  // A buffer of its own (not from Node's shared pool), so that it can be moved to a worker; not
  // zero-filled, as every byte used is read from the file. One a worker has handed back when there
  // is one: fresh memory costs the kernel a page fault per 4 KB (a quarter of a second per 300 MB).
  const recycled = spare.pop();
  let buffer =
    recycled && recycled.length - carry.length >= CHUNK_BYTES / 2
      ? recycled
      : Buffer.allocUnsafeSlow(carry.length + CHUNK_BYTES);
  carry.copy(buffer);
  let filled = carry.length;
  for (;;) {
    const bytesRead = readSync(fd, buffer, filled, buffer.length - filled, null);
    if (bytesRead === 0) return { bytes: buffer.subarray(0, filled), tail: Buffer.alloc(0), eof: true };
    filled += bytesRead;
    if (filled < buffer.length) continue;
    const cut = buffer.lastIndexOf(10, filled - 1) + 1;
    if (cut > 0)
      return { bytes: buffer.subarray(0, cut), tail: Buffer.from(buffer.subarray(cut, filled)), eof: false };
    const bigger = Buffer.allocUnsafeSlow(buffer.length * 2);
    buffer.copy(bigger);
    buffer = bigger;
  }
}

async function readRest(handle: FileHandle): Promise<Buffer> {
  return handle.readFile();
}

/**
 * Whether a file starting with these whole lines is JSON Lines as parseConversations reads it: its
 * first non-blank line is a JSON value and some non-blank line follows (else the whole file may be one
 * document, e.g. pretty-printed, which only the whole text can tell).
 */
function isJsonLines(bytes: Buffer): boolean {
  // Line by line up to the second non-blank one, not the whole chunk decoded and split: a line's
  // bytes decode alone as they do within the whole (a newline ends any UTF-8 sequence).
  let first: string | undefined;
  for (let start = 0; start <= bytes.length; ) {
    const newline = bytes.indexOf(10, start);
    const end = newline < 0 ? bytes.length : newline;
    const line = bytes.toString('utf8', start, end);
    if (line.trim() !== '') {
      if (first !== undefined) return parsesAsJson(first);
      first = line;
    }
    if (newline < 0) break;
    start = newline + 1;
  }
  return false;
}

function scoreWhole(run: Run, file: string, text: string): boolean {
  const { conversations, errors } = parseConversations(text, file);
  for (const error of errors) process.stderr.write(`${error}\n`);
  for (const { id, transcript } of conversations) {
    process.stdout.write(
      isEmptyTranscript(transcript)
        ? formatSkipped(run.format, id, file)
        : formatScored(run.format, run.rubric, id, file, scoreTranscript(run.rubric, transcript), run.width),
    );
  }
  return errors.length === 0;
}

/**
 * Streams a JSON Lines file through the workers and this thread, printing results in input order.
 * Each chunk goes to a started worker with room for it (two chunks each: one it scores, one waiting),
 * else this thread scores it; results are printed as soon as every earlier one is, and this thread
 * waits only when MAX_CHUNKS_IN_FLIGHT chunks are read and not printed.
 */
async function scoreJsonLines(run: Run, file: string, handle: FileHandle, first: Chunk): Promise<boolean> {
  const base = fileBaseName(file);
  const inFlight: InFlight[] = [];
  /** Buffers of chunks printed, to read the next chunks into. */
  const spare: Buffer[] = [];
  /** Buffers of output printed, for the next chunks' output (see BatchRequest.output). */
  const spareOutput: ArrayBuffer[] = [];
  let ok = true;
  let line = 1;
  /** First line not printed yet, for the message when the rest cannot be scored. */
  let printedTo = 1;
  const print = (result: BatchResult) => {
    inFlight.shift();
    printedTo = inFlight[0]?.firstLine ?? line;
    for (const error of result.errors) process.stderr.write(`${error}\n`);
    if (result.errors.length > 0) ok = false;
    if (result.out.length > 0) process.stdout.write(result.out);
    spare.push(Buffer.from(result.input.buffer));
    // Reused only once written: stdout to a file or pipe writes at once, but a stream that queued
    // the bytes still holds them.
    if (process.stdout.writableLength === 0) spareOutput.push(result.out.buffer as ArrayBuffer);
  };
  /** Prints the results at the head that are done, without waiting; throws a worker's failure. */
  const printDone = () => {
    while (inFlight[0]?.settled) {
      const head = inFlight[0];
      if (head.error) throw head.error;
      print(head.value!);
    }
  };
  try {
    let chunk: Chunk | null = first;
    while (chunk) {
      const request: BatchRequest = {
        bytes: chunk.bytes,
        file,
        base,
        firstLine: line,
        format: run.format,
        width: run.width,
      };
      const output = spareOutput.pop();
      if (output) request.output = output;
      // Counted first: running the request on a worker moves (detaches) its bytes.
      line += countNewlines(chunk.bytes);
      // To a started worker with room, or done here: this thread has a core of its own too.
      if (run.pool !== null && run.pool.idle > 0) {
        const entry: InFlight = { firstLine: request.firstLine, settled: false };
        const moved = [chunk.bytes.buffer as ArrayBuffer, ...(output ? [output] : [])];
        entry.done = run.pool.run(request, moved).then(
          (value) => {
            entry.value = value;
            entry.settled = true;
          },
          (error: Error) => {
            entry.error = error;
            entry.settled = true;
          },
        );
        inFlight.push(entry);
      } else {
        inFlight.push({
          firstLine: request.firstLine,
          settled: true,
          value: scoreBatch(run.rubric, request),
        });
      }
      printDone();
      while (inFlight.length >= MAX_CHUNKS_IN_FLIGHT) {
        await inFlight[0]!.done;
        printDone();
      }
      if (run.pool) {
        // The workers' answers are taken in here, between chunks: results to print, workers free.
        await nextTurn();
        printDone();
      }
      const next: Chunk | null = chunk.eof ? null : readChunk(handle.fd, chunk.tail, spare);
      // A last chunk with nothing in it (the file ended with a newline) is no task.
      chunk = next && (next.bytes.length > 0 || !next.eof) ? next : null;
    }
    while (inFlight.length > 0) {
      await inFlight[0]!.done;
      printDone();
    }
    return ok;
  } catch (error) {
    // A worker thread that died, or the file became unreadable: the rest of this file is not scored.
    const reason = (error as Error).message.split('\n')[0];
    process.stderr.write(`${file}: not scored from line ${printedTo} on: ${reason}\n`);
    return false;
  }
}

/** A chunk read and not printed yet: its result, once the thread that scores it has answered. */
interface InFlight {
  firstLine: number;
  settled: boolean;
  /** Resolves (never rejects) when settled; absent for a chunk scored on this thread. */
  done?: Promise<void>;
  value?: BatchResult;
  error?: Error;
}

function countNewlines(bytes: Buffer): number {
  let n = 0;
  for (let i = bytes.indexOf(10); i >= 0; i = bytes.indexOf(10, i + 1)) n++;
  return n;
}

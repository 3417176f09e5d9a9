/**
 * `qm score [--rubric FILE] [--format json|table] FILE...` (`npm run score -- ...`): scores conversation files with no
 * network. Exit code 0 when every file scored, 1 when some file or line could not be read, 2 on a usage
 * error or an invalid rubric.
 *
 * This module starts the work: it reads the rubric's text, starts the worker threads when the input
 * is large (./score-files.ts says how they share it), and only then loads the rubric engine and the
 * rest of the command (./score-files.ts), so that a worker thread loads its code while this one loads
 * its own: both are bundled into one file each by `npm run build` (scripts/bundle-score.mjs).
 */
import { readFileSync, statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { createWorkerPool, moduleNextTo } from '../worker-pool/index.js';
import type { CommandArgs } from './commands.js';
import type { BatchRequest, BatchResult } from './score-batch.js';
import type { OutputFormat } from './score-output.js';

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const DEFAULT_RUBRIC = resolve(REPO_ROOT, 'rubrics/tutorial.yaml');

/** V8's young generation of each worker: three 16 MB semi-spaces (the default is 16 MB in all). */
const YOUNG_GENERATION_MB = 48;
/** Chunks posted to a worker ahead of its answer (see ./score-files.ts). */
const TASKS_PER_WORKER = 2;
/** Below this much input, starting worker threads costs more than it saves. */
const PARALLEL_MIN_BYTES = 8 * 1024 * 1024;

/** Flags, their values and the file count are checked by the dispatcher (./commands.ts). */
export async function run(args: CommandArgs): Promise<void> {
  // A reader that stops early (`qm score ... | head`) is not an error of ours.
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error;
    process.exit(process.exitCode ?? 0);
  });
  const format = (args.values.format ?? (process.stdout.isTTY ? 'table' : 'json')) as OutputFormat;
  const rubricPath = typeof args.values.rubric === 'string' ? args.values.rubric : DEFAULT_RUBRIC;
  let rubricText: string;
  try {
    rubricText = readFileSync(rubricPath, 'utf8');
  } catch (e) {
    const reason = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
    process.stderr.write(`${rubricPath}: cannot read the rubric (${reason})\n`);
    process.exitCode = 2;
    return;
  }
  const parallel = totalSize(args.positionals) >= PARALLEL_MIN_BYTES && availableParallelism() > 1;
  // With every core scoring, V8's helper threads only take a core's time from a scoring thread:
  // - the workers optimize their hot code on their own thread (measured on 20,000 calls: 4 % less CPU
  //   and wall time). V8 reads this flag when a thread's engine starts, so it applies to the workers
  //   started below; this thread keeps its helper (its engine has already started);
  // - each thread collects its young garbage alone: a collection shared with helper threads waited
  //   for them to get a core (a third less time in collections, measured with --trace-gc). V8 reads
  //   this one at each collection. Flags that change how the heap works while it runs (single-threaded
  //   GC, concurrent marking) crash V8 when set here: only these two are.
  if (parallel) {
    setFlagsFromString('--no-concurrent-recompilation');
    setFlagsFromString('--no-parallel-scavenge');
  }
  // Started before the rubric is checked, so that the workers load while this thread does: a rubric
  // that does not compile stops them at once (they would refuse it too), and nothing is scored.
  const pool = parallel
    ? createWorkerPool<BatchRequest, BatchResult>({
        entry: moduleNextTo(import.meta.url, 'score-worker'),
        workerData: { text: rubricText, path: rubricPath },
        // This thread scores too (see ./score-files.ts): one worker per other core. Fewer threads,
        // less memory and fewer warm-ups than one worker per core, for the same cores kept busy.
        size: availableParallelism() - 1,
        name: 'qm score',
        // Every parsed line is garbage a moment later: a larger young generation collects it in
        // fewer scavenges (measured: a third less CPU per conversation than with the default).
        resourceLimits: { maxYoungGenerationSizeMb: YOUNG_GENERATION_MB },
        // A second chunk waits on each worker, so that it goes on while this thread scores a chunk
        // of its own instead of waiting for this thread to hand it the next one.
        tasksPerWorker: TASKS_PER_WORKER,
      })
    : null;
  let code: number;
  try {
    const { scoreFiles } = await import('./score-files.js');
    code = await scoreFiles({
      rubricText,
      rubricPath,
      format,
      width: Math.max(60, process.stdout.columns ?? 120),
      pool,
      files: args.positionals,
    });
  } catch (error) {
    await pool?.close();
    throw error;
  }
  // Everything is printed (nothing left queued on stdout or stderr): after a large input, end now.
  // Node stops the worker threads either way, and exiting skips tearing down the heaps, ~20 ms of
  // a command that takes about a second on 20,000 conversations (measured).
  if (pool && process.stdout.writableLength === 0 && process.stderr.writableLength === 0) process.exit(code);
  await pool?.close();
  if (code !== 0) process.exitCode = code;
}

function totalSize(files: string[]): number {
  let total = 0;
  for (const file of files) {
    try {
      total += statSync(file).size;
    } catch {
      // reported when the file is read
    }
  }
  return total;
}

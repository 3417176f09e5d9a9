/**
 * A backtest: scores the stored transcripts of a window with another rubric and says, per rule,
 * what would change and how the reviewers' verdicts would agree before and after. Writes nothing.
 * The work runs in worker threads with their own read-only connections, so `npm start` keeps
 * serving while an admin's backtest runs, and `npm run rescore` uses every core.
 */
import { Worker } from 'node:worker_threads';
import { parseRubric } from '../scoring/index.js';
import type { Store } from '../store/db.js';
import { type BacktestWindow, tallyPartition } from './partition.js';
import { planRescore } from './plan.js';
import { emptyTally, mergeTallies, type Tally } from './tally.js';
import type { ThreadInput } from './thread.js';

export interface BacktestRequest {
  rubricText: string;
  /** The file's name, for error messages (and the rubric's name when it has none). */
  rubricFile: string;
  /**
   * The text of the rubric that scored the stored results (the active one): results it scored have
   * only the changed rules rerun (src/backtest/plan.ts). Absent: every result is rescored whole.
   */
  baselineText?: string;
  window: BacktestWindow;
  /** Worker threads; 0 runs on this thread against `store` (tests, tiny databases). */
  threads: number;
  databasePath: string;
  store?: Store;
  /** Threads still working after this long are stopped and the backtest reports so (none: no limit). */
  timeoutMs?: number;
}

export interface BacktestReport {
  rubric: { name: string; version: string; hash: string };
  window: BacktestWindow;
  tally: Tally;
  durationMs: number;
  threads: number;
  /** CPU time each thread used (ms), where the system says; empty when run on the caller's thread. */
  threadCpuMs: number[];
}

export type BacktestOutcome = { ok: true; report: BacktestReport } | { ok: false; problems: string[] };

/** A backtest as the console runs it: request in, report out. */
export type BacktestRunner = (
  request: Omit<BacktestRequest, 'threads' | 'databasePath' | 'store'>,
) => Promise<BacktestOutcome>;

function startThread(input: ThreadInput): Worker {
  const entry = new URL(`./thread${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url);
  if (entry.pathname.endsWith('.ts')) {
    // Running from source (tsx): a worker thread does not inherit tsx's loader, so register it first.
    const api = import.meta.resolve('tsx/esm/api');
    return new Worker(
      `import(${JSON.stringify(api)}).then(({ register }) => { register(); return import(${JSON.stringify(entry.href)}); })`,
      { eval: true, workerData: input },
    );
  }
  return new Worker(entry, { workerData: input });
}

type ThreadAnswer =
  | { ok: true; rubric: BacktestReport['rubric']; tally: Tally; cpuMs: number | null }
  | { ok: false; problems: string[] };

function runThread(input: ThreadInput, timeoutMs?: number): Promise<ThreadAnswer> {
  return new Promise((resolve) => {
    const worker = startThread(input);
    let settled = false;
    // A rubric whose patterns are slow on these transcripts must not keep a thread busy for ever.
    const timer =
      timeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            if (settled) return;
            settled = true;
            resolve({
              ok: false,
              problems: [`the backtest took longer than ${Math.round(timeoutMs / 1000)} s and was stopped`],
            });
            void worker.terminate();
          }, timeoutMs);
    worker.once('message', (message: ThreadAnswer) => {
      clearTimeout(timer);
      if (settled) return;
      settled = true;
      resolve(message);
      void worker.terminate();
    });
    worker.once('error', (error) => {
      clearTimeout(timer);
      if (settled) return;
      settled = true;
      resolve({ ok: false, problems: [`backtest failed: ${error.message}`] });
    });
    worker.once('exit', (code) => {
      clearTimeout(timer);
      if (!settled) resolve({ ok: false, problems: [`backtest thread exited (${code}) without a result`] });
    });
  });
}

export async function runBacktest(
  request: BacktestRequest,
  now: () => number = Date.now,
): Promise<BacktestOutcome> {
  const started = now();
  // Parsed here first only when running in-thread; threads parse it themselves, so a rubric that is
  // slow to compile never holds this thread's event loop.
  if (request.threads <= 0) {
    if (!request.store) throw new Error('runBacktest: threads = 0 needs a store');
    const parsed = parseRubric(request.rubricText, request.rubricFile);
    if (!parsed.ok) return { ok: false, problems: parsed.errors };
    const plan = request.baselineText
      ? planRescore(parsed.rubric, request.rubricText, request.baselineText)
      : null;
    const tally = tallyPartition(request.store, parsed.rubric, request.window, undefined, plan);
    const { name, version, hash } = parsed.rubric;
    return {
      ok: true,
      report: {
        rubric: { name, version, hash },
        window: request.window,
        tally,
        durationMs: now() - started,
        threads: 0,
        threadCpuMs: [],
      },
    };
  }
  const parts = await Promise.all(
    Array.from({ length: request.threads }, (_, index) =>
      runThread(
        {
          databasePath: request.databasePath,
          rubricText: request.rubricText,
          rubricFile: request.rubricFile,
          ...(request.baselineText !== undefined ? { baselineText: request.baselineText } : {}),
          window: request.window,
          part: { index, of: request.threads },
        },
        request.timeoutMs,
      ),
    ),
  );
  const tally = emptyTally();
  let rubric: BacktestReport['rubric'] | undefined;
  const threadCpuMs: number[] = [];
  for (const p of parts) {
    if (!p.ok) return { ok: false, problems: p.problems };
    mergeTallies(tally, p.tally);
    rubric = p.rubric;
    if (p.cpuMs !== null) threadCpuMs.push(p.cpuMs);
  }
  return {
    ok: true,
    report: {
      rubric: rubric!,
      window: request.window,
      tally,
      durationMs: now() - started,
      threads: request.threads,
      threadCpuMs,
    },
  };
}

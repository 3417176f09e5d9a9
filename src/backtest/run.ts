/**
 * A backtest: scores the stored transcripts of a window with another rubric and says, per rule,
 * what would change and how the reviewers' verdicts would agree before and after. Writes nothing.
 * The work runs in worker threads with their own read-only connections, so `npm start` keeps
 * serving while an admin's backtest runs; `npm run rescore`, which has nothing else to do, scores
 * on its own thread too. With more than one thread the window is cut into shares that each thread
 * claims in turn (shares.ts), so the threads finish together however their start and speed differ.
 */
import { Worker } from 'node:worker_threads';
import { parseRubric, type Rubric } from '../scoring/index.js';
import type { Store } from '../store/db.js';
import { openExistingStore } from '../store/reports.js';
import { ResultStore } from '../store/results.js';
import { threadCpuMs } from './cpu.js';
import { type BacktestWindow, CHUNK, tallyPartition } from './partition.js';
import { planRescore } from './plan.js';
import { claimFrom, makeShares, type Shares } from './shares.js';
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
  /** Worker threads; 0 runs on this thread only. */
  threads: number;
  /**
   * This thread scores too, next to the workers: for a command that has nothing else to do while
   * they run (`qm rescore`), never for the service, whose event loop must keep answering. It starts
   * at once, while the workers are still loading their code.
   */
  alsoOnThisThread?: boolean;
  databasePath: string;
  /** This thread's connection; opened read-only from `databasePath` when this thread needs one. */
  store?: Store;
  /** Threads still working after this long are stopped and the backtest reports so (none: no limit). */
  timeoutMs?: number;
}

export interface BacktestReport {
  rubric: { name: string; version: string; hash: string };
  window: BacktestWindow;
  tally: Tally;
  durationMs: number;
  /** Threads that scored (this one included when it did). */
  threads: number;
  /**
   * CPU time each thread spent scoring (ms), where the system says; this thread's first when it
   * scored. Empty when the whole backtest ran on this thread alone.
   */
  threadCpuMs: number[];
  /** CPU time each worker thread spent loading its code before it could start (ms), where known. */
  threadStartCpuMs: number[];
}

export type BacktestOutcome = { ok: true; report: BacktestReport } | { ok: false; problems: string[] };

/** A backtest as the console runs it: request in, report out. */
export type BacktestRunner = (
  request: Omit<BacktestRequest, 'threads' | 'databasePath' | 'store' | 'alsoOnThisThread'>,
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
  | {
      ok: true;
      rubric: BacktestReport['rubric'];
      tally: Tally;
      cpu: { startMs: number; workMs: number } | null;
    }
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
  const workers = Math.max(0, request.threads);
  const here = workers === 0 || request.alsoOnThisThread === true;
  // This thread's connection, when it scores or must cut the window into shares for the workers.
  let own: Store | undefined = request.store;
  const opened = () => {
    if (own) return own;
    const o = openExistingStore(request.databasePath, { write: false });
    if (!o.ok) return o.problem;
    own = o.store;
    return own;
  };
  try {
    // Parsed here only when this thread scores; workers parse it themselves, so a rubric that is
    // slow to compile never holds the service's event loop.
    let local: { rubric: Rubric; store: Store } | null = null;
    if (here) {
      const parsed = parseRubric(request.rubricText, request.rubricFile);
      if (!parsed.ok) return { ok: false, problems: parsed.errors };
      const store = opened();
      if (typeof store === 'string') return { ok: false, problems: [store] };
      local = { rubric: parsed.rubric, store };
    }
    const planOf = (rubric: Rubric) =>
      request.baselineText ? planRescore(rubric, request.rubricText, request.baselineText) : null;
    if (workers === 0) {
      const { rubric, store } = local!;
      const tally = tallyPartition(store, rubric, request.window, null, planOf(rubric));
      const { name, version, hash } = rubric;
      return {
        ok: true,
        report: {
          rubric: { name, version, hash },
          window: request.window,
          tally,
          durationMs: now() - started,
          threads: 1,
          threadCpuMs: [],
          threadStartCpuMs: [],
        },
      };
    }
    // One scorer takes the whole window; several claim shares of it.
    let shares: Shares | undefined;
    if (workers + (here ? 1 : 0) > 1) {
      const store = opened();
      if (typeof store === 'string') return { ok: false, problems: [store] };
      shares = makeShares(new ResultStore(store).backtestShares(request.window, CHUNK));
    }
    const running = Array.from({ length: workers }, () =>
      runThread(
        {
          databasePath: request.databasePath,
          rubricText: request.rubricText,
          rubricFile: request.rubricFile,
          ...(request.baselineText !== undefined ? { baselineText: request.baselineText } : {}),
          window: request.window,
          ...(shares ? { shares } : {}),
        },
        request.timeoutMs,
      ),
    );
    const tally = emptyTally();
    const cpuMs: number[] = [];
    let rubric: BacktestReport['rubric'] | undefined;
    if (local) {
      // The workers load their code meanwhile; this thread takes every share they do not claim.
      const claim = shares ? claimFrom(shares) : null;
      const cpuAtStart = threadCpuMs();
      mergeTallies(
        tally,
        tallyPartition(local.store, local.rubric, request.window, claim, planOf(local.rubric)),
      );
      const cpuAtEnd = threadCpuMs();
      if (cpuAtStart !== null && cpuAtEnd !== null) cpuMs.push(cpuAtEnd - cpuAtStart);
      const { name, version, hash } = local.rubric;
      rubric = { name, version, hash };
    }
    const parts = await Promise.all(running);
    const threadStartCpuMs: number[] = [];
    for (const p of parts) {
      if (!p.ok) return { ok: false, problems: p.problems };
      mergeTallies(tally, p.tally);
      rubric = p.rubric;
      if (p.cpu !== null) {
        cpuMs.push(p.cpu.workMs);
        threadStartCpuMs.push(p.cpu.startMs);
      }
    }
    return {
      ok: true,
      report: {
        rubric: rubric!,
        window: request.window,
        tally,
        durationMs: now() - started,
        threads: workers + (local ? 1 : 0),
        threadCpuMs: cpuMs,
        threadStartCpuMs,
      },
    };
  } finally {
    if (own && own !== request.store) own.close();
  }
}

/**
 * Worker-thread entry of a backtest: its own read-only connection, the shares it claims.
 * Messages: `{ ok: true, rubric, tally, cpu }` or `{ ok: false, problems }`.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { parseRubric } from '../scoring/index.js';
import { openExistingStore } from '../store/reports.js';
import { threadCpuMs } from './cpu.js';
import { type BacktestWindow, tallyPartition } from './partition.js';
import { planRescore } from './plan.js';
import { claimFrom, type Shares } from './shares.js';

export interface ThreadInput {
  databasePath: string;
  rubricText: string;
  rubricFile: string;
  /** The rubric that scored (most of) the stored results: its unchanged rules are not rerun. */
  baselineText?: string;
  window: BacktestWindow;
  /** The window's shares, when threads split it; absent: this thread scores the whole window. */
  shares?: Shares;
}

const input = workerData as ThreadInput;
// Cumulative for this thread: what loading its code cost so far.
const cpuAtStart = threadCpuMs();
const parsed = parseRubric(input.rubricText, input.rubricFile);
const opened = parsed.ok ? openExistingStore(input.databasePath, { write: false }) : null;
if (!parsed.ok) {
  parentPort!.postMessage({ ok: false, problems: parsed.errors });
} else if (!opened?.ok) {
  parentPort!.postMessage({ ok: false, problems: [opened?.problem ?? 'cannot open the database'] });
} else {
  const store = opened.store;
  try {
    const { name, version, hash } = parsed.rubric;
    const plan = input.baselineText ? planRescore(parsed.rubric, input.rubricText, input.baselineText) : null;
    const claim = input.shares ? claimFrom(input.shares) : null;
    const tally = tallyPartition(store, parsed.rubric, input.window, claim, plan);
    const cpuAtEnd = threadCpuMs();
    const cpu =
      cpuAtStart === null || cpuAtEnd === null
        ? null
        : { startMs: cpuAtStart, workMs: cpuAtEnd - cpuAtStart };
    parentPort!.postMessage({ ok: true, rubric: { name, version, hash }, tally, cpu });
  } finally {
    store.close();
  }
}

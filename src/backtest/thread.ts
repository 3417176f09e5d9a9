/**
 * Worker-thread entry of a backtest: its own read-only connection, its share of the results.
 * Messages: `{ ok: true, rubric, tally }` or `{ ok: false, problems }`.
 */
import { readFileSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { parseRubric } from '../scoring/index.js';
import { openExistingStore } from '../store/reports.js';
import { type BacktestWindow, tallyPartition } from './partition.js';
import { planRescore } from './plan.js';

export interface ThreadInput {
  databasePath: string;
  rubricText: string;
  rubricFile: string;
  /** The rubric that scored (most of) the stored results: its unchanged rules are not rerun. */
  baselineText?: string;
  window: BacktestWindow;
  part: { index: number; of: number };
}

/**
 * CPU time this thread has used, in ms (Linux: /proc/thread-self/stat, 1/100 s ticks), or null
 * elsewhere. Reported beside the wall time: on a machine shared with other work the wall time
 * says little about the backtest itself.
 */
function threadCpuMs(): number | null {
  try {
    const stat = readFileSync('/proc/thread-self/stat', 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return null;
  }
}

const input = workerData as ThreadInput;
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
    const tally = tallyPartition(store, parsed.rubric, input.window, input.part, plan);
    const cpuAtEnd = threadCpuMs();
    const cpuMs = cpuAtStart === null || cpuAtEnd === null ? null : cpuAtEnd - cpuAtStart;
    parentPort!.postMessage({ ok: true, rubric: { name, version, hash }, tally, cpuMs });
  } finally {
    store.close();
  }
}

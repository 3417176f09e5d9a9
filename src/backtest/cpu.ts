import { readFileSync } from 'node:fs';

/**
 * CPU time the calling thread has used since it started, in ms (Linux: /proc/thread-self/stat, in
 * 1/100 s ticks), or null elsewhere. Reported beside the wall time: on a machine shared with other
 * work the wall time says little about the backtest itself.
 */
export function threadCpuMs(): number | null {
  try {
    const stat = readFileSync('/proc/thread-self/stat', 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return null;
  }
}

import type { Store } from '../store/db.js';
import { countJobs, openExistingStore } from '../store/reports.js';
import { EXIT, StartupError } from './exit.js';

/**
 * Both demos (tutorial and platform): opens the demo's database read-only and waits until all `count`
 * conversations are known and finished (submitted, skipped or failed), for up to a minute. Answers
 * the open store (the caller reads the results and closes it) and, if it gave up, why.
 */
export async function waitUntilEveryJobEnds(
  databasePath: string,
  count: number,
  noun: string,
): Promise<{ store: Store; gaveUp?: string }> {
  const opened = openExistingStore(databasePath, { write: false });
  if (!opened.ok) throw new StartupError([opened.problem], EXIT.unexpected);
  const store = opened.store;
  const deadline = Date.now() + 60_000;
  for (;;) {
    const { known, unfinished } = countJobs(store);
    if (known >= count && unfinished === 0) return { store };
    if (Date.now() > deadline) {
      return {
        store,
        gaveUp: `gave up waiting: ${count - known} ${noun}(s) unknown, ${unfinished} unfinished`,
      };
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

import type { Logger } from 'pino';
import type { Clock } from '../clock.js';
import type { SignatureFailureCount } from '../store/signature-failures.js';

/**
 * Makes webhooks refused for their signature noticed. A wrong WEBHOOK_SECRET (or a sender whose clock
 * is off) used to show only as 401 lines at info, while the sweep quietly evaluated the conversations
 * late: nobody looked. Here:
 *
 * - a warning names the problem at the first refusal, then at most once per `intervalMs` with how many
 *   were refused since the last one and why, and when the last valid delivery arrived;
 * - the counts go to the database (per minute and reason) at the same pace, so `npm run status`, which
 *   is another process, can show them. Never a write per request: an unsigned sender must not be able
 *   to make the service write.
 *
 * The counts of a period are written even when no further refusal comes (a timer ends the period), and
 * at shutdown (`flush`).
 */
export interface SignatureWatch {
  refused(reason: string): void;
  /** A delivery passed the signature check (recorded or a duplicate). */
  accepted(): void;
  /** Writes what is counted and not written yet; stops the timer. */
  close(): void;
}

export interface SignatureWatchOptions {
  clock: Clock;
  log: Logger;
  /** Adds counts to the database; may throw (a lock held too long): the counts are kept for next time. */
  write: (counts: SignatureFailureCount[]) => void;
  /** How often at most a warning (and a write) happens. Default one minute. */
  intervalMs?: number;
}

const HINTS: Record<string, string> = {
  no_match: 'the signature does not match: is WEBHOOK_SECRET the secret CXone signs with?',
  stale: "the timestamp is more than 5 minutes old: is the sender's or this machine's clock off?",
  future: "the timestamp is more than 5 minutes ahead: is the sender's or this machine's clock off?",
  missing_headers: 'the Standard Webhooks headers are missing: is the webhook set up to sign its deliveries?',
  bad_timestamp: 'webhook-timestamp is not a Unix time in seconds',
};

export function createSignatureWatch(options: SignatureWatchOptions): SignatureWatch {
  const { clock, log, write } = options;
  const intervalMs = options.intervalMs ?? 60_000;
  /** Counted and not written yet, by minute and reason. */
  const unwritten = new Map<string, SignatureFailureCount>();
  /** Refused since the last warning, by reason. */
  let sinceWarning = new Map<string, number>();
  let lastWarningAt: number | undefined;
  let lastValidAt: number | null = null;
  let timer: AbortController | undefined;
  let closed = false;

  const flush = () => {
    if (unwritten.size === 0) return;
    const counts = [...unwritten.values()];
    try {
      write(counts);
      unwritten.clear();
    } catch (error) {
      // Kept for the next period; the warning lines said it meanwhile.
      log.debug({ err: error }, 'could not write signature failure counts yet');
    }
  };

  /** Warns about what was refused since the last warning (if anything), then writes the counts. */
  const report = () => {
    const total = [...sinceWarning.values()].reduce((a, b) => a + b, 0);
    if (total > 0) warn(total);
    flush();
  };

  const warn = (total: number) => {
    const reasons = Object.fromEntries(sinceWarning);
    const main = [...sinceWarning.entries()].sort((a, b) => b[1] - a[1])[0]![0];
    const period =
      lastWarningAt === undefined ? 'first' : `${Math.round((clock.now() - lastWarningAt) / 1000)} s`;
    log.warn(
      {
        refused: total,
        reasons,
        since: period,
        lastValidDeliveryAt: lastValidAt === null ? null : new Date(lastValidAt).toISOString(),
        hint: HINTS[main] ?? 'see the request lines',
      },
      `webhooks refused for their signature (${total}${lastWarningAt === undefined ? '' : ` in the last ${period}`}): the sweep picks their conversations up late`,
    );
    sinceWarning = new Map();
    lastWarningAt = clock.now();
  };

  /** Ends the current period: its warning (if anything was refused) and its write. */
  const schedule = () => {
    if (timer || closed) return;
    timer = new AbortController();
    const wait = Math.max(0, (lastWarningAt ?? clock.now()) + intervalMs - clock.now());
    clock.sleep(wait, timer.signal).then(
      () => {
        timer = undefined;
        report();
        // Keep ticking only while there is something to report; a quiet minute ends the periods.
        if (sinceWarning.size > 0 || unwritten.size > 0) schedule();
      },
      () => undefined,
    );
  };

  return {
    refused(reason) {
      if (closed) return;
      const now = clock.now();
      const minute = Math.floor(now / 60_000);
      const key = `${minute}\u0000${reason}`;
      const row = unwritten.get(key);
      if (row) {
        row.failures++;
        row.lastAt = now;
      } else unwritten.set(key, { minute, reason, failures: 1, lastAt: now });
      sinceWarning.set(reason, (sinceWarning.get(reason) ?? 0) + 1);
      if (lastWarningAt === undefined || now - lastWarningAt >= intervalMs) report();
      // Counts not written yet (or a write that failed) are written when the period ends.
      if (sinceWarning.size > 0 || unwritten.size > 0) schedule();
    },
    accepted() {
      lastValidAt = clock.now();
    },
    close() {
      closed = true;
      timer?.abort();
      timer = undefined;
      flush();
    },
  };
}

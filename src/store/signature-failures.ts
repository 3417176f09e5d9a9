import type { Store } from './db.js';

/** Failures of one reason in one minute, as the service adds them (src/ops/signature-watch.ts). */
export interface SignatureFailureCount {
  /** Epoch minute (ms / 60,000). */
  minute: number;
  reason: string;
  failures: number;
  /** Time of the last of them (epoch ms). */
  lastAt: number;
}

/** Adds counts to the per-minute log in one transaction (an upsert per minute and reason). */
export function createSignatureFailureWriter(store: Store): (counts: SignatureFailureCount[]) => void {
  const upsert = store.sqlite.prepare(
    `INSERT INTO signature_failures (minute, reason, failures, last_at) VALUES (@minute, @reason, @failures, @lastAt)
     ON CONFLICT (minute, reason) DO UPDATE SET failures = failures + excluded.failures, last_at = max(last_at, excluded.last_at)`,
  );
  const write = store.sqlite.transaction((counts: SignatureFailureCount[]) => {
    for (const c of counts) upsert.run(c);
  });
  return (counts) => {
    if (counts.length > 0) write.immediate(counts);
  };
}

/** What `npm run status` says about webhooks refused for their signature (snake_case: `--json`). */
export interface SignatureFailureReport {
  last_hour: number;
  last_day: number;
  /** Per reason, over the last day. */
  by_reason: { reason: string; n: number }[];
  /** The last failure ever logged (kept RETENTION_DAYS), or null. */
  last_at: number | null;
  last_reason: string | null;
}

export function readSignatureFailures(store: Store, now: number): SignatureFailureReport {
  const { sqlite } = store;
  const minute = Math.floor(now / 60_000);
  // The per-minute rows of a day are at most 1,440 per reason: summing them is cheap, and the primary
  // key (minute, reason) is the range read.
  const sum = (sinceMinute: number) =>
    Number(
      sqlite
        .prepare('SELECT coalesce(sum(failures), 0) FROM signature_failures WHERE minute >= ?')
        .pluck()
        .get(sinceMinute),
    );
  const byReason = sqlite
    .prepare(
      'SELECT reason, sum(failures) AS n FROM signature_failures WHERE minute >= ? GROUP BY reason ORDER BY n DESC',
    )
    .all(minute - 1439) as { reason: string; n: number }[];
  const last = sqlite
    .prepare('SELECT last_at, reason FROM signature_failures ORDER BY minute DESC, last_at DESC LIMIT 1')
    .get() as { last_at: number; reason: string } | undefined;
  return {
    last_hour: sum(minute - 59),
    last_day: sum(minute - 1439),
    by_reason: byReason,
    last_at: last?.last_at ?? null,
    last_reason: last?.reason ?? null,
  };
}

/**
 * What profiling found behind each missed target (node --cpu-prof on the service process, see
 * bench/lib/profile-summary.ts, and timings inside the worker), written into BENCHMARKS.md next to
 * any FAIL. Keyed by TargetResult.id. Keep these in step with the code: they describe src/ as
 * profiled when they were written.
 */
export const FINDINGS: Record<string, string> = {
  ingest: [
    'The service is CPU-bound on query building, not on fsync. In a CPU profile of the service under this load, drizzle-orm takes ~41 % of the',
    "process's CPU (`is()` 14 %, `buildQueryFromSourceParams`, `buildSelection`, `sql`, `buildInsertQuery`) and better-sqlite3's `prepare` another ~12 %:",
    'every delivery builds and prepares three statements from scratch inside the group-commit transaction (src/store/event-recorder.ts `apply`:',
    'the `webhook_events` insert; src/store/jobs.ts `onConversationEnded` → `find` (a `select()` of every column, 27 % inclusive) and `insert`, 17 %).',
    'The commit and its fsync, pino (~4 % with redaction) and the signature check (~2 %) are small next to that.',
    '**Suggested change** (src/store/event-recorder.ts and src/store/jobs.ts): prepare these statements once, when the recorder / JobStore is built,',
    'and run them with parameters (better-sqlite3 `sqlite.prepare(...)` on `store.sqlite` / `db.$client`, or drizzle `.prepare()` with `sql.placeholder()`):',
    '`INSERT INTO webhook_events (...) VALUES (?, ...) ON CONFLICT DO NOTHING`, `SELECT * FROM jobs WHERE conversation_id = ? AND form_id = ?`, and one',
    '`INSERT INTO jobs (...)` with every column bound. Measured with exactly that change in a scratch copy, on this machine: 8,700-10,200 req/s, i.e.',
    '1.0-1.25 × the bare Hono app (the service reads the Node request directly, the bare app builds a WHATWG Request), with the same durable-202 check passing.',
  ].join('\n'),
  burst: [
    'Two causes, measured with timestamps inside the worker (src/pipeline/worker.ts `processJob`) in a scratch copy:',
    '1. **The per-job floor leaves almost no slack.** Mean job cycle with the queue draining undisturbed: transcript call 21.5 ms + scoring 0.1 ms +',
    '   evaluation call 22.3 ms + `jobs.finish` 0.35 ms + slot turnaround (setImmediate pump → claim transaction → next `processJob`) ~0.5 ms ≈ 44.7 ms,',
    '   i.e. at most ~89.5 conversations/s with 4 slots. Of the 4.7 ms above the nominal 40 ms, ~3.7 ms is the two HTTP round trips',
    "   beyond the simulator's 20 ms (its setTimeout fires at 20-21 ms, plus loopback, Hono and undici), which the service cannot remove; the service's",
    '   own bookkeeping is ~1 ms per job. Turning fsync off (synchronous=NORMAL) or bypassing the shared budget changed nothing measurable.',
    '2. **Ingest of the burst stalls the worker.** The 1,200 burst webhooks arrive in the first ~0.7-1.3 s; each group commit runs as one',
    '   synchronous transaction of up to 500 deliveries at ~0.3 ms of drizzle work each, blocking the event loop for tens of ms while four jobs wait',
    '   for their HTTP answers to be processed. The first second yields ~60 evaluations instead of ~85.',
    '**Suggested changes:** (a) the prepared statements described under Ingest (cuts the per-delivery cost several times, so commits block the loop',
    'for far less); (b) src/store/event-recorder.ts `flush`: commit at most ~64 deliveries per transaction and yield (`setImmediate`) between',
    'batches, so worker callbacks interleave with a large burst; (c) src/pipeline/worker.ts: claim the next job when a slot enters its',
    'evaluation call (or finish and claim in one transaction), saving the ~0.5 ms turnaround. Even with all three, 90 % of',
    "`WORKER_CONCURRENCY / (2 × 20 ms)` leaves ~1.1 ms per job for everything but the simulator's nominal latency, while the simulator's own HTTP",
    'and timer overhead is ~3.7 ms per job here: judging the burst against the latency the calls actually take (from the call log) would be fairer.',
  ].join('\n'),
  steady: [
    'Latency is 2 × 20 ms of simulator time plus ~4-5 ms; p99 misses come from event-loop stalls of several ms (a large group commit, GC,',
    'pino). The same changes as for the burst apply: prepared statements on the ingest path and smaller group-commit batches.',
  ].join('\n'),
  calls: [
    'Each conversation should cost exactly one transcript and one evaluation call, plus one token call per token lifetime. More means repeated',
    "transcript fetches (a job claimed before transcript.ready was seen) or retried submissions: see the call log's statuses.",
  ].join('\n'),
};

/**
 * What profiling found behind each missed target (node --cpu-prof on the service process, see
 * bench/lib/profile-summary.ts, and timings inside the worker), written into BENCHMARKS.md next to
 * any FAIL. Keyed by TargetResult.id. Keep these in step with the code: they describe src/ as
 * profiled when they were written.
 */
export const FINDINGS: Record<string, string> = {
  'console-pages': [
    'Every list is one index range (see the query plans in the section; "failed rule X" for one agent walks the agent\'s results) and the',
    'overview and agents pages add up daily figures, not results. The slowest page is the API at 1,000 results per page (~5 MB, each',
    "result with its stored rules and, in this database, nine reviewers' verdicts): profiled on the service (node --cpu-prof), its ~40 ms",
    'of work is reading the rows (~8 ms, as arrays), the 9,000 verdicts (~10 ms) and encoding the heads (~15 ms); the stored rules are',
    'copied in as bytes and the page goes out in pieces of 100 while the next are made. The rest is moving 5 MB to the client, and garbage',
    'collection, which sets the p95. On a machine shared with other work the p95 moves with the load: compare with',
    '`npx tsx bench/console.ts` on a quiet machine, and profile the service with `--profile DIR`.',
  ].join('\n'),
  rescore: [
    'The backtest reads each result (SQLite, ~15 us), inflates and parses its transcript (gzip and JSON.parse, ~60 us for ~15 KB) and',
    'runs the changed rules (the greeting alone: a few us) or every rule (scoreOutcomes, ~120 us) on it, on this thread and a worker that',
    "claim 500-result shares in turn. From source (tsx) a worker spends ~0.35 s of its own CPU and ~1 s of its loader thread's before",
    'it scores anything; compiled, a fraction of that. A miss on a loaded machine is the two threads getting less than two cores (compare',
    'the CPU per thread with the wall time); a miss on a quiet one means the engine or the reading got slower: profile with node --cpu-prof.',
  ].join('\n'),
  scoring: [
    'Both sides are dominated by the same work, four regex scans over the joined text (~3.5 us per scan per 6 KB here); ours adds the evidence',
    "(which line, speaker and time matched) that the tutorial does not compute. Python's own rate swings with machine load (3,500-5,500/s seen),",
    'so the ratio moves between runs; measured 10.4-11.2x on a quiet machine. Tried and dropped: an indexOf fast path for literal',
    'alternations (slower on realistic text: short phrases such as "hi" hit inside many words) and ASCII-only regex variants (the',
    'ASCII check costs what it saves).',
  ].join('\n'),
  'scoring-whole': [
    'At the floor: 6x the Python scorer (5.6-6.0 s on a quiet host) is 0.93-1.0 s, and one thread only reading and JSON.parse-ing the',
    '300 MB takes ~1.0 s. `qm score` reads lines of the usual shape from their bytes (no JSON.parse) on two threads. Measured on the built',
    'command (--cpu-prof, --trace-opt, variants with one stage switched off): the main thread scores its first line ~0.23 s after launch',
    '(node 0.1 s, the bundle with zod and yaml 0.05-0.1 s, the rubric 0.02 s), the worker ~0.1 s later; each thread then spends',
    '0.1-0.15 s optimizing and warming up the same hot code (V8 compiles per thread); of the steady work about half is reading the',
    'bytes, a quarter scoring (mostly the closing rule searching the whole call) and a quarter the evidence and the JSON line. The',
    "host's speed varies up to 2x within minutes (the Python scorer took 5.6 s and 10.3 s an hour apart), so one run can land either",
    'side of 6x: compare against the Python figure of the same run, and profile before changing the reader (BENCHMARKS.md lists',
    'what was tried and dropped).',
  ].join('\n'),
  ingest: [
    'Last profiled when drizzle built and prepared three statements per delivery (~50 % of the CPU); since then the queue and the recorder use',
    'statements prepared once (src/store/jobs.ts, src/store/event-recorder.ts) and the ratio measured 1.0-1.25 x. A FAIL here now means a regression:',
    'profile the service with `npx tsx bench/ingest.ts --profile DIR` and read the summary (bench/lib/profile-summary.ts).',
  ].join('\n'),
  flaky: [
    'Measured 2026-11-28 (10 batches, machine shared and loaded): worst 8.2 s with CXONE_CALL_RETRIES=2 (batches 3.5-8.2 s), against',
    '22.9-102.6 s and one batch not done in 120 s with CXONE_CALL_RETRIES=0 (`npx tsx bench/pipeline.ts --flaky-only --call-retries 0`).',
    'A miss means a job backs off for seconds: check that 5xx, resets and timeouts are still repeated inside the call',
    '(src/cxone/api-caller.ts exchange()) and that the calls are marked idempotent (src/cxone/tutorial-client.ts).',
  ].join('\n'),
  burst: [
    "The job cycle has little slack: two 20 ms calls plus ~0.5 ms of HTTP on loopback each, and the service's own work per job (claim,",
    'budget, scoring, body, finish: under 1 ms). The simulator answers after exactly 20 ms (preciseLatency: a plain timer fired 20-22 ms late,',
    'which is not the condition the target states). What is left is the ingest phase: while the 1,200 burst webhooks are taken in (~0.4 s)',
    'the same event loop parses, verifies and commits them, and the four slots finish ~20 evaluations instead of ~35; after it the drain',
    'runs at ~93/s. Runs on this machine measured 88.5-91.7/s: at the target, within run-to-run noise.',
  ].join('\n'),
};

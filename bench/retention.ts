/**
 * Retention benchmark: does the database file stop growing under steady load once past the retention
 * windows, and how long does a retention batch hold the write lock?
 *
 * A simulated month at 20,000 conversations a day, on the service's own store code and a manual clock
 * (src/clock.ts), so a month runs in minutes: each simulated hour, that hour's conversations arrive
 * (conversation.ended and transcript.ready deliveries, rows as the event recorder writes them; jobs
 * through JobStore's transitions: created, announced, claimed, then submitted, or skipped / failed in
 * realistic shares). A submitted job writes what the worker writes, in the transaction of its
 * transition: the result through ResultStore (per-rule rows, daily figures) with its compressed
 * 10-minute transcript, scored by the example rubric. 1 % of results get a reviewer's verdicts. Then
 * the service's retention runner (src/ops/retention.ts with src/store/retention.ts) makes its hourly
 * pass. The windows are shorter than the defaults (RETENTION_DAYS=7 and RESULTS_RETENTION_DAYS=14
 * here, against 90 and 365), so a month fills both and runs two more weeks past them. At the end of
 * every day: the database file and its WAL, pages in use and free pages, rows kept.
 *
 * usage: npx tsx bench/retention.ts [--days 30] [--per-day 20000] [--retention-days 7]
 *   [--results-retention-days 14]
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { ManualClock } from '../src/clock.js';
import { createRetention } from '../src/ops/retention.js';
import { resultInput } from '../src/pipeline/result.js';
import { loadRubricFile } from '../src/rubric-file.js';
import { evaluationComment, formatScore, scoreTranscript } from '../src/scoring/index.js';
import { webhookEvent } from '../src/simulator/index.js';
import { migrate, openStore, type Store } from '../src/store/db.js';
import { JobStore, type SubmittedResult } from '../src/store/jobs.js';
import { type PreparedResult, ResultStore } from '../src/store/results.js';
import { createRetentionBatches, pageFacts, RETENTION_TARGETS } from '../src/store/retention.js';
import { ReviewStore } from '../src/store/reviews.js';
import { generateCall } from './lib/calls.js';
import { ROOT } from './lib/child.js';
import { arg, targetComment } from './lib/report.js';

const DAYS = Number(arg('--days', '30'));
const PER_DAY = Number(arg('--per-day', '20000'));
const RETENTION_DAYS = Number(arg('--retention-days', '7'));
const RESULTS_RETENTION_DAYS = Number(arg('--results-retention-days', String(RETENTION_DAYS * 2)));
const FORM = 'form-bench';
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const MiB = 1024 * 1024;
/** Distinct scored calls; the month's conversations reuse them with their own ids, agents and times. */
const POOL = 200;

/**
 * What the worker has for a scored conversation: the job's submission (per-rule results) and the
 * result as kept (prepared once per pool call: JSON and compression are the worker's CPU, not the
 * database's). The example rubric on 10-minute calls (bench/lib/calls.ts), as bench/console.ts.
 */
function scoredPool(results: ResultStore): { submitted: SubmittedResult; prepared: PreparedResult }[] {
  const loaded = loadRubricFile(join(ROOT, 'rubrics/example.yaml'));
  if (!loaded.ok) throw new Error(loaded.problems.join('; '));
  const { rubric } = loaded;
  return Array.from({ length: POOL }, (_, i) => {
    const call = generateCall(i);
    const result = scoreTranscript(rubric, call.transcript);
    const overallScore = Number(formatScore(result.overallScore));
    const deliveryId = `eval-${String(i).padStart(6, '0')}-0a1b2c3d`;
    return {
      submitted: {
        delivery: { target: 'cxone-qm' as const, id: deliveryId },
        overallScore,
        rubric: { name: rubric.name, version: rubric.version, hash: rubric.hash },
      },
      prepared: results.prepare(
        resultInput({
          job: { conversationId: call.id, formId: FORM, agentId: 'x', mediaType: 'voice' },
          rubric,
          result,
          overallScore,
          comment: evaluationComment(rubric, result),
          transcript: call.transcript,
          delivery: { state: 'delivered', target: 'cxone-qm', id: deliveryId, at: 0 },
          now: 0,
        }),
      ),
    };
  });
}

/** Which window each table (and its indexes) is kept by, for the bytes-per-conversation figures. */
const WINDOW_OF = new Map<string, string>([
  ...RETENTION_TARGETS.map((t) => [t.table, t.window] as [string, string]),
  ['result_rules', 'results'],
  ['reviews', 'results'],
]);

/** Bytes of pages in use per retention window (SQLite's dbstat: every table and index by name). */
function bytesByWindow(store: Store): Record<string, number> {
  const rows = store.sqlite
    .prepare(
      `SELECT coalesce(m.tbl_name, d.name) AS tbl, sum(d.pgsize) AS bytes
       FROM dbstat d LEFT JOIN sqlite_schema m ON m.name = d.name GROUP BY tbl`,
    )
    .all() as { tbl: string; bytes: number }[];
  const out: Record<string, number> = {};
  for (const { tbl, bytes } of rows) {
    const window = WINDOW_OF.get(tbl) ?? 'other';
    out[window] = (out[window] ?? 0) + bytes;
  }
  return out;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'qm-bench-retention-'));
  const path = join(dir, 'qm.sqlite');
  const store = openStore(path);
  migrate(store);
  const clock = new ManualClock(Date.UTC(2026, 0, 1));
  const jobs = new JobStore(store, FORM);
  const results = new ResultStore(store, 'UTC');
  results.ensureRollupZone('UTC');
  const reviews = new ReviewStore(store);
  const pool = scoredPool(results);
  // The recorder's own statement (src/store/event-recorder.ts), so rows are what the service writes.
  const insertEvent = store.sqlite.prepare(
    `INSERT INTO webhook_events (webhook_id, event_id, type, conversation_id, occurred_at, received_at, payload)
     VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
  );

  // Every batch timed in real time: how long retention holds the write lock. Retention gets a
  // connection of its own that never runs the WAL checkpoint: SQLite runs one after whichever commit
  // takes the WAL past 1,000 pages, without the write lock, with or without retention (here the
  // ingest connection's commits do it), and its time is not the lock time measured here.
  const retentionStore = openStore(path);
  retentionStore.sqlite.pragma('wal_autocheckpoint = 0');
  const batches = createRetentionBatches(retentionStore);
  const batchMs: number[] = [];
  const batchMsByTable = new Map<string, number[]>();
  const timed = {
    tables: batches.tables,
    deleteBatch: (table: string, cutoff: number, limit: number) => {
      const started = performance.now();
      const n = batches.deleteBatch(table, cutoff, limit);
      const ms = performance.now() - started;
      batchMs.push(ms);
      if (n > 0) {
        const list = batchMsByTable.get(table) ?? [];
        list.push(ms);
        batchMsByTable.set(table, list);
      }
      return n;
    },
  };
  const deletedTotal: Record<string, number> = {};
  const retention = createRetention({
    batches: timed,
    clock,
    log: pino({ level: 'silent' }),
    windows: { raw: RETENTION_DAYS * DAY, results: RESULTS_RETENTION_DAYS * DAY, spent: HOUR },
    onDeleted: (table, n) => {
      deletedTotal[table] = (deletedTotal[table] ?? 0) + n;
    },
  });

  const perHour = Math.round(PER_DAY / 24);
  const days: {
    day: number;
    dbBytes: number;
    walBytes: number;
    pages: number;
    free: number;
    jobs: number;
    events: number;
    results: number;
    transcripts: number;
  }[] = [];
  const wallStart = performance.now();
  let seq = 0;
  for (let day = 1; day <= DAYS; day++) {
    for (let hour = 0; hour < 24; hour++) {
      const at = clock.now();
      const ids: string[] = [];
      jobs.transaction(() => {
        for (let i = 0; i < perHour; i++) {
          const id = `conv-${String(++seq).padStart(9, '0')}`;
          ids.push(id);
          const agent = `agent-${10_000 + (seq % 250)}`;
          const start = new Date(at - 6 * 60_000).toISOString();
          const end = new Date(at).toISOString();
          const ended = webhookEvent(
            'conversation.ended',
            { conversation_id: id, agent_id: agent, media_type: 'voice', start_time: start, end_time: end },
            new Date(at),
          );
          const ready = webhookEvent('transcript.ready', { conversation_id: id }, new Date(at));
          for (const event of [ended, ready]) {
            insertEvent.run(
              `msg_${event.id.slice(4)}`,
              event.id,
              event.type,
              id,
              event.occurred_at,
              at,
              JSON.stringify(event),
            );
          }
          jobs.onConversationEnded(
            { conversationId: id, agentId: agent, mediaType: 'voice', startTime: start, endTime: end },
            at,
            30_000,
          );
          jobs.onTranscriptReady({ conversationId: id }, at);
        }
      });
      // The worker: claim and finish everything that arrived (96 % evaluated, 3 % skipped, 1 % failed).
      for (;;) {
        const claimed = jobs.claim('bench-worker', 1_000, at, 15_000);
        if (claimed.length === 0) break;
        jobs.transaction(() => {
          for (const job of claimed) {
            const n = Number(job.conversationId.slice(5));
            if (n % 100 < 3)
              jobs.skip(
                'bench-worker',
                job.conversationId,
                { code: 'empty_transcript', reason: 'transcript is empty' },
                at,
              );
            else if (n % 100 === 3)
              jobs.fail(
                'bench-worker',
                job.conversationId,
                { code: 'rejected', reason: 'submitEvaluation: HTTP 422: item unknown' },
                at,
              );
            else {
              // As the worker's recordWith: the transition, and the result it records, in one transaction.
              const { submitted, prepared } = pool[n % POOL]!;
              if (!jobs.submitted('bench-worker', job.conversationId, submitted, at)) continue;
              const resultId = results.write({
                ...prepared,
                day: results.day(at),
                input: {
                  ...prepared.input,
                  conversationId: job.conversationId,
                  agentId: job.agentId ?? 'agent',
                  evaluatedAt: at,
                  delivery: { state: 'delivered', target: 'cxone-qm', id: submitted.delivery.id, at },
                },
              });
              if (n % 100 === 50)
                reviews.record(
                  resultId,
                  { id: null, name: 'reviewer' },
                  [
                    { rule: 'greeting', verdict: 'agree' },
                    { rule: 'closing', verdict: 'fail', note: 'closing came after the customer hung up' },
                  ],
                  at,
                );
            }
          }
        });
      }
      await retention.runPass();
      await clock.advance(HOUR);
    }
    const facts = pageFacts(store);
    const size = (p: string) => {
      try {
        return statSync(p).size;
      } catch {
        return 0;
      }
    };
    const count = (table: string) =>
      Number(store.sqlite.prepare(`SELECT count(*) FROM ${table}`).pluck().get());
    days.push({
      day,
      dbBytes: size(path),
      walBytes: size(`${path}-wal`),
      pages: facts.pages,
      free: facts.freePages,
      jobs: count('jobs'),
      events: count('webhook_events'),
      results: count('results'),
      transcripts: count('transcripts'),
    });
    process.stderr.write(`bench retention: day ${day}/${DAYS}: ${(size(path) / MiB).toFixed(1)} MiB\n`);
  }
  const wallSeconds = (performance.now() - wallStart) / 1000;
  const lastDay = days.at(-1)!;
  // Pages in use by what each window keeps, per conversation kept in it: what the defaults come to.
  const byWindow = bytesByWindow(store);
  const rawPerConversation = (byWindow.raw ?? 0) / lastDay.jobs;
  const resultsPerConversation = (byWindow.results ?? 0) / lastDay.results;
  retentionStore.close();
  store.close();
  rmSync(dir, { recursive: true, force: true });

  // "Flat": from the first day both windows are full (day W + 1 has lost its first day) to the end,
  // the file grows by at most 5 %; and the last week grows by nothing but page rounding.
  const widest = Math.max(RETENTION_DAYS, RESULTS_RETENTION_DAYS);
  const full = days.find((d) => d.day === widest + 2) ?? days[0]!;
  const last = lastDay;
  const growth = (last.dbBytes - full.dbBytes) / full.dbBytes;
  const weekAgo = days.find((d) => d.day === last.day - 7) ?? full;
  const lastWeekGrowth = (last.dbBytes - weekAgo.dbBytes) / weekAgo.dbBytes;
  const GiB = 1024 * MiB;
  const atDefaults = (rawPerConversation * 90 + resultsPerConversation * 365) * PER_DAY;
  const fmt = (n: number) => n.toLocaleString('en-US');
  const quantile = (values: number[]) => {
    const sorted = [...values].sort((a, b) => a - b);
    return (p: number) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? 0;
  };
  const q = quantile(batchMs);
  const perTable = [...batchMsByTable]
    .map(([table, list]) => {
      const tq = quantile(list);
      return `${table} ${fmt(list.length)} (p99 ${tq(0.99).toFixed(1)}, max ${tq(1).toFixed(1)})`;
    })
    .join(', ');
  const flat = growth <= 0.05;
  const lockOk = q(0.99) <= 50;
  const mib = (n: number) => (n / MiB).toFixed(1);

  const out = [
    '## Retention',
    '',
    `A simulated ${DAYS} days at ${fmt(PER_DAY)} conversations a day (${fmt(perHour)} an hour) with RETENTION_DAYS=${RETENTION_DAYS} and RESULTS_RETENTION_DAYS=${RESULTS_RETENTION_DAYS}, on the service's store code and a manual clock (bench/retention.ts): each hour, two webhook deliveries per conversation (rows as the event recorder writes them) and its job through JobStore's transitions to submitted, skipped (3 %) or failed (1 %). A submitted job writes what the worker writes in the same transaction: its result through ResultStore (the example rubric's 9 rules on a 10-minute call: per-rule rows, daily figures) with the compressed transcript; 1 % of results get a reviewer's verdicts. Then the retention runner's hourly pass (batches of at most 500 rows, each its own write transaction, sized to hold the write lock about 20 ms). Sizes at the end of each day; "free" pages are on SQLite's free list, waiting to be reused. ${fmt(seq)} conversations in ${wallSeconds.toFixed(0)} s.`,
    '',
    '| day | database | WAL | pages | free pages | jobs | webhook deliveries | transcripts | results |',
    '| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...days
      .filter(
        (d) =>
          d.day <= RETENTION_DAYS + 2 ||
          (d.day >= widest && d.day <= widest + 2) ||
          d.day % 5 === 0 ||
          d.day === last.day,
      )
      .map(
        (d) =>
          `| ${d.day} | ${mib(d.dbBytes)} MiB | ${mib(d.walBytes)} MiB | ${fmt(d.pages)} | ${fmt(d.free)} | ${fmt(d.jobs)} | ${fmt(d.events)} | ${fmt(d.transcripts)} | ${fmt(d.results)} |`,
      ),
    '',
    `Once both windows are full (day ${full.day}: ${mib(full.dbBytes)} MiB) to day ${last.day} (${mib(last.dbBytes)} MiB): **${(growth * 100).toFixed(1)} %** (last seven days: ${(lastWeekGrowth * 100).toFixed(1)} %). Pages freed by a pass are reused by the next hours' inserts, so the file stops growing; it does not shrink (see the README's Operations section for reclaiming space after lowering a window).`,
    `Pages in use per conversation kept (SQLite's dbstat, tables with their indexes): ${fmt(Math.round(rawPerConversation))} bytes for what RETENTION_DAYS keeps (webhook deliveries, job, transcript) and ${fmt(Math.round(resultsPerConversation))} bytes for what RESULTS_RETENTION_DAYS keeps (result, per-rule rows, daily figures, reviews). At ${fmt(PER_DAY)} a day, the defaults (90 and 365 days) level off near ${(atDefaults / GiB).toFixed(1)} GiB (${((rawPerConversation * 90 * PER_DAY) / GiB).toFixed(1)} + ${((resultsPerConversation * 365 * PER_DAY) / GiB).toFixed(1)}), plus the free pages between passes and the WAL.`,
    `Retention batches: ${fmt(batchMs.length)}, write lock held (delete and commit) p50 ${q(0.5).toFixed(2)} ms, p99 ${q(0.99).toFixed(2)} ms, max ${q(1).toFixed(2)} ms: a webhook's commit waits at most one batch. WAL checkpoints are not in these times (see above): SQLite runs one, without the write lock, after whichever commit takes the WAL past 1,000 pages, retention or not. Deleted: ${Object.entries(
      deletedTotal,
    )
      .map(([t, n]) => `${fmt(n)} ${t}`)
      .join(', ')}. Batches that deleted rows, by table (ms): ${perTable}.`,
    '',
    '| target | measured | result |',
    '| --- | --- | --- |',
    `| database file flat once past the retention windows (≤ 5 % growth from day ${full.day} to day ${last.day}) | ${(growth * 100).toFixed(1)} % (${mib(full.dbBytes)} → ${mib(last.dbBytes)} MiB) | **${flat ? 'PASS' : 'FAIL'}** |`,
    `| a retention batch holds the write lock ≤ 50 ms (p99) | p99 ${q(0.99).toFixed(2)} ms, max ${q(1).toFixed(2)} ms | **${lockOk ? 'PASS' : 'FAIL'}** |`,
    '',
    targetComment([
      {
        id: 'retention-flat',
        name: 'Database flat past the retention windows, results and transcripts included (≤ 5 %)',
        ok: flat,
        measured: `${(growth * 100).toFixed(1)} % from day ${full.day} to ${last.day}`,
      },
      {
        id: 'retention-lock',
        name: 'Retention batch holds the write lock ≤ 50 ms (p99)',
        ok: lockOk,
        measured: `p99 ${q(0.99).toFixed(2)} ms`,
      },
    ]),
  ];
  process.stdout.write(`${out.join('\n')}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`bench retention failed: ${(error as Error)?.stack ?? String(error)}\n`);
  process.exitCode = 1;
});

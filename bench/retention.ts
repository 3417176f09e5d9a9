/**
 * Retention benchmark: does the database file stop growing under steady load once past the retention
 * window, and how long does a retention batch hold the write lock?
 *
 * A simulated month at 20,000 conversations a day, on the service's own store code and a manual clock
 * (src/clock.ts), so a month runs in a minute or two: each simulated hour, that hour's conversations
 * arrive (conversation.ended and transcript.ready deliveries, rows as the event recorder writes them;
 * jobs through JobStore's transitions: created, announced, claimed, then submitted with a real
 * rubric's per-rule results, or skipped / failed in realistic shares), then the service's retention
 * runner (src/ops/retention.ts with src/store/retention.ts) makes its hourly pass. The window is
 * shorter than the default 90 days (RETENTION_DAYS=7 by default here), so a month is four windows.
 * At the end of every day: the database file and its WAL, pages in use and free pages.
 *
 * usage: npx tsx bench/retention.ts [--days 30] [--per-day 20000] [--retention-days 7]
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { ManualClock } from '../src/clock.js';
import { createRetention } from '../src/ops/retention.js';
import { loadRubricFile } from '../src/rubric-file.js';
import { scoreTranscript } from '../src/scoring/index.js';
import { generateSampleConversations, webhookEvent } from '../src/simulator/index.js';
import { migrate, openStore } from '../src/store/db.js';
import { JobStore, type SubmittedResult } from '../src/store/jobs.js';
import { createRetentionBatches, pageFacts } from '../src/store/retention.js';
import { arg, targetComment } from './lib/report.js';

const DAYS = Number(arg('--days', '30'));
const PER_DAY = Number(arg('--per-day', '20000'));
const RETENTION_DAYS = Number(arg('--retention-days', '7'));
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const MiB = 1024 * 1024;

/** Real per-rule results to store with each submitted job, from the default rubric on sample calls. */
function sampleResults(): SubmittedResult[] {
  const loaded = loadRubricFile(null);
  if (!loaded.ok) throw new Error(loaded.problems.join('; '));
  const { scorer } = loaded;
  return generateSampleConversations(40, 7, { emptyTranscriptRate: 0 }).map((c, i) => {
    const result = scoreTranscript(loaded.rubric, c.transcript);
    return {
      delivery: { target: 'cxone-qm' as const, id: `eval-${String(i).padStart(6, '0')}-0a1b2c3d` },
      overallScore: Math.round(result.overallScore * 100) / 100,
      rubric: { name: scorer.rubric.name, version: scorer.rubric.version, hash: scorer.rubric.hash },
      rules: result.rules.map((r) => ({
        name: r.name,
        outcome: r.outcome,
        score: r.score,
        comment: r.comment,
      })),
    };
  });
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'qm-bench-retention-'));
  const path = join(dir, 'qm.sqlite');
  const store = openStore(path);
  migrate(store);
  const clock = new ManualClock(Date.UTC(2026, 0, 1));
  const jobs = new JobStore(store, 'form-bench');
  const results = sampleResults();
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
  const timed = {
    tables: batches.tables,
    deleteBatch: (table: string, cutoff: number, limit: number) => {
      const started = performance.now();
      const n = batches.deleteBatch(table, cutoff, limit);
      batchMs.push(performance.now() - started);
      return n;
    },
  };
  const deletedTotal: Record<string, number> = {};
  const retention = createRetention({
    batches: timed,
    clock,
    log: pino({ level: 'silent' }),
    windows: { raw: RETENTION_DAYS * DAY, results: 0 },
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
            else jobs.submitted('bench-worker', job.conversationId, results[n % results.length]!, at);
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
    });
    process.stderr.write(`bench retention: day ${day}/${DAYS}: ${(size(path) / MiB).toFixed(1)} MiB\n`);
  }
  const wallSeconds = (performance.now() - wallStart) / 1000;
  retentionStore.close();
  store.close();
  rmSync(dir, { recursive: true, force: true });

  // "Flat": from the first day the window is full (day RETENTION_DAYS + 1 has lost its first day) to
  // the end, the file grows by at most 5 %; and the last week grows by nothing but page rounding.
  const full = days.find((d) => d.day === RETENTION_DAYS + 2) ?? days[0]!;
  const last = days.at(-1)!;
  const growth = (last.dbBytes - full.dbBytes) / full.dbBytes;
  const weekAgo = days.find((d) => d.day === last.day - 7) ?? full;
  const lastWeekGrowth = (last.dbBytes - weekAgo.dbBytes) / weekAgo.dbBytes;
  const perConversation = full.dbBytes / (RETENTION_DAYS * PER_DAY);
  const sorted = [...batchMs].sort((a, b) => a - b);
  const q = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? 0;
  const flat = growth <= 0.05;
  const lockOk = q(0.99) <= 50;
  const fmt = (n: number) => n.toLocaleString('en-US');
  const mib = (n: number) => (n / MiB).toFixed(1);

  const out = [
    '## Retention',
    '',
    `A simulated ${DAYS} days at ${fmt(PER_DAY)} conversations a day (${fmt(perHour)} an hour) with RETENTION_DAYS=${RETENTION_DAYS}, on the service's store code and a manual clock (bench/retention.ts): each hour, two webhook deliveries per conversation (rows as the event recorder writes them) and its job through JobStore's transitions to submitted (with the default rubric's per-rule results), skipped (3 %) or failed (1 %); then the retention runner's hourly pass (batches of at most 500 rows, each its own write transaction, sized to hold the write lock about 20 ms). Sizes at the end of each day; "free" pages are on SQLite's free list, waiting to be reused. ${fmt(seq)} conversations in ${wallSeconds.toFixed(0)} s.`,
    '',
    '| day | database | WAL | pages | free pages | jobs | webhook deliveries |',
    '| ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...days
      .filter((d) => d.day <= RETENTION_DAYS + 3 || d.day % 5 === 0 || d.day === last.day)
      .map(
        (d) =>
          `| ${d.day} | ${mib(d.dbBytes)} MiB | ${mib(d.walBytes)} MiB | ${fmt(d.pages)} | ${fmt(d.free)} | ${fmt(d.jobs)} | ${fmt(d.events)} |`,
      ),
    '',
    `Once the window is full (day ${full.day}: ${mib(full.dbBytes)} MiB) to day ${last.day} (${mib(last.dbBytes)} MiB): **${(growth * 100).toFixed(1)} %** (last seven days: ${(lastWeekGrowth * 100).toFixed(1)} %). Pages freed by a pass are reused by the next hours' inserts, so the file stops growing; it does not shrink (see the README's Operations section for reclaiming space after lowering RETENTION_DAYS).`,
    `About ${fmt(Math.round(perConversation))} bytes of database per conversation kept: at ${fmt(PER_DAY)} a day, the default RETENTION_DAYS=90 levels off near ${((perConversation * 90 * PER_DAY) / 1024 / MiB).toFixed(1)} GiB.`,
    `Retention batches: ${fmt(batchMs.length)}, write lock held (delete and commit) p50 ${q(0.5).toFixed(2)} ms, p99 ${q(0.99).toFixed(2)} ms, max ${q(1).toFixed(2)} ms: a webhook's commit waits at most one batch. WAL checkpoints are not in these times (see above): SQLite runs one, without the write lock, after whichever commit takes the WAL past 1,000 pages, retention or not. Deleted: ${Object.entries(
      deletedTotal,
    )
      .map(([t, n]) => `${fmt(n)} ${t}`)
      .join(', ')}.`,
    '',
    '| target | measured | result |',
    '| --- | --- | --- |',
    `| database file flat once past the retention window (≤ 5 % growth from day ${full.day} to day ${last.day}) | ${(growth * 100).toFixed(1)} % (${mib(full.dbBytes)} → ${mib(last.dbBytes)} MiB) | **${flat ? 'PASS' : 'FAIL'}** |`,
    `| a retention batch holds the write lock ≤ 50 ms (p99) | p99 ${q(0.99).toFixed(2)} ms, max ${q(1).toFixed(2)} ms | **${lockOk ? 'PASS' : 'FAIL'}** |`,
    '',
    targetComment([
      {
        id: 'retention-flat',
        name: 'Database flat past the retention window (≤ 5 %)',
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

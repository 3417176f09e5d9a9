/**
 * Console and results API benchmark: a database with 200,000 results (30 days, 250 agents, every
 * result with its compressed 10-minute transcript, its submitted job and two webhook deliveries,
 * 2,500 reviewed), served by the service as `npm start` runs it (pinned to core 1); every console
 * page and API page requested one at a time over keep-alive HTTP from this process (core 0).
 * Then the backtest: 20,000 stored transcripts rescored with another rubric, and what keeping a
 * result costs the worker.
 *
 * Prints a Markdown section to stdout.
 * usage: npx tsx bench/console.ts [--results N] [--requests N] [--seeded PATH]
 *   --seeded PATH: keep the freshly seeded database at PATH, or start from a copy of it when it is
 *   there already (seeding takes minutes; for trying changes, since every run starts from the same
 *   pristine copy; migrations added since are applied to the copy). A database seeded with another
 *   --results is seeded again.
 *   --profile DIR: the service runs with --cpu-prof and leaves its profile in DIR.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, fetch } from 'undici';
import { createPasswordHasher } from '../src/auth/password.js';
import { issueApiToken } from '../src/auth/sign-in.js';
import { runBacktest } from '../src/backtest/run.js';
import { resultInput } from '../src/pipeline/result.js';
import { loadRubricFile } from '../src/rubric-file.js';
import { evaluationComment, formatScore, scoreTranscript } from '../src/scoring/index.js';
import { createCxoneSimulator, settingsForSimulator } from '../src/simulator/index.js';
import { AccountStore } from '../src/store/accounts.js';
import { migrate, openStore, type Store } from '../src/store/db.js';
import { type PreparedResult, ResultStore } from '../src/store/results.js';
import { ReviewStore } from '../src/store/reviews.js';
import { encodeCursor } from '../src/web/filters.js';
import { generateCall } from './lib/calls.js';
import { ROOT, spawnServer } from './lib/child.js';
import { canPin, pinSelf, unpinSelf } from './lib/machine.js';
import { arg, targetComment } from './lib/report.js';
import { fmtInt, fmtMs, passFail, summarize } from './lib/stats.js';

const RESULTS = Number(arg('--results', '200000'));
const REQUESTS = Number(arg('--requests', '60'));
const SEEDED = arg('--seeded', '');
/** --profile DIR: the service runs with --cpu-prof and writes its profile there. */
const PROFILE = arg('--profile', '');
const RESCORE = 20_000;
const POOL = 2_000;
const AGENTS = 250;
const DAYS = 30;
const FORM = 'form-collections-2024';
const PASSWORD = 'benchmark password';
const PAGE_TARGET_MS = 100;
const RESCORE_TARGET_S = 5;
const DAY_MS = 86_400_000;

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

interface Seeded {
  ids: string[];
  agents: string[];
  rules: string[];
  seedSeconds: number;
  bytes: number;
}

/** Writes the database: results through the store (as the worker does), the rest in bulk. */
function seed(path: string, now: number): Seeded {
  const started = Date.now();
  const loaded = loadRubricFile(join(ROOT, 'rubrics/example.yaml'));
  if (!loaded.ok) throw new Error(loaded.problems.join('; '));
  const { rubric } = loaded;
  const store = openStore(path);
  migrate(store);
  const results = new ResultStore(store, 'UTC');
  results.ensureRollupZone('UTC');
  const r = rng(42);
  const agents = Array.from({ length: AGENTS }, (_, i) => `agent-${String(10_000 + i)}`);
  // A pool of scored calls, each prepared once (JSON and compression); the 200,000 results reuse
  // them with their own ids, agents and times.
  const pool: PreparedResult[] = [];
  for (let i = 0; i < POOL; i++) {
    const call = generateCall(i);
    const result = scoreTranscript(rubric, call.transcript);
    pool.push(
      results.prepare(
        resultInput({
          job: { conversationId: call.id, formId: FORM, agentId: 'x', mediaType: 'voice' },
          rubric,
          result,
          overallScore: Number(formatScore(result.overallScore)),
          comment: evaluationComment(rubric, result),
          transcript: call.transcript,
          delivery: { state: 'delivered', target: 'cxone-qm', id: 'x', at: 0 },
          now,
        }),
      ),
    );
  }
  const insertJob = store.sqlite.prepare(
    `INSERT INTO jobs (conversation_id, form_id, agent_id, media_type, source, state, first_seen_at, next_attempt_at,
       finished_at, evaluation_id, overall_score, created_at, updated_at)
     VALUES (?, ?, ?, 'voice', 'webhook', ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const insertEvent = store.sqlite.prepare(
    `INSERT INTO webhook_events (webhook_id, event_id, type, conversation_id, occurred_at, received_at, payload)
     VALUES (?, ?, ?, ?, ?, ?, ?)`,
  );
  const ids: string[] = [];
  const BATCH = 5_000;
  for (let start = 0; start < RESULTS; start += BATCH) {
    store.sqlite
      .transaction(() => {
        for (let i = start; i < Math.min(RESULTS, start + BATCH); i++) {
          const id = `conv-${String(i).padStart(7, '0')}`;
          ids.push(id);
          // Oldest first, as they arrive; agents by a skewed draw (a few handle many calls).
          const at = now - DAYS * DAY_MS + Math.floor(((i + r()) / RESULTS) * DAYS * DAY_MS);
          const agentId = agents[Math.floor(AGENTS * r() ** 1.6)]!;
          const base = pool[i % POOL]!;
          const evaluationId = `eval-${id}`;
          results.write({
            ...base,
            day: results.day(at),
            input: {
              ...base.input,
              conversationId: id,
              agentId,
              evaluatedAt: at,
              delivery: { state: 'delivered', target: 'cxone-qm', id: evaluationId, at },
            },
          });
          const state = i % 1000 === 0 ? 'failed' : 'submitted';
          insertJob.run(
            id,
            FORM,
            agentId,
            state,
            at - 90_000,
            at,
            at,
            evaluationId,
            base.input.overallScore,
            at - 90_000,
            at,
          );
          const payload = JSON.stringify({
            id: `evt-${id}`,
            type: 'conversation.ended',
            data: { conversation_id: id },
          });
          insertEvent.run(
            `wh-${id}-1`,
            `evt-${id}-1`,
            'conversation.ended',
            id,
            new Date(at - 90_000).toISOString(),
            at - 90_000,
            payload,
          );
          insertEvent.run(
            `wh-${id}-2`,
            `evt-${id}-2`,
            'transcript.ready',
            id,
            new Date(at - 60_000).toISOString(),
            at - 60_000,
            payload,
          );
        }
      })
      .immediate();
  }
  // Some work still waiting, so the queue page has something to list.
  store.sqlite.transaction(() => {
    for (let i = 0; i < 100; i++) {
      insertJob.run(
        `conv-waiting-${i}`,
        FORM,
        agents[i % AGENTS]!,
        'waiting_transcript',
        now - i * 60_000,
        now + 30_000,
        null,
        null,
        null,
        now,
        now,
      );
    }
  })();
  // Five reviewers have reviewed 2,500 results, mostly agreeing.
  const reviews = new ReviewStore(store);
  const reviewers = ['maria', 'omar', 'lin', 'sam', 'ana'];
  const reviewed = results.list({}, 2_500).rows;
  reviewed.forEach((row, i) => {
    const verdicts = row.rules.map((rule, j) => ({
      rule: rule.name,
      verdict: (i * 7 + j) % 13 === 0 ? (rule.outcome === 'pass' ? 'fail' : 'pass') : 'agree',
      note: null,
    })) as Parameters<ReviewStore['record']>[2];
    reviews.record(row.id, { id: null, name: reviewers[i % reviewers.length]! }, verdicts, now - i * 60_000);
  });
  store.close();
  const size = Number(spawnSync('stat', ['-c', '%s', path], { encoding: 'utf8' }).stdout.trim());
  return {
    ids,
    agents,
    rules: rubric.rules.map((x) => x.name),
    seedSeconds: (Date.now() - started) / 1000,
    bytes: size,
  };
}

/** What a kept seeded database was made with, so one of another size is seeded again. */
function seedKey(): string {
  return JSON.stringify({ results: RESULTS });
}

/**
 * Seeds `path`, or (with --seeded) copies a kept database there. A kept database's results were
 * timed against the hour it was seeded, so the windows the pages ask for ("since 7d", the overview's
 * 30 days) slowly move over them: fine for comparing changes over a day, not for the record.
 */
function seedOrReuse(path: string, now: number): Seeded {
  const metaPath = `${SEEDED}.json`;
  if (SEEDED && existsSync(SEEDED) && existsSync(metaPath)) {
    const meta = JSON.parse(readFileSync(metaPath, 'utf8')) as Seeded & { key: string };
    if (meta.key === seedKey()) {
      process.stderr.write(`bench/console: starting from a copy of ${SEEDED}\n`);
      copyFileSync(SEEDED, path);
      // Migrations added since it was seeded, as an upgrade applies them.
      const store = openStore(path);
      migrate(store);
      store.close();
      return meta;
    }
  }
  process.stderr.write(`bench/console: seeding ${fmtInt(RESULTS)} results ...\n`);
  const seeded = seed(path, now);
  if (SEEDED) {
    copyFileSync(path, SEEDED);
    writeFileSync(metaPath, JSON.stringify({ ...seeded, key: seedKey() }));
  }
  return seeded;
}

async function addAccount(path: string, now: number): Promise<string> {
  const store = openStore(path);
  const accounts = new AccountStore(store);
  const user = accounts.addUser('bench', 'admin', await createPasswordHasher().hash(PASSWORD), now);
  if (user === 'exists') throw new Error('account exists');
  const token = issueApiToken(accounts, user.id, now);
  store.close();
  return token;
}

/** A cursor into the middle of the results, for the "deep page" rows. */
function middleCursor(path: string): string {
  const store: Store = openStore(path);
  const row = store.sqlite
    .prepare(
      'SELECT evaluated_at AS evaluatedAt, id FROM results ORDER BY evaluated_at DESC, id DESC LIMIT 1 OFFSET ?',
    )
    .get(Math.floor(RESULTS / 2)) as { evaluatedAt: number; id: number };
  const plans = new ResultStore(store);
  const explain = [
    ['newest first', {}],
    ['agent', { agentId: 'agent-10003' }],
    ['failed rule', { failedRule: 'recording_notice' }],
    ['critical failures', { criticalOnly: true }],
    ['reviewed', { reviewed: true }],
    ['score range', { minScore: 40, maxScore: 60 }],
    ['agent + failed rule', { agentId: 'agent-10003', failedRule: 'mini_miranda' }],
  ] as const;
  planLines = explain.map(([name, filter]) => `| ${name} | \`${plans.explain(filter, row).join('; ')}\` |`);
  store.close();
  return encodeCursor(row);
}
let planLines: string[] = [];

/** The 20,000th newest result's time: the backtest window that holds exactly 20,000. */
function rescoreSince(path: string): number {
  const store = openStore(path);
  const row = store.sqlite
    .prepare('SELECT evaluated_at AS at FROM results ORDER BY evaluated_at DESC, id DESC LIMIT 1 OFFSET ?')
    .get(RESCORE - 1) as { at: number };
  store.close();
  return row.at;
}

/** What keeping a result costs the worker: prepare (JSON, gzip) and write, per result, own transaction. */
function writeCost(path: string, now: number): { prepareUs: number; writeUs: number } {
  const loaded = loadRubricFile(join(ROOT, 'rubrics/example.yaml'));
  if (!loaded.ok) throw new Error('rubric');
  const store = openStore(path);
  const results = new ResultStore(store);
  const calls = Array.from({ length: 500 }, (_, i) => generateCall(POOL + i));
  const scored = calls.map((c) => scoreTranscript(loaded.rubric, c.transcript));
  let t = performance.now();
  const prepared = calls.map((c, i) =>
    results.prepare(
      resultInput({
        job: { conversationId: `write-cost-${i}`, formId: FORM, agentId: 'agent-10001' },
        rubric: loaded.rubric,
        result: scored[i]!,
        overallScore: 50,
        comment: 'c',
        transcript: c.transcript,
        delivery: { state: 'delivered', target: 'cxone-qm', id: 'e', at: now },
        now,
      }),
    ),
  );
  const prepareUs = ((performance.now() - t) * 1000) / calls.length;
  t = performance.now();
  for (const p of prepared) store.sqlite.transaction(() => results.write(p)).immediate();
  const writeUs = ((performance.now() - t) * 1000) / calls.length;
  store.close();
  return { prepareUs, writeUs };
}

/** Threads' CPU seconds: what the backtest itself cost, whatever else the machine was doing. */
const cpuText = (report: { threadCpuMs: number[]; threadStartCpuMs: number[] }) =>
  report.threadCpuMs.length
    ? `${report.threadCpuMs.map((x) => `${(x / 1000).toFixed(2)} s`).join(', ')}${report.threadStartCpuMs.length ? `, and ${report.threadStartCpuMs.map((x) => `${(x / 1000).toFixed(2)} s`).join(', ')} for the worker to load its code` : ''}`
    : 'not measured';

async function main(): Promise<void> {
  pinSelf(0);
  const dir = mkdtempSync(join(tmpdir(), 'qm-bench-console-'));
  const path = join(dir, 'qm.sqlite');
  const now = Date.now();
  const seeded = seedOrReuse(path, now);
  const token = await addAccount(path, now);
  const cursor = middleCursor(path);
  const sim = createCxoneSimulator({});
  const simServer = await sim.listen(0);
  const dispatcher = new Agent({ connections: 1, pipelining: 1 });
  let server: Awaited<ReturnType<typeof spawnServer>> | undefined;
  try {
    server = await spawnServer({
      script: 'bench/lib/service-server.ts',
      core: 1,
      logFile: join(dir, 'service.log'),
      ...(PROFILE ? { profileDir: PROFILE } : {}),
      env: {
        ...settingsForSimulator(sim, simServer.url),
        PORT: '0',
        DATABASE_PATH: path,
        WEBHOOK_SECRET: 'whsec_YmVuY2htYXJrLXNlY3JldC12YWx1ZS0xMjM0NTY=',
        SWEEP_INTERVAL_SECONDS: '0',
        LOG_LEVEL: 'info',
      },
    });
    const login = await fetch(`${server.url}/console/login`, {
      method: 'POST',
      body: new URLSearchParams({ username: 'bench', password: PASSWORD }),
      headers: { origin: server.url },
      redirect: 'manual',
      dispatcher,
    });
    const cookie = /qm_session=[^;]+/.exec(login.headers.get('set-cookie') ?? '')?.[0];
    if (!cookie) throw new Error(`sign-in failed: ${login.status}`);
    const loadAtStart = loadavg()[0]!;
    const r = rng(7);
    const someId = () => seeded.ids[Math.floor(r() * seeded.ids.length)]!;
    const someAgent = () => seeded.agents[Math.floor(r() * 20)]!;
    const someRule = () => seeded.rules[Math.floor(r() * seeded.rules.length)]!;
    const pages: { name: string; path: () => string; api?: boolean }[] = [
      { name: 'overview, 30 days', path: () => '/console' },
      { name: 'overview, 90 days', path: () => '/console?days=90' },
      { name: 'conversations, newest', path: () => '/console/conversations' },
      { name: 'conversations, page in the middle', path: () => `/console/conversations?cursor=${cursor}` },
      { name: 'conversations, failed rule', path: () => `/console/conversations?failed_rule=${someRule()}` },
      { name: 'conversations, critical failures', path: () => '/console/conversations?critical=true' },
      { name: 'conversations, agent', path: () => `/console/conversations?agent=${someAgent()}` },
      { name: 'conversations, score 40-60', path: () => '/console/conversations?min_score=40&max_score=60' },
      { name: 'conversations, reviewed', path: () => '/console/conversations?reviewed=true' },
      {
        name: 'conversations, not reviewed, one week',
        path: () => '/console/conversations?reviewed=false&since=14d&until=7d',
      },
      {
        name: 'conversations, agent + failed rule',
        path: () => `/console/conversations?agent=${someAgent()}&failed_rule=${someRule()}`,
      },
      { name: 'conversation', path: () => `/console/conversations/${someId()}` },
      { name: 'agents, 30 days', path: () => '/console/agents' },
      { name: 'agent', path: () => `/console/agents/${someAgent()}` },
      { name: 'rubric', path: () => '/console/rubric' },
      { name: 'queue', path: () => '/console/queue' },
      { name: 'calibration', path: () => '/console/calibration' },
      { name: 'API, newest 100', path: () => '/api/v1/results', api: true },
      { name: 'API, page in the middle', path: () => `/api/v1/results?cursor=${cursor}`, api: true },
      { name: 'API, agent', path: () => `/api/v1/results?agent=${someAgent()}`, api: true },
      { name: 'API, since 7d', path: () => '/api/v1/results?since=7d', api: true },
      { name: 'API, failed rule', path: () => `/api/v1/results?failed_rule=${someRule()}`, api: true },
      { name: 'API, 1,000 per page', path: () => '/api/v1/results?limit=1000', api: true },
    ];
    const rows: string[] = [];
    let worst = { name: '', p95: 0 };
    for (const page of pages) {
      const times: number[] = [];
      for (let i = 0; i < REQUESTS + 5; i++) {
        const t = performance.now();
        const res = await fetch(`${server.url}${page.path()}`, {
          headers: page.api ? { authorization: `Bearer ${token}` } : { cookie },
          dispatcher,
        });
        const body = await res.arrayBuffer();
        const ms = performance.now() - t;
        if (res.status !== 200)
          throw new Error(`${page.name}: HTTP ${res.status} ${Buffer.from(body).toString().slice(0, 200)}`);
        if (i >= 5) times.push(ms);
      }
      const s = summarize(times);
      const p95 = [...times].sort((a, b) => a - b)[Math.ceil(0.95 * times.length) - 1]!;
      if (p95 > worst.p95) worst = { name: page.name, p95 };
      rows.push(`| ${page.name} | ${fmtMs(s.p50)} | ${fmtMs(p95)} | ${fmtMs(s.max)} |`);
    }
    // The whole export, streamed.
    const csvStart = performance.now();
    const csv = await fetch(`${server.url}/api/v1/results.csv`, {
      headers: { authorization: `Bearer ${token}` },
      dispatcher,
    });
    const reader = csv.body!.getReader();
    let firstByte = 0;
    let bytes = 0;
    let lines = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (!firstByte) firstByte = performance.now() - csvStart;
      bytes += value.byteLength;
      for (let k = 0; k < value.length; k++) if (value[k] === 10) lines++;
    }
    const csvSeconds = (performance.now() - csvStart) / 1000;
    const serverRss =
      Number(readFileSync(`/proc/${server.child.pid}/status`, 'utf8').match(/VmHWM:\s+(\d+)/)?.[1] ?? 0) /
      1024;
    await server.stop();

    // The backtest: in this process's threads, as npm run rescore does, and the command itself, on
    // every core (the page measurements pinned this process to core 0, and threads and processes
    // started from it would inherit that).
    unpinSelf();
    const since = rescoreSince(path);
    const newRubric = join(dir, 'new.yaml');
    const baselineText = readFileSync(join(ROOT, 'rubrics/example.yaml'), 'utf8');
    // A typical change: the greeting must now be a daypart greeting ("thank you for calling" and
    // "hello" no longer count).
    writeFileSync(
      newRubric,
      baselineText.replace(
        'phrases: [thank you for calling, good morning, good afternoon, good evening, hello, hi]',
        'phrases: [good morning, good afternoon, good evening]',
      ),
    );
    const backtest = (baseline: boolean) =>
      runBacktest({
        rubricText: readFileSync(newRubric, 'utf8'),
        rubricFile: 'new.yaml',
        ...(baseline ? { baselineText } : {}),
        window: { since },
        // As `npm run rescore --threads 2` runs it: this thread and one worker claim shares of the
        // window in turn.
        threads: 1,
        alsoOnThisThread: true,
        databasePath: path,
      });
    // As npm run rescore runs it (the stored results' rubric is the active one: only the changed
    // rule is rerun), and with every rule rerun (results scored by some other rubric).
    const rescored = await backtest(true);
    const whole = await backtest(false);
    if (!rescored.ok) throw new Error(rescored.problems.join('; '));
    if (!whole.ok) throw new Error(whole.problems.join('; '));
    const t = rescored.report.tally;
    const rescoreSeconds = rescored.report.durationMs / 1000;
    const wholeSeconds = whole.report.durationMs / 1000;
    const cmdStart = performance.now();
    const cmd = spawnSync(
      process.execPath,
      [
        '--import',
        'tsx',
        join(ROOT, 'src/cli/qm.ts'),
        'rescore',
        '--rubric',
        newRubric,
        '--since',
        new Date(since).toISOString(),
        '--threads',
        '2',
      ],
      {
        cwd: ROOT,
        encoding: 'utf8',
        env: { ...process.env, DATABASE_PATH: path, RUBRIC_PATH: join(ROOT, 'rubrics/example.yaml') },
      },
    );
    const cmdSeconds = (performance.now() - cmdStart) / 1000;
    if (cmd.status !== 0) throw new Error(`npm run rescore failed: ${cmd.stderr}`);
    const cost = writeCost(path, now);

    const pageOk = worst.p95 < PAGE_TARGET_MS;
    const rescoreOk = rescoreSeconds < RESCORE_TARGET_S && t.conversations === RESCORE;
    const wholeOk = wholeSeconds < RESCORE_TARGET_S && whole.report.tally.conversations === RESCORE;
    const out = [
      '## Console and results API',
      '',
      `Database: ${fmtInt(RESULTS)} results over ${DAYS} days (${AGENTS} agents, skewed), each with its per-rule rows, its compressed 10-minute transcript (bench/lib/calls.ts, ~150 turns, rubrics/example.yaml's 9 rules), its job and two webhook deliveries; 2,500 results reviewed by 5 reviewers; ${(seeded.bytes / 2 ** 20).toFixed(0)} MiB on disk, written in ${seeded.seedSeconds.toFixed(0)} s through the result store.`,
      `Machine load (1-minute load average, 2 cores) when the measurements began: ${loadAtStart.toFixed(1)}; at the end: ${loadavg()[0]!.toFixed(1)}. Other work on the machine shows directly in these figures.`,
      `Server: the service as \`npm start\` runs it (bench/lib/service-server.ts), ${canPin() ? 'pinned to core 1; this process on core 0' : 'unpinned (no taskset)'}. Requests one at a time over one keep-alive connection, ${REQUESTS} per row after 5 warm-up requests, signed in as an admin (console) or with an API token (API); the time is to the last byte of the answer.`,
      '',
      '| page | p50 | p95 | max |',
      '| --- | ---: | ---: | ---: |',
      ...rows,
      '',
      `Slowest p95: ${worst.name}, ${fmtMs(worst.p95)} (target < ${PAGE_TARGET_MS} ms for every page).`,
      `Whole CSV export: ${fmtInt(lines - 1)} rows, ${(bytes / 2 ** 20).toFixed(0)} MiB in ${csvSeconds.toFixed(1)} s (${fmtInt((lines - 1) / csvSeconds)} rows/s), first byte after ${fmtMs(firstByte)}; the service's peak resident memory over the whole run: ${serverRss.toFixed(0)} MiB.`,
      '',
      'Query plans (EXPLAIN QUERY PLAN, on a page in the middle):',
      '',
      '| list | plan |',
      '| --- | --- |',
      ...planLines,
      '',
      `Backtest: the newest ${fmtInt(RESCORE)} stored transcripts against rubrics/example.yaml with one rule changed (the greeting must be a daypart greeting), on 2 threads (this one and a worker thread, claiming shares of 500 results in turn): **${rescoreSeconds.toFixed(2)} s** (CPU per thread: ${cpuText(rescored.report)}) as \`npm run rescore\` runs it (the stored results were scored by the active rubric, so only the changed rule runs again; ${fmtInt(t.conversations - t.withoutTranscript)} rescored, ${fmtInt(t.changedConversations)} with a changed outcome), **${wholeSeconds.toFixed(2)} s** (CPU per thread: ${cpuText(whole.report)}) with every rule run again (as for results scored by another rubric). \`npm run rescore\` as a whole command (tsx start-up, threads, report): ${cmdSeconds.toFixed(2)} s.`,
      `Keeping a result costs the worker ${(cost.prepareUs / 1000).toFixed(2)} ms of CPU before the transaction (rules JSON, gzip of the transcript) and ${(cost.writeUs / 1000).toFixed(2)} ms to write it (result, rule rows, daily figures, transcript; own transaction here, the job transition's in the service), next to a job's ~40 ms of CXone calls.`,
      '',
      '| target | measured | result |',
      '| --- | --- | --- |',
      `| every console and API page < ${PAGE_TARGET_MS} ms at p95, ${fmtInt(RESULTS)} results | slowest p95 ${fmtMs(worst.p95)} (${worst.name}) | ${passFail(pageOk)} |`,
      `| rescore of ${fmtInt(RESCORE)} stored transcripts < ${RESCORE_TARGET_S} s, one rule changed | ${rescoreSeconds.toFixed(2)} s | ${passFail(rescoreOk)} |`,
      `| rescore of ${fmtInt(RESCORE)} stored transcripts < ${RESCORE_TARGET_S} s, every rule rerun | ${wholeSeconds.toFixed(2)} s | ${passFail(wholeOk)} |`,
      '',
      targetComment([
        {
          id: 'console-pages',
          name: `Console and API pages < ${PAGE_TARGET_MS} ms p95 at ${fmtInt(RESULTS)} results`,
          ok: pageOk,
          measured: `slowest p95 ${fmtMs(worst.p95)}`,
        },
        {
          id: 'rescore',
          name: `Rescore ${fmtInt(RESCORE)} stored transcripts < ${RESCORE_TARGET_S} s (one rule changed)`,
          ok: rescoreOk,
          measured: `${rescoreSeconds.toFixed(2)} s`,
        },
        {
          id: 'rescore',
          name: `Rescore ${fmtInt(RESCORE)} stored transcripts < ${RESCORE_TARGET_S} s (every rule rerun)`,
          ok: wholeOk,
          measured: `${wholeSeconds.toFixed(2)} s`,
        },
      ]),
    ];
    process.stdout.write(`${out.join('\n')}\n`);
  } finally {
    await dispatcher.close();
    await server?.stop().catch(() => undefined);
    await simServer.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`bench/console failed: ${(error as Error)?.stack ?? String(error)}\n`);
  process.exitCode = 1;
});

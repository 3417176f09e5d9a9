/**
 * Ingest benchmark: signed, unique conversation.ended deliveries over 32 keep-alive connections,
 * against (1) a bare Hono app on @hono/node-server that only reads the body and answers 202, and
 * (2) the service (startService, as `npm start` runs it), whose 202 waits for the event's
 * transaction to be fsynced (synchronous=FULL, group commit). Server and load generator are
 * separate processes, pinned to different cores when taskset is available. Afterwards the
 * service's database must hold exactly as many events as 202s were received.
 *
 * Prints a Markdown section to stdout.
 * usage: node --import tsx bench/ingest.ts [--duration S] [--warmup S] [--connections N] [--profile DIR]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { createCxoneSimulator, settingsForSimulator } from '../src/simulator/index.js';
import { type ServerChild, spawnServer } from './lib/child.js';
import { createDeliveryFactory, type DeliveryFactory } from './lib/deliveries.js';
import { count, type LoadResult, otherStatuses, runLoad } from './lib/loadgen.js';
import { canPin, pinSelf, processCpuMs } from './lib/machine.js';
import { arg, targetComment } from './lib/report.js';
import { fmtInt, fmtMs, passFail, summarize } from './lib/stats.js';

const DURATION_S = Number(arg('--duration', '10'));
const WARMUP_S = Number(arg('--warmup', '3'));
const CONNECTIONS = Number(arg('--connections', '32'));
const PROFILE_DIR = arg('--profile', '');

interface Measured {
  name: string;
  warmup: LoadResult;
  run: LoadResult;
  /** Server CPU during the measured window, % of one core. */
  serverCpuPercent: number;
}

async function measure(name: string, server: ServerChild, factory: DeliveryFactory): Promise<Measured> {
  const url = new URL(server.url);
  const load = (durationMs: number) =>
    runLoad({
      host: url.hostname,
      port: Number(url.port),
      connections: CONNECTIONS,
      durationMs,
      nextRequest: factory.next,
    });
  const warmup = await load(WARMUP_S * 1000);
  const pid = server.child.pid ?? 0;
  const cpuBefore = processCpuMs(pid);
  const run = await load(DURATION_S * 1000);
  const serverCpuPercent = ((processCpuMs(pid) - cpuBefore) / run.durationMs) * 100;
  return { name, warmup, run, serverCpuPercent };
}

async function main(): Promise<void> {
  const pinned = pinSelf(0);
  const dir = mkdtempSync(join(tmpdir(), 'qm-bench-ingest-'));
  const sim = createCxoneSimulator();
  const simServer = await sim.listen(0);
  try {
    // 1. bare Hono
    const bare = await spawnServer({
      script: 'bench/lib/bare-server.ts',
      core: 1,
      logFile: join(dir, 'bare.log'),
      ...(PROFILE_DIR ? { profileDir: PROFILE_DIR } : {}),
    });
    // The bare app ignores signatures, but gets the same signed, unique requests as the service.
    const bareResult = await measure('bare Hono', bare, createDeliveryFactory({ host: '127.0.0.1' }));
    await bare.stop();

    // 2. the service. A factory per measurement: its secret must be the service's WEBHOOK_SECRET.
    const dbPath = join(dir, 'qm.sqlite');
    const factory = createDeliveryFactory({ host: '127.0.0.1' });
    const service = await spawnServer({
      script: 'bench/lib/service-server.ts',
      core: 1,
      logFile: join(dir, 'service.log'),
      ...(PROFILE_DIR ? { profileDir: PROFILE_DIR } : {}),
      env: {
        ...settingsForSimulator(sim, simServer.url),
        PORT: '0',
        DATABASE_PATH: dbPath,
        WEBHOOK_SECRET: factory.secret,
        LOG_LEVEL: 'info',
      },
    });
    const serviceResult = await measure('this service', service, factory);
    await service.stop();

    const db = new Database(dbPath, { readonly: true });
    const events = (db.prepare('SELECT count(*) AS n FROM webhook_events').get() as { n: number }).n;
    const jobs = (db.prepare('SELECT count(*) AS n FROM jobs').get() as { n: number }).n;
    const journal = db.pragma('journal_mode', { simple: true });
    db.close();

    const accepted = count(serviceResult.warmup.statuses, 202) + count(serviceResult.run.statuses, 202);
    const durable = events === accepted && jobs === accepted;
    const ratio = serviceResult.run.requestsPerSecond / bareResult.run.requestsPerSecond;
    const ok = ratio >= 0.5 && durable && serviceResult.run.errors === 0;

    const row = (m: Measured, okStatus: number) => {
      const s = summarize(m.run.latenciesMs);
      const other = otherStatuses(m.run.statuses, okStatus);
      return `| ${m.name} | ${fmtInt(m.run.requestsPerSecond)} | ${fmtMs(s.p50, 2)} | ${fmtMs(s.p99, 2)} | ${fmtMs(s.max, 1)} | ${fmtInt(m.run.completed)} | ${m.run.errors} | ${other} | ${Math.round(m.serverCpuPercent)} % | ${Math.round(m.run.generatorCpuPercent)} % |`;
    };
    const lines = [
      '## Ingest',
      '',
      `Signed, unique \`conversation.ended\` deliveries (own webhook-id, event id and conversation id each; valid Standard Webhooks signature; ~${factory.next().length} bytes per request) ` +
        `over ${CONNECTIONS} keep-alive connections, closed loop (one request in flight per connection); ` +
        `${WARMUP_S} s warm-up, then ${DURATION_S} s measured, for each server in turn. ` +
        (pinned && canPin()
          ? 'Load generator (raw-socket HTTP/1.1 client, bench/lib/loadgen.ts) pinned to core 0, server process pinned to core 1 (taskset).'
          : 'Load generator and server are separate processes; not pinned to cores (no taskset or < 2 cores).'),
      `The service runs as \`npm start\` does (bench/lib/service-server.ts → startService): default settings, LOG_LEVEL=info with pino's line per request written to a file, ` +
        `SQLite journal_mode=${journal}, webhook commits fsynced (synchronous=FULL via store.durably() in src/store/db.ts; each 202 waits for its group-committed transaction). ` +
        'The bare app is Hono on @hono/node-server: `await c.req.text()` and a 202 JSON answer, nothing else.',
      '',
      '| server | req/s | p50 | p99 | max | answers in window | socket errors | non-2xx | server CPU | generator CPU |',
      '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
      row(bareResult, 202),
      row(serviceResult, 202),
      '',
      `Ratio service / bare Hono: **${ratio.toFixed(2)}** (target ≥ 0.50).`,
      `Durability check: ${fmtInt(accepted)} deliveries answered 202 (warm-up included); the database holds ${fmtInt(events)} webhook events and ${fmtInt(jobs)} jobs: ${durable ? 'equal' : '**NOT equal**'}.`,
      '',
      '| target | measured | result |',
      '| --- | --- | --- |',
      `| ingest ≥ 0.5 × bare Hono req/s, every 202 durable | ${ratio.toFixed(2)} × (${fmtInt(serviceResult.run.requestsPerSecond)} vs ${fmtInt(bareResult.run.requestsPerSecond)} req/s); events = 202s: ${durable ? 'yes' : 'no'} | ${passFail(ok)} |`,
      '',
      targetComment([
        {
          id: 'ingest',
          name: 'Ingest ≥ 0.5 × bare Hono (durable 202s)',
          ok,
          measured: `${ratio.toFixed(2)}×, ${fmtInt(serviceResult.run.requestsPerSecond)} vs ${fmtInt(bareResult.run.requestsPerSecond)} req/s; DB events ${durable ? '=' : '≠'} 202s`,
        },
      ]),
      '',
    ];
    process.stdout.write(lines.join('\n'));
    if (!ok) process.exitCode = 1;
  } finally {
    await simServer.close();
    if (!PROFILE_DIR) rmSync(dir, { recursive: true, force: true });
    else process.stderr.write(`ingest: logs and database kept in ${dir}\n`);
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`ingest benchmark failed: ${(error as Error)?.stack ?? String(error)}\n`);
  process.exitCode = 2;
});

/**
 * Process tests: spawns the real commands (`qm start` = src/main.ts, `qm sweep`, ... through
 * src/cli/qm.ts) as child processes with a clean environment, against a CXone simulator that runs
 * in the test process. Every child is registered so `killChildren()` (in afterEach) leaves none behind.
 *
 * They run the TypeScript source through tsx, never the repository's dist/: that may be stale (built
 * before the last edit), and a test must exercise the code as it is. The one test of the compiled
 * production start builds its own fresh copy first (`buildProduction`).
 */
import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import Database from 'better-sqlite3';
import { afterEach, beforeEach } from 'vitest';
import {
  type CxoneSimulator,
  type CxoneSimulatorOptions,
  createCxoneSimulator,
  deliverWebhook,
  type RunningSimulator,
  settingsForSimulator,
  webhookEvent,
} from '../../src/simulator/index.js';
import { waitFor } from './wait.js';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** tsx's loader by absolute URL, so a child can run the source from any working directory. */
const TSX_LOADER = pathToFileURL(join(REPO_ROOT, 'node_modules/tsx/dist/loader.mjs')).href;

/** The `qm` bin's source: `qm ARGS` is `node --import tsx src/cli/qm.ts ARGS` here. */
export const QM_SOURCE = join(REPO_ROOT, 'src/cli/qm.ts');

/** A port nobody listens on right now (listen on 0, read it, close). */
export function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const server = createServer();
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => done(port));
    });
  });
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface Child {
  process: ChildProcess;
  pid: number;
  /** Everything written so far. */
  readonly stdout: string;
  readonly stderr: string;
  /** Resolves when the process has exited (never rejects). */
  exited: Promise<Exit>;
  /** Whether it has exited yet. */
  readonly exit: Exit | undefined;
  kill(signal?: NodeJS.Signals): void;
  /** stdout lines parsed as JSON (pino), skipping anything that is not. */
  logLines(): Record<string, unknown>[];
}

const children = new Set<Child>();

function spawnTs(script: string, args: string[], env: Record<string, string>): Child {
  return spawnChild(['--import', TSX_LOADER, script, ...args], env, REPO_ROOT);
}

/** `node NODE_ARGS` in `cwd`, registered for `killChildren()`. */
export function spawnChild(nodeArgs: string[], env: Record<string, string>, cwd: string): Child {
  const proc = spawn(process.execPath, nodeArgs, {
    cwd,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  let exit: Exit | undefined;
  proc.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
  });
  proc.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  const exited = new Promise<Exit>((done) => {
    proc.once('close', (code, signal) => {
      exit = { code, signal };
      done(exit);
    });
    proc.once('error', () => {
      exit ??= { code: null, signal: null };
      done(exit);
    });
  });
  const child: Child = {
    process: proc,
    pid: proc.pid ?? -1,
    get stdout() {
      return stdout;
    },
    get stderr() {
      return stderr;
    },
    exited,
    get exit() {
      return exit;
    },
    kill(signal = 'SIGKILL') {
      if (exit === undefined && proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
    },
    logLines() {
      return stdout
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .flatMap((l) => {
          try {
            return [JSON.parse(l) as Record<string, unknown>];
          } catch {
            return [];
          }
        });
    },
  };
  children.add(child);
  void exited.then(() => children.delete(child));
  return child;
}

/** `npm start` / `node dist/main.js`, from the source. */
export function spawnService(env: Record<string, string>): Child {
  return spawnTs('src/main.ts', [], env);
}

/** `qm sweep [ARGS...]`, from the source. */
export function spawnSweep(env: Record<string, string>, args: string[] = []): Child {
  return spawnTs(QM_SOURCE, ['sweep', ...args], env);
}

/**
 * `qm ARGS...` from the source, run to completion: for commands that finish on their own. `cwd`
 * defaults to the repository; `env` is the whole environment of the child (PATH and HOME added).
 */
export function runQm(
  args: string[],
  options: { env?: Record<string, string>; cwd?: string } = {},
): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['--import', TSX_LOADER, QM_SOURCE, ...args], {
    cwd: options.cwd ?? REPO_ROOT,
    encoding: 'utf8',
    env: minimalEnv(options.env ?? {}),
    maxBuffer: 256 * 1024 * 1024,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** `qm ARGS` from the source as a child process (for commands that run until signalled). */
export function spawnQm(args: string[], env: Record<string, string> = {}): Child {
  return spawnTs(QM_SOURCE, args, minimalEnv(env));
}

/**
 * A fresh production build of the current source, laid out as the Docker image and an `npm ci`
 * checkout have it: `dist/` (compiled by the project's own build config, into a temp folder so a
 * developer's dist/ is neither trusted nor touched) beside package.json, drizzle/, rubrics/ and
 * node_modules/ (links to the repository's). Answers the folder: run `node dist/main.js` there.
 * Built once per test file; removed at exit.
 */
let production: string | undefined;
export function buildProduction(): string {
  if (production) return production;
  const dir = mkdtempSync(join(tmpdir(), 'qm-build-'));
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  // --noCheck: the type check is `npm run typecheck`'s job; this only needs the emitted JavaScript.
  execFileSync(
    process.execPath,
    [
      join(REPO_ROOT, 'node_modules/typescript/bin/tsc'),
      '-p',
      join(REPO_ROOT, 'tsconfig.build.json'),
      '--outDir',
      join(dir, 'dist'),
      '--noCheck',
    ],
    { stdio: 'pipe' },
  );
  for (const entry of ['package.json', 'drizzle', 'rubrics', 'node_modules']) {
    symlinkSync(join(REPO_ROOT, entry), join(dir, entry));
  }
  // The rest of `npm run build` (its node_modules linked first): `qm score` and its worker threads
  // bundled into one file each.
  execFileSync(process.execPath, [join(REPO_ROOT, 'scripts/bundle-score.mjs'), join(dir, 'dist')], {
    stdio: 'pipe',
  });
  production = dir;
  return dir;
}

/** Kills (SIGKILL) every child still running and waits for them. For afterEach. */
export async function killChildren(): Promise<void> {
  const running = [...children];
  for (const child of running) child.kill('SIGKILL');
  await Promise.all(running.map((c) => c.exited));
}

/** Only what a child needs from the parent: no developer settings leak in. */
export function minimalEnv(settings: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const key of ['PATH', 'HOME', 'TMPDIR', 'SYSTEMROOT']) {
    const value = process.env[key];
    if (value !== undefined) env[key] = value;
  }
  return { ...env, ...settings };
}

/** Polls GET url until it answers `status` (any answer when omitted). */
export async function waitForHttp(url: string, status = 200, timeoutMs = 15_000): Promise<void> {
  await waitFor(
    `${url} to answer ${status}`,
    async () => {
      try {
        const response = await fetch(url, { signal: AbortSignal.timeout(1_000) });
        await response.arrayBuffer();
        return response.status === status;
      } catch {
        return false;
      }
    },
    timeoutMs,
    50,
  );
}

/** Waits up to `ms` for the child to exit; kills it (SIGKILL) and answers undefined when it takes longer. */
export async function exitWithin(child: Child, ms: number): Promise<Exit | undefined> {
  const timer = new Promise<undefined>((r) => setTimeout(() => r(undefined), ms));
  const exit = await Promise.race([child.exited, timer]);
  if (!exit) child.kill('SIGKILL');
  return exit;
}

/** stderr without the JSON log lines and blank lines: what an operator reads. */
export function plainLines(stderr: string): string[] {
  return stderr.split('\n').filter((l) => l.trim() !== '' && !l.startsWith('{'));
}

export interface ProcessFixture {
  dir: string;
  dbPath: string;
  secret: string;
  sim: CxoneSimulator;
  simServer: RunningSimulator;
  /** Settings for a service/sweep against this fixture's simulator and database. */
  settings(overrides?: Record<string, string>): Promise<Record<string, string>>;
  /** Starts `npm start` and waits for /readyz 200; answers the child and its base URL. */
  startService(overrides?: Record<string, string>): Promise<{ child: Child; url: string }>;
  /** Opens the database read-only (the WAL is recovered on open). */
  openDb(): Database.Database;
  close(): Promise<void>;
}

/** A temp folder and database, a webhook secret and a simulator listening on 127.0.0.1. */
export async function processFixture(options: CxoneSimulatorOptions = {}): Promise<ProcessFixture> {
  const dir = mkdtempSync(join(tmpdir(), 'qm-proc-'));
  const dbPath = join(dir, 'qm.sqlite');
  const secret = `whsec_${randomBytes(24).toString('base64')}`;
  const sim = createCxoneSimulator(options);
  const simServer = await sim.listen(0);
  const dbs: Database.Database[] = [];

  const fixture: ProcessFixture = {
    dir,
    dbPath,
    secret,
    sim,
    simServer,
    async settings(overrides = {}) {
      return minimalEnv({
        ...settingsForSimulator(sim, simServer.url),
        PORT: String(await freePort()),
        DATABASE_PATH: dbPath,
        WEBHOOK_SECRET: secret,
        TRANSCRIPT_FIRST_CHECK_SECONDS: '0.2',
        TRANSCRIPT_RETRY_SECONDS: '0.2',
        RETRY_BASE_SECONDS: '0.1',
        SWEEP_INTERVAL_SECONDS: '0',
        CXONE_MAX_REQUESTS_PER_MINUTE: '100000',
        SHUTDOWN_GRACE_SECONDS: '5',
        CXONE_TIMEOUT_MS: '5000',
        LOG_LEVEL: 'info',
        ...overrides,
      });
    },
    async startService(overrides = {}) {
      // A port taken between freePort() and the child's listen() is retried with another.
      for (let attempt = 1; ; attempt++) {
        const env = await fixture.settings(overrides);
        const url = `http://127.0.0.1:${env.PORT}`;
        const child = spawnService(env);
        const ready = waitForHttp(`${url}/readyz`, 200, 20_000).then(() => 'ready' as const);
        const outcome = await Promise.race([ready, child.exited.then(() => 'exited' as const)]);
        if (outcome === 'ready') return { child, url };
        if (attempt < 3 && /EADDRINUSE/.test(child.stderr)) continue;
        throw new Error(`service exited before ready: ${child.stderr}\n${child.stdout}`);
      }
    },
    openDb() {
      const db = new Database(dbPath, { readonly: true, fileMustExist: true });
      db.pragma('busy_timeout = 5000');
      dbs.push(db);
      return db;
    },
    async close() {
      for (const db of dbs) if (db.open) db.close();
      await simServer.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return fixture;
}

/**
 * One fresh fixture per test: set up before each, and after each every spawned child is killed and
 * the fixture closed. The returned object always stands for the running test's fixture.
 */
export function useProcessFixture(options: CxoneSimulatorOptions = {}): ProcessFixture {
  let current: ProcessFixture | undefined;
  beforeEach(async () => {
    current = await processFixture(options);
  });
  afterEach(async () => {
    await killChildren();
    await current?.close();
    current = undefined;
  });
  return new Proxy({} as ProcessFixture, {
    get(_target, key) {
      if (!current) throw new Error('the process fixture is only there inside a test');
      const value = Reflect.get(current, key);
      return typeof value === 'function' ? value.bind(current) : value;
    },
  });
}

/** Job states by conversation id. */
export function jobStates(db: Database.Database): Map<string, { state: string; leaseOwner: string | null }> {
  const rows = db
    .prepare('SELECT conversation_id AS id, state, lease_owner AS leaseOwner FROM jobs')
    .all() as {
    id: string;
    state: string;
    leaseOwner: string | null;
  }[];
  return new Map(rows.map((r) => [r.id, { state: r.state, leaseOwner: r.leaseOwner }]));
}

/** A phrase only transcripts contain: a log line holding it would be leaking transcript text. */
export const TRANSCRIPT_MARKER = 'Zanzibar-7781 is my account nickname';

export function transcriptFor(id: string) {
  return [
    {
      speaker: 'AGENT',
      text: 'Hello, thank you for calling. This call may be recorded.',
      timestamp: '00:00:01',
    },
    { speaker: 'CUSTOMER', text: `Hi, ${TRANSCRIPT_MARKER}, about ${id}.`, timestamp: '00:00:04' },
    { speaker: 'AGENT', text: 'Let me verify your date of birth first.', timestamp: '00:00:09' },
    { speaker: 'AGENT', text: 'Is there anything else I can help with?', timestamp: '00:02:00' },
  ];
}

/**
 * Adds `count` completed conversations (with an agent and a transcript) to the simulator, ended in
 * the last minutes; answers their ids. `readyAt` makes transcripts 404 until then.
 */
export function addConversations(
  sim: CxoneSimulator,
  count: number,
  prefix: string,
  options: { readyAt?: (index: number) => number | undefined; endedMsAgo?: number } = {},
): string[] {
  const now = Date.now();
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    const id = `${prefix}-${String(i).padStart(3, '0')}`;
    const readyAt = options.readyAt?.(i);
    sim.addConversation({
      id,
      agentId: `agent-${(i % 5) + 1}`,
      type: 'voice',
      startTime: now - (options.endedMsAgo ?? 60_000) - 5 * 60_000 - i * 1_000,
      endTime: now - (options.endedMsAgo ?? 60_000) - i * 1_000,
      transcript: transcriptFor(id),
      ...(readyAt !== undefined ? { transcriptReadyAt: readyAt } : {}),
    });
    ids.push(id);
  }
  return ids;
}

/** CXone's two webhooks for a finished conversation: conversation.ended, then transcript.ready. */
export async function announce(
  url: string,
  secret: string,
  sim: CxoneSimulator,
  id: string,
): Promise<{ status: number; webhookId: string }[]> {
  const conversation = sim.conversations.find((c) => c.id === id);
  if (!conversation) throw new Error(`no conversation ${id}`);
  const iso = (v: string | number) => (typeof v === 'number' ? new Date(v).toISOString() : v);
  const ended = webhookEvent('conversation.ended', {
    conversation_id: id,
    agent_id: conversation.agentId ?? null,
    media_type: conversation.type ?? 'voice',
    start_time: iso(conversation.startTime),
    end_time: iso(conversation.endTime),
  });
  const first = await deliverWebhook({ url, secret, body: JSON.stringify(ended) });
  const ready = webhookEvent('transcript.ready', { conversation_id: id });
  const second = await deliverWebhook({ url, secret, body: JSON.stringify(ready) });
  return [first, second];
}

/** Runs `tasks` with at most `limit` at a time. */
export async function inParallel<T>(
  items: T[],
  limit: number,
  task: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const lanes = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const item = items[next++]!;
      await task(item);
    }
  });
  await Promise.all(lanes);
}

import { Hono } from 'hono';
import pino from 'pino';
import { createPasswordHasher } from '../../src/auth/password.js';
import { runBacktest } from '../../src/backtest/run.js';
import { ManualClock } from '../../src/clock.js';
import { resultInput } from '../../src/pipeline/result.js';
import { loadRubricFile } from '../../src/rubric-file.js';
import { evaluationComment, formatScore, scoreTranscript } from '../../src/scoring/index.js';
import { generateSampleConversations } from '../../src/simulator/index.js';
import { AccountStore } from '../../src/store/accounts.js';
import { SERVICE_BUSY_TIMEOUT_MS, type Store, setBusyTimeout } from '../../src/store/db.js';
import { JobStore } from '../../src/store/jobs.js';
import { ResultStore } from '../../src/store/results.js';
import type { Role } from '../../src/store/schema.js';
import { createPeopleApps } from '../../src/web/people-apps.js';
import { tempStore } from './db.js';

/** scrypt at N = 2^10: the real code path, a thousandth of the cost, for tests that sign in a lot. */
export const testHasher = createPasswordHasher({ N: 1024, r: 8, p: 1 });
export const PASSWORD = 'correct horse battery';
export const EXAMPLE_RUBRIC = 'rubrics/example.yaml';
/** A rubric that fits the simulator's sample conversations: realistic figures for screenshots. */
export const SERVICE_DESK_RUBRIC = 'test/fixtures/service-desk.yaml';
export const FORM = 'form-collections-2024';
const ORIGIN = 'http://localhost';

export function loadRubric(path: string | null = EXAMPLE_RUBRIC) {
  const loaded = loadRubricFile(path);
  if (!loaded.ok) throw new Error(loaded.problems.join('; '));
  return loaded;
}

/**
 * Records `count` sample conversations scored by `rubricPath`'s rubric as results, the newest
 * ending at `endAt`, as the worker would record them (delivered to `destination`). Returns them.
 */
export function seedResults(
  store: Store,
  options: {
    count: number;
    endAt: number;
    spacingMs?: number;
    rubricPath?: string | null;
    destination?: string;
    seed?: number;
    timeZone?: string;
  },
) {
  const { rubric } = loadRubric(options.rubricPath === undefined ? EXAMPLE_RUBRIC : options.rubricPath);
  const results = new ResultStore(store, options.timeZone ?? 'UTC');
  const conversations = generateSampleConversations(options.count, options.seed ?? 7, {
    endAt: options.endAt,
    spacingMs: options.spacingMs ?? 10 * 60_000,
    withoutAgentRate: 0,
    emptyTranscriptRate: 0,
  });
  const destination = options.destination ?? FORM;
  for (const conv of conversations) {
    const result = scoreTranscript(rubric, conv.transcript);
    const evaluatedAt = Date.parse(conv.endTime) + 60_000;
    results.record(
      resultInput({
        job: {
          conversationId: conv.id,
          formId: destination,
          agentId: conv.agentId!,
          mediaType: conv.type,
          startTime: conv.startTime,
          endTime: conv.endTime,
        },
        rubric,
        result,
        overallScore: Number(formatScore(result.overallScore)),
        comment: evaluationComment(rubric, result),
        transcript: conv.transcript,
        delivery: { state: 'delivered', target: 'cxone-qm', id: `eval-${conv.id}`, at: evaluatedAt },
        now: evaluatedAt,
      }),
    );
  }
  return { conversations, rubric, results };
}

/** A cookie jar of one: the session cookie a sign-in set. */
export function cookieOf(response: Response): string | undefined {
  const header = response.headers.get('set-cookie');
  const m = header ? /qm_session=([^;]+)/.exec(header) : null;
  return m ? `qm_session=${m[1]}` : undefined;
}

/** The CSRF token a page's forms carry. */
export function csrfOf(html: string): string {
  const m = /name="_csrf" value="([^"]+)"/.exec(html);
  if (!m) throw new Error('no CSRF token on the page');
  return m[1]!;
}

/**
 * A console and results API on a fresh database with sample results, three users (admin, reviewer,
 * viewer; password PASSWORD), a manual clock and in-thread backtests. Requests go through
 * `app.request()`.
 */
export async function consoleFixture(
  options: {
    count?: number;
    now?: number;
    timeZone?: string;
    rubricPath?: string;
    spacingMs?: number;
    /** RETENTION_DAYS in ms, as the service passes it (absent: transcripts kept for ever). */
    transcriptRetentionMs?: number;
  } = {},
) {
  const db = tempStore();
  const now = options.now ?? Date.UTC(2024, 4, 10, 18, 0, 0);
  const clock = new ManualClock(now);
  const seeded = seedResults(db.store, {
    count: options.count ?? 60,
    endAt: now - 3_600_000,
    timeZone: options.timeZone ?? 'UTC',
    ...(options.rubricPath ? { rubricPath: options.rubricPath } : {}),
    ...(options.spacingMs ? { spacingMs: options.spacingMs } : {}),
  });
  const accounts = new AccountStore(db.store);
  const users: Record<string, number> = {};
  for (const role of ['admin', 'reviewer', 'viewer'] as Role[]) {
    const user = accounts.addUser(role, role, await testHasher.hash(PASSWORD), now);
    if (user === 'exists') throw new Error('duplicate user');
    users[role] = user.id;
  }
  // As the service runs it: a lock another process holds is waited for with timers, not on the loop.
  setBusyTimeout(db.store.sqlite, SERVICE_BUSY_TIMEOUT_MS);
  const jobs = new JobStore(db.store, FORM);
  const lines: Record<string, unknown>[] = [];
  const log = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line)) });
  const people = createPeopleApps({
    store: db.store,
    databasePath: db.path,
    rubric: seeded.rubric,
    requeue: { destination: FORM, run: (ids, at) => jobs.requeue(ids, at) },
    clock,
    log,
    settings: { timeZone: options.timeZone ?? 'UTC', trustProxy: false, sessionTtlMs: 12 * 3_600_000 },
    hasher: testHasher,
    backtest: (request) =>
      runBacktest({ ...request, threads: 0, databasePath: db.path, store: db.store }, clock.now.bind(clock)),
    ...(options.transcriptRetentionMs !== undefined
      ? { transcriptRetentionMs: options.transcriptRetentionMs }
      : {}),
  });
  const app = new Hono();
  app.route('/console', people.console);
  app.route('/api/v1', people.api);

  const request = (path: string, init: RequestInit & { cookie?: string } = {}) => {
    const headers = new Headers(init.headers);
    if (init.cookie) headers.set('cookie', init.cookie);
    return app.request(`${ORIGIN}${path}`, { ...init, headers });
  };
  const get = (path: string, cookie?: string) => request(path, cookie ? { cookie } : {});
  const post = (
    path: string,
    form: Record<string, string> | FormData,
    cookie?: string,
    headers: Record<string, string> = { origin: ORIGIN },
  ) =>
    request(path, {
      method: 'POST',
      body: form instanceof FormData ? form : new URLSearchParams(form),
      headers,
      ...(cookie ? { cookie } : {}),
    });
  const signIn = async (name: string, password = PASSWORD) => {
    const res = await post('/console/login', { username: name, password });
    const cookie = cookieOf(res);
    if (!cookie) throw new Error(`sign-in as ${name} failed: ${res.status}`);
    return cookie;
  };
  return { ...db, clock, app, get, post, request, signIn, users, accounts, jobs, seeded, lines, now };
}

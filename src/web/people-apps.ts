/**
 * The parts of the service people use, as Hono sub-apps: the QA console (mount at /console) and the
 * results API (mount at /api/v1). They share accounts, sessions and the result stores, and assume
 * nothing about the app that mounts them, so they can be served next to the webhooks or on a
 * listener of their own.
 */
import type { Logger } from 'pino';
import { createResultsApi } from '../api/results-api.js';
import { createPasswordHasher, type PasswordHasher } from '../auth/password.js';
import { createAuth } from '../auth/sign-in.js';
import { type BacktestRunner, runBacktest } from '../backtest/run.js';
import type { Clock } from '../clock.js';
import type { Config } from '../config.js';
import { createConsoleApp } from '../console/app.js';
import type { Rubric } from '../scoring/index.js';
import { AccountStore } from '../store/accounts.js';
import type { Store } from '../store/db.js';
import { QueueView } from '../store/queue-view.js';
import { ResultStats } from '../store/result-stats.js';
import { ResultStore } from '../store/results.js';
import { ReviewStore } from '../store/reviews.js';

/** An admin's backtest in the running service gives up after this long (the page says so). */
const BACKTEST_TIMEOUT_MS = 5 * 60_000;

export interface PeopleAppsOptions {
  store: Store;
  /** The service's result store (its daily figures already in TIME_ZONE); made here when absent. */
  results?: ResultStore;
  databasePath: string;
  rubric: Rubric;
  /** The rubric's file text: a backtest reruns only the rules an upload changes from it. */
  rubricText?: string;
  /** The service's own queue, for the console's requeue button. */
  requeue?: { destination: string; run(ids: string[] | 'all-failed', now: number): number };
  clock: Clock;
  log: Logger;
  settings: Config['console'];
  /** Tests pass a cheaper hasher; the default is scrypt at N = 2^15. */
  hasher?: PasswordHasher;
  /** Tests pass their own; the default runs in one worker thread against `databasePath`. */
  backtest?: BacktestRunner;
  /** RETENTION_DAYS in ms (0 or absent: transcripts are kept for ever). */
  transcriptRetentionMs?: number;
}

export function createPeopleApps(options: PeopleAppsOptions) {
  const { store, clock, log, settings } = options;
  const results = options.results ?? new ResultStore(store, settings.timeZone);
  const started = clock.now();
  if (results.ensureRollupZone(settings.timeZone)) {
    log.info(
      { timeZone: settings.timeZone, durationMs: clock.now() - started },
      'daily figures rebuilt for TIME_ZONE',
    );
  }
  const stats = new ResultStats(store);
  const reviews = new ReviewStore(store);
  const auth = createAuth({
    accounts: new AccountStore(store),
    hasher: options.hasher ?? createPasswordHasher(),
    clock,
    sessionTtlMs: settings.sessionTtlMs,
  });
  // One thread: a backtest in the running service must leave the other core to the worker and
  // the webhooks. `npm run rescore` uses every core.
  const backtest: BacktestRunner =
    options.backtest ??
    ((request) =>
      runBacktest(
        {
          ...request,
          ...(options.rubricText !== undefined ? { baselineText: options.rubricText } : {}),
          threads: 1,
          databasePath: options.databasePath,
          timeoutMs: BACKTEST_TIMEOUT_MS,
        },
        clock.now,
      ));
  return {
    console: createConsoleApp({
      auth,
      results,
      stats,
      reviews,
      queue: new QueueView(store),
      ...(options.requeue ? { requeue: options.requeue } : {}),
      rubric: options.rubric,
      backtest,
      clock,
      log: log.child({ unit: 'console' }),
      timeZone: settings.timeZone,
      trustProxy: settings.trustProxy,
      transcriptRetentionMs: options.transcriptRetentionMs ?? 0,
    }),
    api: createResultsApi({
      auth,
      results,
      stats,
      reviews,
      clock,
      log: log.child({ unit: 'api' }),
      timeZone: settings.timeZone,
    }),
  };
}

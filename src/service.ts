/**
 * The wiring: builds the store, the CXone client, the worker, the sweep and the HTTP server from the
 * settings, for `npm start` (src/main.ts) and `npm run sweep` (src/cli/sweep.ts). Start-up problems
 * are StartupErrors (src/cli/exit.ts); what each part does lives in its own folder.
 */
import type { Logger } from 'pino';
import { DEFAULT_SIGN_IN_POLICY } from './auth/sign-in.js';
import { EXIT, StartupError } from './cli/exit.js';
import type { Clock } from './clock.js';
import type { Config, CxoneApi } from './config.js';
import type { RateLimitPause } from './cxone/api-caller.js';
import { createPlatformClient } from './cxone/platform/client.js';
import { createTutorialClient } from './cxone/tutorial-client.js';
import type { CxoneClient, CxoneError, CxoneResult, QmForm, RequestBudget } from './cxone/types.js';
import { createAdminApp, createApp, type HealthOptions, type WebhookOutcome } from './http/app.js';
import { InflightBytes } from './http/inflight.js';
import { addMetricsRoute } from './http/metrics-route.js';
import { ListenError, type RunningListeners, startListeners } from './http/server.js';
import { parseWebhookSecrets } from './http/signature.js';
import { parseStudioTokens } from './http/studio.js';
import { createMetrics, type Metrics } from './ops/metrics.js';
import { createRetention } from './ops/retention.js';
import { createSignatureWatch } from './ops/signature-watch.js';
import { backoffDelay } from './pipeline/backoff.js';
import {
  businessDataDestination,
  type Destination,
  qmDestination,
  rubricKey,
} from './pipeline/destinations.js';
import { type FormMapping, mapRubricToForm } from './pipeline/evaluation.js';
import { type ConversationLister, platformLister, tutorialLister } from './pipeline/listers.js';
import { platformSource, type TranscriptSource, tutorialSource } from './pipeline/sources.js';
import { runSweep, type SweepResult } from './pipeline/sweep.js';
import { createWorker, type JobDoneDetails, type JobOutcome, type Worker } from './pipeline/worker.js';
import { loadRubricFile } from './rubric-file.js';
import type { Rubric, Scorer } from './scoring/index.js';
import { createScoringPool } from './scoring-pool/index.js';
import {
  createWriteProbe,
  migrate,
  openStore,
  SERVICE_BUSY_TIMEOUT_MS,
  type Store,
  setBusyTimeout,
} from './store/db.js';
import { createEventRecorder } from './store/event-recorder.js';
import { JobStore } from './store/jobs.js';
import { createQueueDepthReader } from './store/queue-depth.js';
import { readPauses } from './store/reports.js';
import { ResultStore } from './store/results.js';
import { createRetentionBatches, type RetentionWindow } from './store/retention.js';
import { createSharedBudget } from './store/shared-budget.js';
import { createSignatureFailureWriter } from './store/signature-failures.js';
import { SweepStore } from './store/sweeps.js';
import { createPeopleApps } from './web/people-apps.js';

export interface ServiceDeps {
  clock: Clock;
  log: Logger;
  /** Unique per process: the lease owner. */
  owner: string;
  fetch?: typeof fetch;
  /** Where the service counts what it does (GET /metrics); startService makes one when not given. */
  metrics?: Metrics;
}

/**
 * What differs between the CXone API profiles (CXONE_API): the job key, where completed
 * conversations are listed, where transcripts come from, and where results go.
 */
export interface Profile {
  api: CxoneApi;
  /**
   * The job key besides the conversation: the QM form (tutorial), or the rubric (platform, which has
   * no form): exactly one result and one delivery per conversation and key.
   */
  key: string;
  lister: ConversationLister;
  source: TranscriptSource;
  /**
   * Reads what delivery needs and answers the destination: the QM form and its mapping (tutorial);
   * discovery, a token and the API host (platform). Unreachable CXone is retried until `signal`
   * aborts; refused credentials or settings are StartupErrors.
   */
  prepare(signal?: AbortSignal): Promise<Destination>;
  /** Until when a 429 paused the profile's calls, if one did (for messages); null otherwise. */
  pausedUntil(): number | null;
  close(): Promise<void>;
}

/** What both `npm start` and `npm run sweep` build before they differ: store, rubric, CXone. */
export interface Core {
  store: Store;
  jobs: JobStore;
  sweeps: SweepStore;
  profile: Profile;
  scorer: Scorer;
  /** The rubric as loaded (the console describes it in words). */
  rubric: Rubric;
  /** The rubric file's text as loaded (backtests rerun only the rules an upload changes). */
  rubricText: string;
  /** Where scored conversations are kept (the console's and the results API's data). */
  results: ResultStore;
  /** The job key (see Profile.key). */
  formId: string;
  close(): Promise<void>;
}

/** Validates the rubric and the form id, opens and migrates the database, builds the CXone client. */
export function openCore(config: Config, deps: ServiceDeps, problemsSoFar: string[] = []): Core {
  // Every problem in one start: the caller's (e.g. WEBHOOK_SECRET), the rubric's, the form id's.
  const problems = [...problemsSoFar];
  const loaded = loadRubricFile(config.rubricPath);
  if (!loaded.ok) problems.push(...loaded.problems);
  // The platform profile makes no QM call: no form, the rubric is the key.
  const formId =
    config.api === 'platform'
      ? loaded.ok
        ? rubricKey(loaded.rubric)
        : undefined
      : ((loaded.ok ? loaded.rubric.formId : undefined) ?? config.qm.formId);
  if (!formId && config.api === 'tutorial')
    problems.push('QM_FORM_ID: required (the rubric names no form_id)');
  if (!loaded.ok || !formId || problems.length > 0) throw new StartupError(problems, EXIT.config);

  let store: Store | undefined;
  let budget: ReturnType<typeof createSharedBudget>;
  let results: ResultStore;
  try {
    store = openStore(config.databasePath);
    // Migrations may wait for another process starting at the same moment (nothing is served yet);
    // from then on a lock is waited for asynchronously, never on the event loop.
    migrate(store);
    results = new ResultStore(store, config.console.timeZone);
    // Daily figures count days in TIME_ZONE: rebuilt once when the setting changed (still before
    // anything is served, so it may wait for a lock like the migrations).
    const started = deps.clock.now();
    if (results.ensureRollupZone(config.console.timeZone)) {
      deps.log.info(
        { timeZone: config.console.timeZone, durationMs: deps.clock.now() - started },
        'daily figures rebuilt for TIME_ZONE',
      );
    }
    setBusyTimeout(store.sqlite, SERVICE_BUSY_TIMEOUT_MS);
    budget = createSharedBudget({
      path: config.databasePath,
      maxPerMinute: config.cxone.maxRequestsPerMinute,
      clock: deps.clock,
      busyTimeoutMs: SERVICE_BUSY_TIMEOUT_MS,
      maxPauseMs: config.cxone.maxRetryAfterMs,
    });
  } catch (error) {
    store?.close();
    throw new StartupError(
      [`DATABASE_PATH: cannot open '${config.databasePath}' (${(error as Error).message})`],
      EXIT.config,
    );
  }
  // Scoring runs on worker threads: a long transcript must not hold HTTP or lease renewal.
  const scorer = createScoringPool({ rubric: loaded.rubric, text: loaded.text, path: loaded.path });
  const profile =
    config.api === 'platform'
      ? platformProfile(config, deps, budget, scorer, formId)
      : tutorialProfile(config, deps, budget, scorer, formId);
  return {
    store,
    jobs: new JobStore(store, formId),
    sweeps: new SweepStore(store.db),
    profile,
    scorer,
    rubric: loaded.rubric,
    rubricText: loaded.text,
    results,
    formId,
    async close() {
      await profile.close();
      await scorer.close();
      budget.close();
      store.close();
    },
  };
}

/** Every 429 pause, in both profiles: "paused by CXone until ..." (capped or not, and by what). */
function logRateLimited(log: Logger): (pause: RateLimitPause) => void {
  return ({ call, scope, untilMs, askedMs, honouredMs }) =>
    log.warn(
      { call, scope, askedSeconds: askedMs / 1000, honouredSeconds: honouredMs / 1000 },
      `paused by CXone until ${new Date(untilMs).toISOString()} (429${askedMs > honouredMs ? `; asked for ${Math.round(askedMs / 1000)} s, capped by CXONE_MAX_RETRY_AFTER_SECONDS` : ''})`,
    );
}

function tutorialProfile(
  config: Config,
  deps: ServiceDeps,
  budget: RequestBudget,
  scorer: Scorer,
  formId: string,
): Profile {
  const cxone = createTutorialClient({
    ...config.cxone,
    budget,
    clock: deps.clock,
    ...(deps.fetch ? { fetch: deps.fetch } : {}),
    onRateLimited: logRateLimited(deps.log),
    ...(deps.metrics ? { onAttempt: deps.metrics.cxoneAttempt } : {}),
  });
  return {
    api: 'tutorial',
    key: formId,
    lister: tutorialLister(cxone),
    source: tutorialSource(cxone),
    async prepare(signal) {
      const mapping = await readFormMapping(cxone, formId, scorer, config, deps, signal);
      return qmDestination(cxone, mapping, scorer.rubric);
    },
    pausedUntil: () => cxone.pausedUntil?.() ?? null,
    close: () => cxone.close(),
  };
}

function platformProfile(
  config: Config,
  deps: ServiceDeps,
  budget: RequestBudget,
  scorer: Scorer,
  key: string,
): Profile {
  const settings = config.platform!;
  const client = createPlatformClient({
    issuer: settings.issuer,
    accessKeyId: settings.accessKeyId,
    accessKeySecret: settings.accessKeySecret,
    clientId: settings.clientId,
    clientSecret: settings.clientSecret,
    ...(settings.apiEndpoint ? { apiEndpoint: settings.apiEndpoint } : {}),
    timeoutMs: config.cxone.timeoutMs,
    maxRetryAfterMs: config.cxone.maxRetryAfterMs,
    onRateLimited: logRateLimited(deps.log),
    maxAnswerBytes: config.cxone.maxAnswerBytes,
    transientRetries: config.cxone.transientRetries,
    budget,
    clock: deps.clock,
    ...(deps.fetch ? { fetch: deps.fetch } : {}),
    ...(deps.metrics ? { onAttempt: deps.metrics.cxoneAttempt } : {}),
  });
  return {
    api: 'platform',
    key,
    lister: platformLister(client, config.cxone.pageSize),
    source: platformSource(client),
    async prepare(signal) {
      await untilConnected(
        () => client.connect(),
        (error) => connectErrorToStartup(error),
        {
          retrying: 'cannot reach CXone yet (discovery, token, API host); retrying',
          noAnswer: () => {
            // Discovery, token and API host are the authentication family: paused, nothing went out.
            const paused = client.pausedUntil('auth');
            return paused
              ? `CXone: paused by CXone until ${new Date(paused).toISOString()} (429): discovery, token or API host not reached in time`
              : 'CXone: no answer from discovery, token or API host in time';
          },
          unreachable: (message) => `CXone: cannot connect: ${message}`,
        },
        deps,
        signal,
      );
      return businessDataDestination(client, settings.businessDataFields, scorer.rubric);
    },
    // Pauses are per API family in this profile; the messages name the call that was refused.
    pausedUntil: () => null,
    close: () => client.close(),
  };
}

/**
 * Repeats `attempt` while CXone cannot be reached (retryable errors), with growing waits, until it
 * answers, `toStartup` says the error is final, or `signal` aborts (then: unreachable).
 */
async function untilConnected<T>(
  attempt: () => Promise<CxoneResult<T>>,
  toStartup: (error: CxoneError) => StartupError | null,
  say: { retrying: string; noAnswer: () => string; unreachable: (message: string) => string },
  deps: ServiceDeps,
  signal?: AbortSignal,
): Promise<T> {
  for (let n = 1; ; n++) {
    // The signal bounds the whole wait, a call in flight included: against a CXone that accepts
    // connections but never answers, waiting out CXONE_TIMEOUT_MS would overrun it. The abandoned
    // call is aborted when the caller closes the client.
    const answer = await untilAborted(attempt(), signal);
    if (answer === 'aborted') throw new StartupError([say.noAnswer()], EXIT.unreachable);
    if (answer.ok) return answer.value;
    const fatal = toStartup(answer.error);
    if (fatal) throw fatal;
    if (signal?.aborted) throw new StartupError([say.unreachable(answer.error.message)], EXIT.unreachable);
    const delay = backoffDelay(n, 1_000, 30_000);
    deps.log.warn({ attempt: n, retryInMs: delay, error: answer.error.message }, say.retrying);
    await deps.clock.sleep(delay, signal).catch(() => undefined);
  }
}

/** The platform profile's start-up check failing: which setting to look at. */
function connectErrorToStartup(error: CxoneError): StartupError | null {
  switch (error.kind) {
    case 'unauthorized':
    case 'forbidden':
      // The message names the setting (CXONE_ACCESS_KEY_ID, CXONE_CLIENT_ID, ...).
      return new StartupError([`CXone refused the credentials: ${error.message}`], EXIT.credentials);
    case 'rejected':
    case 'not_found':
    case 'bad_response':
      return new StartupError([`CXone: ${error.message}`], EXIT.config);
    default:
      return null;
  }
}

/**
 * Reads the QM form and maps every rule to its item. Unreachable CXone is retried until `signal`
 * aborts; refused credentials, a missing form or rules that fit no item are StartupErrors.
 */
export async function readFormMapping(
  cxone: CxoneClient,
  formId: string,
  scorer: Scorer,
  config: Config,
  deps: ServiceDeps,
  signal?: AbortSignal,
): Promise<FormMapping> {
  const form: QmForm = await untilConnected(
    () => cxone.getForm(formId),
    (error) => formErrorToStartup(error, formId),
    {
      retrying: 'cannot read the QM form yet; retrying',
      noAnswer: () => {
        // A call that never went out because CXone asked us to wait is not CXone failing to answer.
        const paused = cxone.pausedUntil?.();
        return paused
          ? `CXone: paused by CXone until ${new Date(paused).toISOString()} (429 Retry-After): form '${formId}' not read in time`
          : `CXone: no answer reading form '${formId}' in time`;
      },
      unreachable: (message) => `CXone: cannot read form '${formId}': ${message}`,
    },
    deps,
    signal,
  );
  const single =
    config.qm.itemId && config.qm.sectionId
      ? { sectionId: config.qm.sectionId, itemId: config.qm.itemId }
      : undefined;
  const mapped = mapRubricToForm(scorer.rubric, form, single);
  if (!mapped.ok) throw new StartupError(mapped.problems, EXIT.config);
  return mapped.mapping;
}

function untilAborted<T>(promise: Promise<T>, signal?: AbortSignal): Promise<T | 'aborted'> {
  if (!signal) return promise;
  if (signal.aborted) return Promise.resolve('aborted');
  return new Promise((resolve, reject) => {
    const onAbort = () => resolve('aborted');
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}

function formErrorToStartup(error: CxoneError, formId: string): StartupError | null {
  switch (error.kind) {
    case 'unauthorized':
    case 'forbidden':
      return new StartupError(
        [`CXONE_CLIENT_ID: CXone refused the credentials (${error.message})`],
        EXIT.credentials,
      );
    case 'not_found':
    case 'not_ready':
      return new StartupError([`QM_FORM_ID: CXone has no form '${formId}'`], EXIT.config);
    case 'rejected':
    case 'bad_response':
    case 'too_large':
      return new StartupError([`QM_FORM_ID: cannot read form '${formId}': ${error.message}`], EXIT.config);
    default:
      return null;
  }
}

/** The worker as both commands run it, from the settings. */
export function workerFor(
  core: Core,
  config: Config,
  deps: ServiceDeps,
  destination: Destination,
  log: Logger,
): Worker {
  return createWorker({
    jobs: core.jobs,
    source: core.profile.source,
    scorer: core.scorer,
    destination,
    clock: deps.clock,
    log,
    owner: deps.owner,
    concurrency: config.worker.concurrency,
    maxAttempts: config.worker.maxAttempts,
    transcriptMaxWaitMs: config.worker.transcriptMaxWaitMs,
    transcriptRetryBaseMs: config.worker.transcriptRetryMs,
    retryBaseMs: config.worker.retryBaseMs,
    leaseMs: config.worker.leaseMs,
    results: core.results,
  });
}

/** One reconciliation pass as both commands run it, from the settings. */
export function sweepWith(
  core: Core,
  config: Config,
  deps: ServiceDeps,
  log: Logger,
  signal?: AbortSignal,
): Promise<SweepResult> {
  return runSweep({
    ...(signal ? { signal } : {}),
    lister: core.profile.lister,
    jobs: core.jobs,
    sweeps: core.sweeps,
    clock: deps.clock,
    log,
    owner: deps.owner,
    lookbackMs: config.sweep.lookbackMs,
    safetyMarginMs: config.sweep.safetyMarginMs,
    maxPages: config.sweep.maxPages,
  });
}

export interface RunningService {
  /** The public listener: webhooks and the probes (and everything else without ADMIN_PORT). */
  url: string;
  /** The admin listener (the console, the results API, /metrics); `url` without ADMIN_PORT. */
  adminUrl: string;
  /** Resolves when the form is read and the worker runs; rejects with a StartupError. */
  ready: Promise<void>;
  stop(): Promise<void>;
}

/** `npm start`: HTTP ingest, worker and periodic sweep on one database. */
export async function startService(config: Config, deps: ServiceDeps): Promise<RunningService> {
  const { clock, log } = deps;
  // The platform profile takes no Standard Webhooks (CXone sends none) unless a secret is set anyway.
  const keys =
    config.webhookSecret === undefined && config.api === 'platform'
      ? { ok: true as const, keys: [] as Buffer[] }
      : parseWebhookSecrets(config.webhookSecret ?? '');
  const studio =
    config.studioWebhookToken === undefined ? undefined : parseStudioTokens(config.studioWebhookToken);
  // One registry per service: a second service in the same process (tests) counts on its own.
  const metrics = deps.metrics ?? createMetrics({ clock });
  // openCore throws with these problems among the others, so past it the keys and tokens are good.
  const core = openCore(config, { ...deps, metrics }, [
    ...(keys.ok ? [] : [`WEBHOOK_SECRET: ${keys.message}`]),
    ...(studio && !studio.ok ? [`STUDIO_WEBHOOK_TOKEN: ${studio.message}`] : []),
  ]);
  const ops = startOperations(core, config, { ...deps, metrics });

  let worker: Worker | undefined;
  let ready = false;
  let accepting = true;
  let stopping = false;
  const stopSignal = new AbortController();

  const recorder = createEventRecorder({
    store: core.store,
    jobs: core.jobs,
    clock,
    firstTranscriptCheckMs: config.worker.firstTranscriptCheckMs,
    onRunnable: () => worker?.notify(),
  });
  const health: HealthOptions = {
    clock,
    log,
    isReady: () => ready,
    isAccepting: () => accepting,
    // Ready only while a commit goes through: a webhook routed here must be storable.
    storeWritable: createWriteProbe(core.store, {
      clock,
      onProblem: (err) => log.warn({ err }, 'the database cannot be written'),
    }),
  };
  // The public app: only what must face the internet (`/webhooks/*`, the probes).
  const publicApp = createApp({
    ...health,
    sink: recorder,
    webhookKeys: keys.ok ? keys.keys : [],
    inflight: new InflightBytes(config.http.maxBytesInFlight),
    ...(studio?.ok ? { studioTokens: studio.tokens } : {}),
    onWebhook: ops.onWebhook,
  });
  // The admin app: everything else. Mount the console, the results API and /metrics on it
  // (`adminApp.route('/console', consoleApp)`); with ADMIN_PORT it listens on ADMIN_HOST:ADMIN_PORT
  // only, without it shares PORT with the public app.
  const adminApp = createAdminApp(health);
  // The console and the results API (docs/contract.md §8).
  const people = createPeopleApps({
    store: core.store,
    results: core.results,
    databasePath: config.databasePath,
    rubric: core.rubric,
    rubricText: core.rubricText,
    requeue: { destination: core.formId, run: (ids, now) => core.jobs.requeue(ids, now) },
    clock,
    log,
    settings: config.console,
    transcriptRetentionMs: config.retentionMs,
  });
  adminApp.route('/console', people.console);
  adminApp.route('/api/v1', people.api);
  addMetricsRoute(adminApp, { metrics, tokens: config.metricsTokens, clock, log });

  let listeners: RunningListeners;
  try {
    listeners = await startListeners(
      { public: publicApp, admin: adminApp },
      {
        port: config.port,
        host: config.host,
        adminPort: config.admin.port,
        adminHost: config.admin.host,
        maxConnections: config.http.maxConnections,
      },
    );
  } catch (error) {
    await ops.stop();
    await core.close();
    if (error instanceof ListenError)
      throw new StartupError([`${error.setting}: ${error.message}`], EXIT.config);
    throw error;
  }
  log.info(
    {
      url: listeners.url,
      adminUrl: listeners.adminUrl,
      api: core.profile.api,
      key: core.formId,
      rubric: core.scorer.rubric.name,
      metrics: config.metricsTokens.length > 0 ? 'token required' : 'open',
      retentionDays: config.retentionMs / 86_400_000 || 'off',
      resultsRetentionDays: config.resultsRetentionMs / 86_400_000 || 'off',
    },
    'listening',
  );
  // A 429 pause persisted by an earlier run holds every call of its API, the start-up check included
  // (/readyz stays 503 meanwhile): say so now, since no 429 will be logged by this process.
  const now = clock.now();
  for (const pause of readPauses(core.store, now)) {
    const until = Math.min(pause.until, now + config.cxone.maxRetryAfterMs);
    log.warn(
      { scope: pause.scope },
      `paused by CXone until ${new Date(until).toISOString()} (a 429 before this start): no call to that API before then`,
    );
  }

  let sweepTimer: NodeJS.Timeout | undefined;
  let sweeping: Promise<unknown> | undefined;
  const sweepOnce = () => {
    if (sweeping || stopping) return;
    sweeping = sweepWith(core, config, deps, log.child({ unit: 'sweep' }), stopSignal.signal)
      .then((r) => {
        if (r.created > 0) worker?.notify();
      })
      .catch((error) => log.error({ err: error }, 'sweep crashed'))
      .finally(() => {
        sweeping = undefined;
      });
  };

  const readyPromise = core.profile.prepare(stopSignal.signal).catch((error) => {
    // Stopping while the form could not be read yet is a normal shutdown, not a start-up failure.
    if (stopping) return null;
    throw error;
  });
  const startedPromise = readyPromise.then((destination) => {
    if (destination === null) return;
    if (stopping) return;
    worker = workerFor(core, config, deps, destination, log.child({ unit: 'worker' }));
    worker.onJobDone = ops.onJobDone;
    worker.start();
    ops.startRetention();
    ready = true;
    log.info({ api: core.profile.api, key: destination.key }, 'ready');
    if (config.sweep.intervalMs > 0) {
      sweepOnce();
      sweepTimer = setInterval(sweepOnce, config.sweep.intervalMs);
    }
  });

  return {
    url: listeners.url,
    adminUrl: listeners.adminUrl,
    ready: startedPromise,
    async stop() {
      if (stopping) return;
      stopping = true;
      accepting = false;
      ready = false;
      stopSignal.abort();
      clearInterval(sweepTimer);
      // Webhooks in flight are answered (their commits are quick); new ones get 503 and are retried
      // by CXone against the next process. Jobs get the same grace, then are handed back.
      // One grace period for all of it: Docker's default stop timeout is 10 s.
      await Promise.all([
        listeners.close(config.shutdownGraceMs),
        worker?.stop(config.shutdownGraceMs),
        sweeping ? Promise.race([sweeping, clock.sleep(config.shutdownGraceMs)]) : undefined,
      ]);
      recorder.flush();
      await ops.stop();
      await core.close();
      log.info('stopped');
    },
  };
}

/**
 * How long each retention window keeps its rows (src/store/retention.ts), from the settings. Spent
 * rows (expired sessions, forgotten sign-in failures) go an hour after they stopped counting, whatever
 * RETENTION_DAYS says: they are not records of anything.
 */
export function retentionWindows(
  config: Pick<Config, 'retentionMs' | 'resultsRetentionMs'>,
): Record<RetentionWindow, number> {
  return {
    raw: config.retentionMs,
    results: config.resultsRetentionMs,
    spent: DEFAULT_SIGN_IN_POLICY.windowMs,
  };
}

/**
 * What `npm start` adds for the people who run it (docs/contract.md §9): the metrics' sources, the
 * signature watch, and retention. Kept apart from the pipeline's wiring above.
 */
function startOperations(core: Core, config: Config, deps: ServiceDeps & { metrics: Metrics }) {
  const { clock, log, metrics } = deps;
  const readQueue = createQueueDepthReader(core.store);
  metrics.readQueueFrom(() => readQueue(clock.now()));
  const signatures = createSignatureWatch({
    clock,
    log: log.child({ unit: 'webhooks' }),
    write: createSignatureFailureWriter(core.store),
  });
  // Always runs: with RETENTION_DAYS=0 (and so results kept for ever) a pass still clears expired
  // sessions and forgotten sign-in failures, rows nothing can use.
  const retention = createRetention({
    batches: createRetentionBatches(core.store, undefined, { timeZone: config.console.timeZone }),
    clock,
    log,
    windows: retentionWindows(config),
    onDeleted: metrics.retentionDeleted,
  });
  return {
    onWebhook(outcome: WebhookOutcome, signatureFailure?: string) {
      metrics.webhookAnswered(outcome, signatureFailure);
      if (outcome === 'invalid_signature') signatures.refused(signatureFailure ?? 'unknown');
      else if (outcome === 'accepted' || outcome === 'duplicate') signatures.accepted();
    },
    onJobDone(_job: unknown, outcome: JobOutcome, _reason?: string, details?: JobDoneDetails) {
      metrics.jobDone(outcome, details?.code);
      if (outcome === 'submitted' && details?.overallScore !== undefined)
        metrics.evaluationScored(details.overallScore);
    },
    startRetention: () => retention.start(),
    async stop() {
      await retention.stop();
      signatures.close();
    },
  };
}

import { z } from 'zod';
import { type BusinessDataFields, parseBusinessDataFields } from './cxone/platform/business-data.js';
import { type CxonePaths, DEFAULT_CXONE_PATHS, DEFAULT_CXONE_SCOPES } from './cxone/tutorial-wire.js';
import {
  DEFAULT_CXONE_CALL_RETRIES,
  DEFAULT_CXONE_MAX_ANSWER_MB,
  DEFAULT_CXONE_MAX_RETRY_AFTER_SECONDS,
  DEFAULT_HTTP_MAX_CONNECTIONS,
  DEFAULT_SWEEP_MAX_PAGES,
} from './defaults.js';
import { hasDotSegment, idProblem } from './domain/ids.js';
import { isTimeZone } from './web/time.js';

/**
 * Settings → typed Config. The only module that reads the environment, and it reads the map it is
 * given (entry points pass process.env merged with .env), so tests build their own configs.
 */

/** Where the database lives unless DATABASE_PATH says otherwise (relative to the working directory). */
export const DEFAULT_DATABASE_PATH = './data/qm.sqlite';

/** Where NICE's OpenID configuration is read (FedRAMP tenants: https://cxone-gov.niceincontact.com). */
export const DEFAULT_CXONE_ISSUER = 'https://cxone.niceincontact.com';

/** How long results are kept when RESULTS_RETENTION_DAYS is unset (unless RETENTION_DAYS is longer). */
export const DEFAULT_RESULTS_RETENTION_DAYS = 365;

/** Which CXone API the service speaks: the reference tutorial's, or NICE's documented APIs. */
export const CXONE_APIS = ['tutorial', 'platform'] as const;
export type CxoneApi = (typeof CXONE_APIS)[number];

const int = (min: number, max: number) =>
  z
    .string()
    .trim()
    .regex(/^-?\d+$/, `must be a whole number between ${min} and ${max}`)
    .transform(Number)
    .pipe(z.number().int().min(min, `must be at least ${min}`).max(max, `must be at most ${max}`));

const num = (min: number, max: number) =>
  z
    .string()
    .trim()
    .regex(/^\d+(\.\d+)?$/, `must be a number between ${min} and ${max}`)
    .transform(Number)
    .pipe(z.number().min(min, `must be at least ${min}`).max(max, `must be at most ${max}`));

const path = (example: string) =>
  z
    .string()
    .trim()
    .regex(/^\/\S*$/, `must be a path starting with / (for example ${example})`)
    // The client refuses to send to such a URL (src/cxone/api-caller.ts): say so at start-up instead.
    .refine((v) => !hasDotSegment(`http://h${v}`), 'must not hold a . or .. segment');

const optionalText = z
  .string()
  .trim()
  .transform((v) => (v === '' ? undefined : v))
  .optional();

/** An id used as a key or in a URL (a QM form, section or item): the domain's id rules. */
const optionalId = optionalText.superRefine((value, ctx) => {
  const problem = value === undefined ? null : idProblem(value);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});

const httpUrl = (example: string) =>
  optionalText.pipe(
    z.url({ protocol: /^https?$/, error: `must be an http(s) URL such as ${example}` }).optional(),
  );

const schema = z.object({
  CXONE_API: z.enum(CXONE_APIS, { error: 'must be tutorial or platform' }).default('tutorial'),
  PORT: int(0, 65535).default(8080),
  HOST: z.string().trim().min(1).default('0.0.0.0'),
  ADMIN_PORT: int(0, 65535).optional(),
  ADMIN_HOST: z.string().trim().min(1).default('127.0.0.1'),
  HTTP_MAX_CONNECTIONS: int(8, 1_000_000).default(DEFAULT_HTTP_MAX_CONNECTIONS),
  WEBHOOK_MAX_BYTES_IN_FLIGHT: int(256 * 1024, 4 * 1024 * 1024 * 1024).default(16 * 1024 * 1024),
  DATABASE_PATH: z.string().trim().min(1, 'must not be empty').default(DEFAULT_DATABASE_PATH),
  CXONE_ORG: z
    .string()
    .trim()
    .regex(
      /^[a-z0-9-]*$/i,
      'must be the tenant name only (letters, digits, dashes), as in {org}.my.cxone.com',
    )
    .optional(),
  CXONE_BASE_URL: optionalText.pipe(
    z
      .url({ protocol: /^https?$/, error: 'must be an http(s) URL such as https://acme.my.cxone.com' })
      .optional(),
  ),
  CXONE_CLIENT_ID: optionalText,
  CXONE_CLIENT_SECRET: optionalText,
  CXONE_SCOPES: z.string().trim().min(1).default(DEFAULT_CXONE_SCOPES.join(' ')),
  CXONE_TOKEN_PATH: path(DEFAULT_CXONE_PATHS.token).default(DEFAULT_CXONE_PATHS.token),
  CXONE_CONVERSATIONS_QUERY_PATH: path(DEFAULT_CXONE_PATHS.conversationsQuery).default(
    DEFAULT_CXONE_PATHS.conversationsQuery,
  ),
  CXONE_TRANSCRIPT_PATH: path(DEFAULT_CXONE_PATHS.transcript)
    .refine((v) => v.includes('{conversationId}'), 'must contain {conversationId}')
    .default(DEFAULT_CXONE_PATHS.transcript),
  CXONE_FORM_PATH: path(DEFAULT_CXONE_PATHS.form)
    .refine((v) => v.includes('{formId}'), 'must contain {formId}')
    .default(DEFAULT_CXONE_PATHS.form),
  CXONE_EVALUATIONS_PATH: path(DEFAULT_CXONE_PATHS.evaluations).default(DEFAULT_CXONE_PATHS.evaluations),
  CXONE_PAGE_SIZE: int(1, 1000).default(50),
  CXONE_TIMEOUT_MS: int(100, 300_000).default(15_000),
  CXONE_MAX_REQUESTS_PER_MINUTE: int(1, 1_000_000).default(50),
  CXONE_MAX_RETRY_AFTER_SECONDS: int(1, 86_400).default(DEFAULT_CXONE_MAX_RETRY_AFTER_SECONDS),
  CXONE_MAX_ANSWER_MB: num(0.001, 1_024).default(DEFAULT_CXONE_MAX_ANSWER_MB),
  CXONE_CALL_RETRIES: int(0, 10).default(DEFAULT_CXONE_CALL_RETRIES),

  CXONE_ISSUER: httpUrl(DEFAULT_CXONE_ISSUER),
  CXONE_ACCESS_KEY_ID: optionalText,
  CXONE_ACCESS_KEY_SECRET: optionalText,
  CXONE_API_ENDPOINT: httpUrl('https://api-na1.niceincontact.com'),
  CXONE_BUSINESS_DATA_FIELDS: optionalText,
  STUDIO_WEBHOOK_TOKEN: optionalText,
  WEBHOOK_SECRET: optionalText,
  RUBRIC_PATH: optionalText,
  QM_FORM_ID: optionalId,
  QM_SECTION_ID: optionalId,
  QM_ITEM_ID: optionalId,
  WORKER_CONCURRENCY: int(1, 256).default(4),
  MAX_ATTEMPTS: int(1, 100).default(8),
  TRANSCRIPT_FIRST_CHECK_SECONDS: num(0, 86_400).default(30),
  TRANSCRIPT_MAX_WAIT_HOURS: num(0.001, 24 * 30).default(24),
  TRANSCRIPT_RETRY_SECONDS: num(0.01, 86_400).default(30),
  RETRY_BASE_SECONDS: num(0.01, 3_600).default(2),
  SWEEP_INTERVAL_SECONDS: int(0, 86_400 * 7).default(300),
  SWEEP_LOOKBACK_HOURS: num(0.01, 24 * 90).default(24),
  SWEEP_SAFETY_MARGIN_MINUTES: num(0, 24 * 60).default(15),
  SHUTDOWN_GRACE_SECONDS: num(0, 600).default(10),
  JOB_LEASE_SECONDS: num(1, 3_600).default(15),
  SWEEP_CONNECT_TIMEOUT_SECONDS: num(0, 3_600).default(30),
  SWEEP_MAX_PAGES: int(1, 1_000_000).default(DEFAULT_SWEEP_MAX_PAGES),
  METRICS_TOKEN: optionalText,
  RETENTION_DAYS: int(0, 36_500).default(90),
  // No zod default: when unset it follows RETENTION_DAYS (see loadConfig).
  RESULTS_RETENTION_DAYS: int(0, 36_500).optional(),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  TIME_ZONE: z
    .string()
    .trim()
    .refine(isTimeZone, 'must be an IANA time zone such as Europe/Paris or America/Chicago')
    .default('UTC'),
  TRUST_PROXY: z
    .string()
    .trim()
    .toLowerCase()
    .pipe(z.enum(['true', 'false', '1', '0'], { error: 'must be true or false' }))
    .transform((v) => v === 'true' || v === '1')
    .default(false),
  CONSOLE_SESSION_HOURS: num(0.1, 24 * 30).default(12),
});

export type Settings = z.infer<typeof schema>;

/** Every setting the service reads (the README and .env.example list each one). */
export const SETTING_NAMES = Object.keys(schema.shape) as (keyof Settings)[];

export interface Config {
  /** `tutorial` (the default) or `platform`. */
  api: CxoneApi;
  port: number;
  host: string;
  /**
   * The second listener, for everything other than `/webhooks/*` (the console, the results API,
   * /metrics); undefined = everything on `port`.
   */
  admin: { port: number | undefined; host: string };
  http: {
    /** Connections held at once, per listener. */
    maxConnections: number;
    /** Webhook body bytes held in memory at once across all requests. */
    maxBytesInFlight: number;
  };
  databasePath: string;
  cxone: {
    baseUrl: string;
    clientId: string;
    clientSecret: string;
    scopes: string[];
    paths: CxonePaths;
    pageSize: number;
    timeoutMs: number;
    maxRequestsPerMinute: number;
    /** Longest 429 pause honoured, whatever Retry-After says. */
    maxRetryAfterMs: number;
    /** Largest CXone answer read; a larger 2xx fails its call (and job) as `too_large`. */
    maxAnswerBytes: number;
    /** Quick repeats inside one call after a 5xx, a timeout or a broken connection. */
    transientRetries: number;
  };
  /** The platform profile's CXone (NICE's documented APIs); null in the tutorial profile. */
  platform: {
    issuer: string;
    accessKeyId: string;
    accessKeySecret: string;
    clientId: string;
    clientSecret: string;
    /** The API host; undefined: discovered from the token's tenantId. */
    apiEndpoint: string | undefined;
    /** The write-back; null: results stay in the service's database only. */
    businessDataFields: BusinessDataFields | null;
  } | null;
  /** Raw WEBHOOK_SECRET (space-separated secrets); decoded and checked by the HTTP layer. */
  webhookSecret: string | undefined;
  /** Raw STUDIO_WEBHOOK_TOKEN (space-separated tokens); checked by the HTTP layer. */
  studioWebhookToken: string | undefined;
  /** null = the bundled default rubric. */
  rubricPath: string | null;
  qm: { formId: string | undefined; sectionId: string | undefined; itemId: string | undefined };
  worker: {
    concurrency: number;
    maxAttempts: number;
    firstTranscriptCheckMs: number;
    transcriptMaxWaitMs: number;
    /** First wait after a transcript 404; doubles up to 30 min. */
    transcriptRetryMs: number;
    /** First wait after a transient failure; doubles up to 5 min. */
    retryBaseMs: number;
    /** How long a job stays leased without renewal: how soon a dead process's jobs are taken over. */
    leaseMs: number;
  };
  sweep: {
    intervalMs: number;
    lookbackMs: number;
    safetyMarginMs: number;
    /** `npm run sweep` keeps trying to reach CXone this long before it exits 3. */
    connectTimeoutMs: number;
    /** Most pages one pass reads before it ends as failed (a CXone paging in a loop). */
    maxPages: number;
  };
  shutdownGraceMs: number;
  logLevel: Settings['LOG_LEVEL'];
  console: {
    /** Days and times on the console's pages and in its daily figures. */
    timeZone: string;
    /** Behind a reverse proxy: client address and host come from its X-Forwarded-* headers. */
    trustProxy: boolean;
    /** A console session ends after this long unused. */
    sessionTtlMs: number;
  };
  /** Bearer token(s) GET /metrics requires (space-separated, for rotation); none = open. */
  metricsTokens: string[];
  /**
   * How long webhook deliveries, finished jobs and stored transcripts are kept (their age from when
   * they were received, finished or stored); 0 = kept for ever. Always longer than the sweep looks
   * back (see loadConfig).
   */
  retentionMs: number;
  /**
   * How long results (with their per-rule rows and reviews) and the daily figures are kept, by when
   * the result was evaluated; 0 = kept for ever. Never shorter than retentionMs (see loadConfig).
   */
  resultsRetentionMs: number;
}

export type ConfigResult = { ok: true; config: Config } | { ok: false; problems: string[] };

/** What the command needs: the server takes webhooks, the sweep does not. */
export type ConfigPurpose = 'server' | 'sweep';

/** The settings `shape` reads, from `env`. Empty values count as unset, as most .env users expect. */
function inputFor(env: Record<string, string | undefined>, shape: object): Record<string, string> {
  return Object.fromEntries(
    Object.keys(shape).flatMap((key) => {
      const value = env[key];
      return value === undefined || value.trim() === '' ? [] : [[key, value]];
    }),
  );
}

/** One line per problem, naming the setting (and what it was, unless it is a secret). */
function problemsOf(error: z.ZodError, env: Record<string, string | undefined>): string[] {
  return error.issues.map((issue) => {
    const key = String(issue.path[0] ?? 'settings');
    const got = env[key];
    const shown = /SECRET|_TOKEN$/.test(key) || got === undefined ? '' : ` (got '${got.slice(0, 60)}')`;
    return `${key}: ${issue.message}${shown}`;
  });
}

export function loadConfig(
  env: Record<string, string | undefined>,
  purpose: ConfigPurpose = 'server',
): ConfigResult {
  const input = inputFor(env, schema.shape);
  const parsed = schema.safeParse(input);
  const problems: string[] = parsed.success ? [] : problemsOf(parsed.error, env);
  // Required settings are checked on the raw input too, so a malformed one does not hide a missing
  // one: the operator gets every problem in one start.
  const given = (key: string) => input[key] !== undefined;
  const api: CxoneApi = input.CXONE_API?.trim() === 'platform' ? 'platform' : 'tutorial';
  let businessDataFields: BusinessDataFields | null = null;
  if (api === 'platform') {
    // NICE's documented APIs: an access key (password grant) and a registered application; no org,
    // no QM form, and no Standard Webhooks secret (CXone sends none; the Studio push has its token).
    for (const key of [
      'CXONE_ACCESS_KEY_ID',
      'CXONE_ACCESS_KEY_SECRET',
      'CXONE_CLIENT_ID',
      'CXONE_CLIENT_SECRET',
    ]) {
      if (!given(key)) problems.push(`${key}: required when CXONE_API=platform`);
    }
    if (given('CXONE_BUSINESS_DATA_FIELDS')) {
      const fields = parseBusinessDataFields(input.CXONE_BUSINESS_DATA_FIELDS!);
      if (fields.ok) businessDataFields = fields.fields;
      else problems.push(`CXONE_BUSINESS_DATA_FIELDS: ${fields.problem}`);
    }
  } else {
    if (!given('CXONE_BASE_URL') && !given('CXONE_ORG'))
      problems.push('CXONE_ORG: required (or set CXONE_BASE_URL)');
    if (!given('CXONE_CLIENT_ID')) problems.push('CXONE_CLIENT_ID: required');
    if (!given('CXONE_CLIENT_SECRET')) problems.push('CXONE_CLIENT_SECRET: required');
    if (purpose === 'server' && !given('WEBHOOK_SECRET')) problems.push('WEBHOOK_SECRET: required');
    if (given('QM_SECTION_ID') && !given('QM_ITEM_ID'))
      problems.push('QM_ITEM_ID: required when QM_SECTION_ID is set');
    if (given('QM_ITEM_ID') && !given('QM_SECTION_ID'))
      problems.push('QM_SECTION_ID: required when QM_ITEM_ID is set');
  }
  // Port 0 (any free port, as tests use) is the one value both may share.
  if (parsed.success && parsed.data.PORT !== 0 && parsed.data.ADMIN_PORT === parsed.data.PORT)
    problems.push(`ADMIN_PORT: must differ from PORT (${parsed.data.PORT})`);
  // A finished job deleted while the sweep can still list its conversation would be created again and
  // submitted a second time: what retention deletes must be older than anything a sweep looks at.
  if (
    parsed.success &&
    parsed.data.RETENTION_DAYS > 0 &&
    parsed.data.RETENTION_DAYS * 24 < parsed.data.SWEEP_LOOKBACK_HOURS + 24
  ) {
    problems.push(
      `RETENTION_DAYS: must be at least a day longer than SWEEP_LOOKBACK_HOURS (${parsed.data.SWEEP_LOOKBACK_HOURS} h), or a sweep would find conversations whose jobs were deleted and evaluate them again (got '${parsed.data.RETENTION_DAYS}')`,
    );
  }
  // Results are what people read, and a transcript is only ever reached through its result: results
  // are kept at least as long as the transcripts and jobs they came from (0 = for ever, the longest).
  // Unset, the window is a year, or RETENTION_DAYS when that is longer, or for ever when it is 0, so
  // an operator who never heard of this setting is never refused for it.
  const resultsDays = !parsed.success
    ? 0
    : (parsed.data.RESULTS_RETENTION_DAYS ??
      (parsed.data.RETENTION_DAYS === 0
        ? 0
        : Math.max(DEFAULT_RESULTS_RETENTION_DAYS, parsed.data.RETENTION_DAYS)));
  if (parsed.success && resultsDays > 0) {
    if (parsed.data.RETENTION_DAYS === 0)
      problems.push(
        `RESULTS_RETENTION_DAYS: must be 0 (keep for ever) while RETENTION_DAYS=0 keeps transcripts and jobs for ever: results are kept at least as long as what they were scored from (got '${resultsDays}')`,
      );
    else if (resultsDays < parsed.data.RETENTION_DAYS)
      problems.push(
        `RESULTS_RETENTION_DAYS: must be at least RETENTION_DAYS (${parsed.data.RETENTION_DAYS}) or 0 (keep for ever): results are kept at least as long as the transcripts they were scored from (got '${resultsDays}')`,
      );
  }
  if (!parsed.success || problems.length > 0) return { ok: false, problems };
  const s = parsed.data;

  const baseUrl =
    api === 'platform' && !s.CXONE_BASE_URL && !s.CXONE_ORG
      ? ''
      : (s.CXONE_BASE_URL ?? `https://${s.CXONE_ORG}.my.cxone.com`).replace(/\/+$/, '');
  return {
    ok: true,
    config: {
      api,
      port: s.PORT,
      host: s.HOST,
      admin: { port: s.ADMIN_PORT, host: s.ADMIN_HOST },
      http: { maxConnections: s.HTTP_MAX_CONNECTIONS, maxBytesInFlight: s.WEBHOOK_MAX_BYTES_IN_FLIGHT },
      databasePath: s.DATABASE_PATH,
      cxone: {
        baseUrl,
        clientId: s.CXONE_CLIENT_ID ?? '',
        clientSecret: s.CXONE_CLIENT_SECRET ?? '',
        scopes: s.CXONE_SCOPES.split(/\s+/).filter(Boolean),
        paths: {
          token: s.CXONE_TOKEN_PATH,
          conversationsQuery: s.CXONE_CONVERSATIONS_QUERY_PATH,
          transcript: s.CXONE_TRANSCRIPT_PATH,
          form: s.CXONE_FORM_PATH,
          evaluations: s.CXONE_EVALUATIONS_PATH,
        },
        pageSize: s.CXONE_PAGE_SIZE,
        timeoutMs: s.CXONE_TIMEOUT_MS,
        maxRequestsPerMinute: s.CXONE_MAX_REQUESTS_PER_MINUTE,
        maxRetryAfterMs: s.CXONE_MAX_RETRY_AFTER_SECONDS * 1000,
        maxAnswerBytes: Math.round(s.CXONE_MAX_ANSWER_MB * 1024 * 1024),
        transientRetries: s.CXONE_CALL_RETRIES,
      },
      platform:
        api === 'platform'
          ? {
              issuer: (s.CXONE_ISSUER ?? DEFAULT_CXONE_ISSUER).replace(/\/+$/, ''),
              accessKeyId: s.CXONE_ACCESS_KEY_ID!,
              accessKeySecret: s.CXONE_ACCESS_KEY_SECRET!,
              clientId: s.CXONE_CLIENT_ID!,
              clientSecret: s.CXONE_CLIENT_SECRET!,
              apiEndpoint: s.CXONE_API_ENDPOINT?.replace(/\/+$/, ''),
              businessDataFields,
            }
          : null,
      webhookSecret: s.WEBHOOK_SECRET,
      studioWebhookToken: s.STUDIO_WEBHOOK_TOKEN,
      rubricPath: s.RUBRIC_PATH ?? null,
      qm: { formId: s.QM_FORM_ID, sectionId: s.QM_SECTION_ID, itemId: s.QM_ITEM_ID },
      worker: {
        concurrency: s.WORKER_CONCURRENCY,
        maxAttempts: s.MAX_ATTEMPTS,
        firstTranscriptCheckMs: s.TRANSCRIPT_FIRST_CHECK_SECONDS * 1000,
        transcriptMaxWaitMs: s.TRANSCRIPT_MAX_WAIT_HOURS * 3_600_000,
        transcriptRetryMs: s.TRANSCRIPT_RETRY_SECONDS * 1000,
        retryBaseMs: s.RETRY_BASE_SECONDS * 1000,
        leaseMs: s.JOB_LEASE_SECONDS * 1000,
      },
      sweep: {
        intervalMs: s.SWEEP_INTERVAL_SECONDS * 1000,
        lookbackMs: s.SWEEP_LOOKBACK_HOURS * 3_600_000,
        safetyMarginMs: s.SWEEP_SAFETY_MARGIN_MINUTES * 60_000,
        connectTimeoutMs: s.SWEEP_CONNECT_TIMEOUT_SECONDS * 1000,
        maxPages: s.SWEEP_MAX_PAGES,
      },
      shutdownGraceMs: s.SHUTDOWN_GRACE_SECONDS * 1000,
      logLevel: s.LOG_LEVEL,
      console: {
        timeZone: s.TIME_ZONE,
        trustProxy: s.TRUST_PROXY,
        sessionTtlMs: s.CONSOLE_SESSION_HOURS * 3_600_000,
      },
      metricsTokens: (s.METRICS_TOKEN ?? '').split(/\s+/).filter(Boolean),
      retentionMs: s.RETENTION_DAYS * 86_400_000,
      resultsRetentionMs: resultsDays * 86_400_000,
    },
  };
}

/**
 * What the operator commands (`status`, `requeue`, `user`, `examples`, `rescore`) need: no
 * credentials to look at a database.
 */
export interface OperatorConfig {
  /** Which profile's jobs: in the platform profile they are keyed by the rubric, not a form. */
  api: CxoneApi;
  databasePath: string;
  /** null = the bundled default rubric. */
  rubricPath: string | null;
  formId: string | undefined;
  /** TIME_ZONE: how days given on the command line (`--since 2024-05-10`) are read. */
  timeZone: string;
}

const operatorSchema = schema.pick({
  CXONE_API: true,
  DATABASE_PATH: true,
  RUBRIC_PATH: true,
  QM_FORM_ID: true,
  TIME_ZONE: true,
});

/** The settings an operator command reads, with the same rules and defaults as the service's. */
export function loadOperatorConfig(
  env: Record<string, string | undefined>,
): { ok: true; config: OperatorConfig } | { ok: false; problems: string[] } {
  const parsed = operatorSchema.safeParse(inputFor(env, operatorSchema.shape));
  if (!parsed.success) return { ok: false, problems: problemsOf(parsed.error, env) };
  const s = parsed.data;
  return {
    ok: true,
    config: {
      api: s.CXONE_API,
      databasePath: s.DATABASE_PATH,
      rubricPath: s.RUBRIC_PATH ?? null,
      formId: s.QM_FORM_ID,
      timeZone: s.TIME_ZONE,
    },
  };
}

import { z } from 'zod';

/**
 * Settings → typed Config. The only module that reads the environment, and it reads the map it is
 * given (entry points pass process.env merged with .env), so tests build their own configs.
 */

const DEFAULT_SCOPES =
  'conversation:read conversation:media:transcript:read qm:evaluation:write qm:form:read';

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
    .regex(/^\/\S*$/, `must be a path starting with / (for example ${example})`);

const optionalText = z
  .string()
  .trim()
  .transform((v) => (v === '' ? undefined : v))
  .optional();

const schema = z.object({
  PORT: int(0, 65535).default(8080),
  HOST: z.string().trim().min(1).default('0.0.0.0'),
  DATABASE_PATH: z.string().trim().min(1, 'must not be empty').default('./data/qm.sqlite'),
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
  CXONE_SCOPES: z.string().trim().min(1).default(DEFAULT_SCOPES),
  CXONE_TOKEN_PATH: path('/oauth/token').default('/oauth/token'),
  CXONE_CONVERSATIONS_QUERY_PATH: path('/api/v2/conversations/details/query').default(
    '/api/v2/conversations/details/query',
  ),
  CXONE_TRANSCRIPT_PATH: path('/api/v2/conversations/{conversationId}/media/transcripts')
    .refine((v) => v.includes('{conversationId}'), 'must contain {conversationId}')
    .default('/api/v2/conversations/{conversationId}/media/transcripts'),
  CXONE_FORM_PATH: path('/api/v2/qm/forms/{formId}')
    .refine((v) => v.includes('{formId}'), 'must contain {formId}')
    .default('/api/v2/qm/forms/{formId}'),
  CXONE_EVALUATIONS_PATH: path('/api/v2/qm/evaluations').default('/api/v2/qm/evaluations'),
  CXONE_PAGE_SIZE: int(1, 1000).default(50),
  CXONE_TIMEOUT_MS: int(100, 300_000).default(15_000),
  CXONE_MAX_REQUESTS_PER_MINUTE: int(1, 1_000_000).default(50),
  WEBHOOK_SECRET: optionalText,
  RUBRIC_PATH: optionalText,
  QM_FORM_ID: optionalText,
  QM_SECTION_ID: optionalText,
  QM_ITEM_ID: optionalText,
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
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

export type Settings = z.infer<typeof schema>;

/** Every setting the service reads (the README and .env.example list each one). */
export const SETTING_NAMES = Object.keys(schema.shape) as (keyof Settings)[];

export interface Config {
  port: number;
  host: string;
  databasePath: string;
  cxone: {
    baseUrl: string;
    clientId: string;
    clientSecret: string;
    scopes: string[];
    paths: {
      token: string;
      conversationsQuery: string;
      transcript: string;
      form: string;
      evaluations: string;
    };
    pageSize: number;
    timeoutMs: number;
    maxRequestsPerMinute: number;
  };
  /** Raw WEBHOOK_SECRET (space-separated secrets); decoded and checked by the HTTP layer. */
  webhookSecret: string | undefined;
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
  };
  shutdownGraceMs: number;
  logLevel: Settings['LOG_LEVEL'];
}

export type ConfigResult = { ok: true; config: Config } | { ok: false; problems: string[] };

/** What the command needs: the server takes webhooks, the sweep does not. */
export type ConfigPurpose = 'server' | 'sweep';

export function loadConfig(
  env: Record<string, string | undefined>,
  purpose: ConfigPurpose = 'server',
): ConfigResult {
  // Empty values count as unset, as most .env users expect.
  const input = Object.fromEntries(
    Object.keys(schema.shape).flatMap((key) => {
      const value = env[key];
      return value === undefined || value.trim() === '' ? [] : [[key, value]];
    }),
  );
  const parsed = schema.safeParse(input);
  const problems: string[] = [];
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const key = String(issue.path[0] ?? 'settings');
      const got = env[key];
      const shown = key.includes('SECRET') || got === undefined ? '' : ` (got '${got.slice(0, 60)}')`;
      problems.push(`${key}: ${issue.message}${shown}`);
    }
  }
  // Required settings are checked on the raw input too, so a malformed one does not hide a missing
  // one: the operator gets every problem in one start.
  const given = (key: string) => input[key] !== undefined;
  if (!given('CXONE_BASE_URL') && !given('CXONE_ORG'))
    problems.push('CXONE_ORG: required (or set CXONE_BASE_URL)');
  if (!given('CXONE_CLIENT_ID')) problems.push('CXONE_CLIENT_ID: required');
  if (!given('CXONE_CLIENT_SECRET')) problems.push('CXONE_CLIENT_SECRET: required');
  if (purpose === 'server' && !given('WEBHOOK_SECRET')) problems.push('WEBHOOK_SECRET: required');
  if (given('QM_SECTION_ID') && !given('QM_ITEM_ID'))
    problems.push('QM_ITEM_ID: required when QM_SECTION_ID is set');
  if (given('QM_ITEM_ID') && !given('QM_SECTION_ID'))
    problems.push('QM_SECTION_ID: required when QM_ITEM_ID is set');
  if (!parsed.success || problems.length > 0) return { ok: false, problems };
  const s = parsed.data;

  const baseUrl = (s.CXONE_BASE_URL ?? `https://${s.CXONE_ORG}.my.cxone.com`).replace(/\/+$/, '');
  return {
    ok: true,
    config: {
      port: s.PORT,
      host: s.HOST,
      databasePath: s.DATABASE_PATH,
      cxone: {
        baseUrl,
        clientId: s.CXONE_CLIENT_ID!,
        clientSecret: s.CXONE_CLIENT_SECRET!,
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
      },
      webhookSecret: s.WEBHOOK_SECRET,
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
      },
      shutdownGraceMs: s.SHUTDOWN_GRACE_SECONDS * 1000,
      logLevel: s.LOG_LEVEL,
    },
  };
}

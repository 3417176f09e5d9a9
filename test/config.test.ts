import { readFileSync } from 'node:fs';
import { parseEnv } from 'node:util';
import { describe, expect, it } from 'vitest';
import { loadConfig, loadOperatorConfig, SETTING_NAMES } from '../src/config.js';

const minimal = {
  CXONE_ORG: 'acme',
  CXONE_CLIENT_ID: 'client',
  CXONE_CLIENT_SECRET: 's3cret-value',
  WEBHOOK_SECRET: 'whsec_c2VjcmV0',
};

describe('loadConfig', () => {
  it('applies the contract defaults', () => {
    const r = loadConfig(minimal);
    if (!r.ok) throw new Error(r.problems.join('\n'));
    expect(r.config).toMatchObject({
      port: 8080,
      databasePath: './data/qm.sqlite',
      rubricPath: null,
      logLevel: 'info',
      cxone: {
        baseUrl: 'https://acme.my.cxone.com',
        maxRequestsPerMinute: 50,
        pageSize: 50,
        scopes: [
          'conversation:read',
          'conversation:media:transcript:read',
          'qm:evaluation:write',
          'qm:form:read',
        ],
        paths: { transcript: '/api/v2/conversations/{conversationId}/media/transcripts' },
      },
      worker: { concurrency: 4 },
      sweep: { intervalMs: 300_000, lookbackMs: 24 * 3_600_000 },
    });
  });

  it('CXONE_BASE_URL overrides the tenant URL; trailing slashes are dropped', () => {
    const r = loadConfig({ ...minimal, CXONE_ORG: undefined, CXONE_BASE_URL: 'http://127.0.0.1:9999/' });
    expect(r.ok && r.config.cxone.baseUrl).toBe('http://127.0.0.1:9999');
  });

  it('reports every problem, one line each, naming the setting', () => {
    const r = loadConfig({
      ...minimal,
      PORT: 'abc',
      WORKER_CONCURRENCY: '0',
      LOG_LEVEL: 'loud',
      CXONE_FORM_PATH: '/forms',
    });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.problems).toHaveLength(4);
    for (const [i, name] of ['PORT', 'CXONE_FORM_PATH', 'WORKER_CONCURRENCY', 'LOG_LEVEL'].entries()) {
      expect(r.problems[i]).toMatch(new RegExp(`^${name}: `));
    }
    for (const line of r.problems) expect(line).not.toContain('\n');
  });

  it('names missing required settings; the sweep does not need the webhook secret', () => {
    const r = loadConfig({});
    expect(!r.ok && r.problems).toEqual([
      'CXONE_ORG: required (or set CXONE_BASE_URL)',
      'CXONE_CLIENT_ID: required',
      'CXONE_CLIENT_SECRET: required',
      'WEBHOOK_SECRET: required',
    ]);
    expect(loadConfig({ ...minimal, WEBHOOK_SECRET: undefined }, 'sweep').ok).toBe(true);
  });

  it('never prints a secret back', () => {
    const r = loadConfig({ ...minimal, CXONE_CLIENT_SECRET: '   ', CXONE_BASE_URL: 'not a url' });
    expect(!r.ok && r.problems.join('\n')).not.toContain('s3cret');
  });

  it('QM_SECTION_ID and QM_ITEM_ID go together', () => {
    const r = loadConfig({ ...minimal, QM_ITEM_ID: 'i1' });
    expect(!r.ok && r.problems).toEqual(['QM_SECTION_ID: required when QM_ITEM_ID is set']);
  });

  it('without ADMIN_PORT everything shares PORT; ADMIN_HOST defaults to loopback', () => {
    const r = loadConfig(minimal);
    expect(r.ok && r.config.admin).toEqual({ port: undefined, host: '127.0.0.1' });
    const split = loadConfig({ ...minimal, ADMIN_PORT: '9090', ADMIN_HOST: '10.0.0.5' });
    expect(split.ok && split.config.admin).toEqual({ port: 9090, host: '10.0.0.5' });
    expect(r.ok && r.config.http).toEqual({ maxConnections: 512, maxBytesInFlight: 16 * 1024 * 1024 });
  });

  it('ADMIN_PORT must differ from PORT (port 0, any free port, excepted)', () => {
    const r = loadConfig({ ...minimal, PORT: '8080', ADMIN_PORT: '8080' });
    expect(!r.ok && r.problems).toEqual(['ADMIN_PORT: must differ from PORT (8080)']);
    expect(loadConfig({ ...minimal, PORT: '0', ADMIN_PORT: '0' }).ok).toBe(true);
  });

  it('QM ids follow the id rules: a form id of .. never reaches a URL', () => {
    const r = loadConfig({ ...minimal, QM_FORM_ID: '..', QM_SECTION_ID: 's/1', QM_ITEM_ID: 'i1' });
    expect(!r.ok && r.problems).toEqual([
      "QM_FORM_ID: must not be '.' or '..' (a dot segment) (got '..')",
      "QM_SECTION_ID: must not contain a slash or a backslash (got 's/1')",
    ]);
  });

  it('an API path with a dot segment is refused at start-up (the client would refuse every call)', () => {
    const r = loadConfig({ ...minimal, CXONE_TRANSCRIPT_PATH: '/api/v2/{conversationId}/../media' });
    expect(!r.ok && r.problems[0]).toMatch(/^CXONE_TRANSCRIPT_PATH: must not hold a \. or \.\. segment/);
  });

  it('the CXone hardening settings: defaults and bounds', () => {
    const r = loadConfig(minimal);
    if (!r.ok) throw new Error(r.problems.join('\n'));
    expect(r.config.cxone).toMatchObject({
      maxRetryAfterMs: 300_000,
      maxAnswerBytes: 20 * 1024 * 1024,
      transientRetries: 2,
    });
    expect(r.config.sweep.maxPages).toBe(1_000);
    const set = loadConfig({
      ...minimal,
      CXONE_MAX_RETRY_AFTER_SECONDS: '60',
      CXONE_MAX_ANSWER_MB: '0.5',
      CXONE_CALL_RETRIES: '0',
      SWEEP_MAX_PAGES: '20',
    });
    expect(set.ok && [set.config.cxone.maxRetryAfterMs, set.config.cxone.maxAnswerBytes]).toEqual([
      60_000, 524_288,
    ]);
    expect(set.ok && [set.config.cxone.transientRetries, set.config.sweep.maxPages]).toEqual([0, 20]);
    const bad = loadConfig({
      ...minimal,
      CXONE_MAX_RETRY_AFTER_SECONDS: '31536000',
      CXONE_CALL_RETRIES: '-1',
    });
    expect(!bad.ok && bad.problems.map((p) => p.split(':')[0])).toEqual([
      'CXONE_MAX_RETRY_AFTER_SECONDS',
      'CXONE_CALL_RETRIES',
    ]);
  });

  it('empty values count as unset', () => {
    const r = loadConfig({ ...minimal, PORT: '', SWEEP_INTERVAL_SECONDS: '0' });
    expect(r.ok && [r.config.port, r.config.sweep.intervalMs]).toEqual([8080, 0]);
  });

  it('a malformed setting does not hide a missing required one', () => {
    const r = loadConfig({
      CXONE_ORG: 'acme',
      CXONE_CLIENT_SECRET: 'secret-value',
      WEBHOOK_SECRET: 'whsec_c2VjcmV0',
      PORT: 'abc',
    });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.problems.some((p) => p.startsWith('PORT:'))).toBe(true);
    expect(r.problems.some((p) => p.startsWith('CXONE_CLIENT_ID:'))).toBe(true);
  });
});

describe('operations settings', () => {
  it('RETENTION_DAYS defaults to 90 days; 0 keeps everything; METRICS_TOKEN holds tokens for rotation', () => {
    const r = loadConfig(minimal);
    expect(r.ok && r.config).toMatchObject({ retentionMs: 90 * 86_400_000, metricsTokens: [] });
    const off = loadConfig({ ...minimal, RETENTION_DAYS: '0', METRICS_TOKEN: ' tok-a  tok-b ' });
    expect(off.ok && off.config).toMatchObject({ retentionMs: 0, metricsTokens: ['tok-a', 'tok-b'] });
  });

  it('refuses a retention window the sweep could look past (it would evaluate deleted conversations again)', () => {
    const r = loadConfig({ ...minimal, RETENTION_DAYS: '3', SWEEP_LOOKBACK_HOURS: '72' });
    expect(r.ok).toBe(false);
    expect(!r.ok && r.problems).toEqual([
      expect.stringMatching(
        /^RETENTION_DAYS: must be at least a day longer than SWEEP_LOOKBACK_HOURS \(72 h\)/,
      ),
    ]);
    expect(loadConfig({ ...minimal, RETENTION_DAYS: '4', SWEEP_LOOKBACK_HOURS: '72' }).ok).toBe(true);
    expect(loadConfig({ ...minimal, RETENTION_DAYS: '-1' }).ok).toBe(false);
  });

  it('RESULTS_RETENTION_DAYS: a year unless set, never shorter than RETENTION_DAYS, 0 keeps results for ever', () => {
    const days = (env: Record<string, string>) => {
      const r = loadConfig({ ...minimal, ...env });
      return r.ok ? r.config.resultsRetentionMs / 86_400_000 : r.problems;
    };
    expect(days({})).toBe(365);
    // Unset, it follows a longer RETENTION_DAYS, and keeps for ever when everything is kept.
    expect(days({ RETENTION_DAYS: '400' })).toBe(400);
    expect(days({ RETENTION_DAYS: '0' })).toBe(0);
    expect(days({ RESULTS_RETENTION_DAYS: '90' })).toBe(90);
    expect(days({ RESULTS_RETENTION_DAYS: '0' })).toBe(0);
    expect(days({ RETENTION_DAYS: '0', RESULTS_RETENTION_DAYS: '0' })).toBe(0);
    expect(days({ RESULTS_RETENTION_DAYS: '30' })).toEqual([
      "RESULTS_RETENTION_DAYS: must be at least RETENTION_DAYS (90) or 0 (keep for ever): results are kept at least as long as the transcripts they were scored from (got '30')",
    ]);
    expect(days({ RETENTION_DAYS: '0', RESULTS_RETENTION_DAYS: '365' })).toEqual([
      expect.stringMatching(/^RESULTS_RETENTION_DAYS: must be 0 \(keep for ever\) while RETENTION_DAYS=0/),
    ]);
    expect(days({ RESULTS_RETENTION_DAYS: 'a year' })).toEqual([
      expect.stringMatching(/^RESULTS_RETENTION_DAYS: must be a whole number/),
    ]);
  });
});

describe('.env.example and README', () => {
  it('.env.example lists every setting, and is valid once credentials are filled in', () => {
    const example = parseEnv(readFileSync('.env.example', 'utf8')) as Record<string, string>;
    expect(Object.keys(example).sort()).toEqual([...SETTING_NAMES].sort());
    expect(
      loadConfig({ ...example, CXONE_CLIENT_ID: 'a', CXONE_CLIENT_SECRET: 'b', WEBHOOK_SECRET: 'whsec_YWJj' })
        .ok,
    ).toBe(true);
  });

  it('the README documents every setting', () => {
    const readme = readFileSync('README.md', 'utf8');
    for (const name of SETTING_NAMES) expect(readme, name).toContain(`\`${name}\``);
  });
});

describe('loadOperatorConfig', () => {
  it('needs no credentials, and reads DATABASE_PATH with the service’s default and rules', () => {
    expect(loadOperatorConfig({})).toEqual({
      ok: true,
      config: {
        api: 'tutorial',
        databasePath: './data/qm.sqlite',
        rubricPath: null,
        formId: undefined,
        timeZone: 'UTC',
      },
    });
    // Empty counts as unset, as for the service: never a database at ''.
    expect(loadOperatorConfig({ DATABASE_PATH: '  ', QM_FORM_ID: 'f' })).toMatchObject({
      ok: true,
      config: { databasePath: './data/qm.sqlite', formId: 'f' },
    });
    const service = loadConfig({ ...minimal, DATABASE_PATH: ' /var/qm/db.sqlite ' });
    const operator = loadOperatorConfig({ DATABASE_PATH: ' /var/qm/db.sqlite ' });
    expect(operator.ok && operator.config.databasePath).toBe(service.ok && service.config.databasePath);
  });
});

describe('loadConfig: CXONE_API=platform', () => {
  const platform = {
    CXONE_API: 'platform',
    CXONE_ACCESS_KEY_ID: 'KEYID',
    CXONE_ACCESS_KEY_SECRET: 'key+secret/==',
    CXONE_CLIENT_ID: 'app',
    CXONE_CLIENT_SECRET: 'app-secret',
  };

  it('needs the access key and the application, not an org, a form or a webhook secret', () => {
    const r = loadConfig(platform);
    if (!r.ok) throw new Error(r.problems.join('\n'));
    expect(r.config.api).toBe('platform');
    expect(r.config.platform).toEqual({
      issuer: 'https://cxone.niceincontact.com',
      accessKeyId: 'KEYID',
      accessKeySecret: 'key+secret/==',
      clientId: 'app',
      clientSecret: 'app-secret',
      apiEndpoint: undefined,
      businessDataFields: null,
    });
    expect(loadConfig(minimal)).toMatchObject({ ok: true, config: { api: 'tutorial', platform: null } });
  });

  it('reads the issuer, the API endpoint and the business data fields', () => {
    const r = loadConfig({
      ...platform,
      CXONE_ISSUER: 'https://cxone-gov.niceincontact.com/',
      CXONE_API_ENDPOINT: 'https://api-na1.niceincontact.com/',
      CXONE_BUSINESS_DATA_FIELDS: 'score=QA_Score,result=QA_Result',
      STUDIO_WEBHOOK_TOKEN: 'x'.repeat(40),
    });
    if (!r.ok) throw new Error(r.problems.join('\n'));
    expect(r.config.platform).toMatchObject({
      issuer: 'https://cxone-gov.niceincontact.com',
      apiEndpoint: 'https://api-na1.niceincontact.com',
      businessDataFields: { score: 'QA_Score', result: 'QA_Result' },
    });
    expect(r.config.studioWebhookToken).toBe('x'.repeat(40));
  });

  it('one line per problem, naming the setting, secrets not shown', () => {
    const r = loadConfig({
      CXONE_API: 'platform',
      CXONE_ISSUER: 'not a url',
      CXONE_BUSINESS_DATA_FIELDS: 'grade=QA',
      CXONE_ACCESS_KEY_SECRET: 'hidden-value',
    });
    expect(r).toEqual({
      ok: false,
      problems: [
        "CXONE_ISSUER: must be an http(s) URL such as https://cxone.niceincontact.com (got 'not a url')",
        'CXONE_ACCESS_KEY_ID: required when CXONE_API=platform',
        'CXONE_CLIENT_ID: required when CXONE_API=platform',
        'CXONE_CLIENT_SECRET: required when CXONE_API=platform',
        "CXONE_BUSINESS_DATA_FIELDS: 'grade' is not one of score, result, rubric, summary",
      ],
    });
    expect(loadConfig({ ...platform, CXONE_API: 'genesys' })).toMatchObject({
      ok: false,
      problems: expect.arrayContaining(["CXONE_API: must be tutorial or platform (got 'genesys')"]),
    });
  });
});

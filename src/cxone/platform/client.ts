import type { z } from 'zod';
import type { Clock } from '../../clock.js';
import {
  type ApiAnswer,
  type ApiCallerOptions,
  createApiCaller,
  defaultErrorKind,
  type ErrorMapping,
  failure,
} from '../api-caller.js';
import { createCachedTokenSource, type GrantedToken } from '../token-source.js';
import type { HttpTransport } from '../transport.js';
import type { CxoneErrorKind, CxoneResult, RequestBudget } from '../types.js';
import { parseAgentId, parseContactId, pathSegment, pathSegmentProblem } from './ids.js';
import { parseJsonKeepingBigIntegers } from './json.js';
import {
  analyzedTranscriptSchema,
  apiDiscoverySchema,
  completedContactsSchema,
  contactMediaSchema,
  describeErrorBody,
  FAMILY_OF,
  oidcDiscoverySchema,
  PLATFORM_PATHS,
  type PlatformCall,
  type PlatformFamily,
  tokenAnswerSchema,
} from './schemas.js';
import type { CompletedContact, CompletedContactsPage, ContactInteraction, PlatformClient } from './types.js';

/**
 * The client of NICE CXone's documented APIs (the `platform` profile): one per process.
 *
 * Authentication as NICE documents it: the token endpoint from the issuer's OpenID configuration, the
 * password grant with the service employee's access key and the registered application's client id
 * and secret (HTTP Basic, or in the body when discovery offers only client_secret_post), the API host
 * from the tenant discovery document named by the token's `tenantId` claim (unless configured), the
 * token cached until shortly before `expires_in`, refreshed with its refresh token (or granted anew
 * when the refresh is refused), one grant in flight. Every exchange, token and discovery included,
 * goes through the api-caller: the budget, timeouts, 429 pauses per API family, the 401 repeat,
 * errors as values naming the call, redaction.
 */

export interface PlatformClientOptions {
  /** Where `/.well-known/openid-configuration` and the tenant discovery are read. */
  issuer: string;
  accessKeyId: string;
  accessKeySecret: string;
  clientId: string;
  clientSecret: string;
  /** The API host; when unset, discovered from the token's tenantId. */
  apiEndpoint?: string;
  /** Per HTTP attempt, from sending the request to the end of reading its body. */
  timeoutMs: number;
  budget: RequestBudget;
  clock: Clock;
  fetch?: HttpTransport;
  maxRateLimitWaits?: number;
  /** Wait after the n-th 429 of a call (documented 429s have no Retry-After). Default: 1 s doubling to 60 s, jittered. */
  rateLimitWaitMs?: (n: number) => number;
  /** Longest 429 pause honoured (CXONE_MAX_RETRY_AFTER_SECONDS). */
  maxRetryAfterMs?: number;
  /** Hears of every 429 pause (to log "paused by CXone until ..."); see ApiCallerOptions.onRateLimited. */
  onRateLimited?: ApiCallerOptions['onRateLimited'];
  /** Largest answer read (CXONE_MAX_ANSWER_MB). */
  maxAnswerBytes?: number;
  /** Quick repeats inside a call after a 5xx, timeout or reset (CXONE_CALL_RETRIES). */
  transientRetries?: number;
  /** Hears of every HTTP attempt (metrics); see ApiCallerOptions.onAttempt. */
  onAttempt?: ApiCallerOptions['onAttempt'];
}

/** Budget scope per API family: a 429 from one API pauses that API's calls only. */
const scopeOfFamily = (family: PlatformFamily) => `cxone-${family}`;
const scopeOf = (call: PlatformCall) => scopeOfFamily(FAMILY_OF[call]);

const ACCEPT = { accept: 'application/json' };

function trimSlash(url: string): string {
  return url.replace(/\/+$/, '');
}

/** The claims of a JWT, unverified: the token came over TLS from the token endpoint we asked. */
export function readJwtClaims(token: string): Record<string, unknown> | null {
  const part = token.split('.')[1];
  if (!part) return null;
  try {
    const claims = JSON.parse(Buffer.from(part, 'base64url').toString('utf8')) as unknown;
    return claims && typeof claims === 'object' && !Array.isArray(claims)
      ? (claims as Record<string, unknown>)
      : null;
  } catch {
    return null;
  }
}

/** JSON (int64-exact) then the schema; a mismatch names the call and the field. */
function parseBody<S extends z.ZodType, T>(
  call: PlatformCall,
  schema: S,
  text: string,
  map: (data: z.output<S>) => CxoneResult<T> | T,
): CxoneResult<T> {
  let json: unknown;
  try {
    json = parseJsonKeepingBigIntegers(text);
  } catch {
    return failure(call, 'bad_response', `${call}: response body is not JSON`);
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = issue && issue.path.length > 0 ? issue.path.join('.') : '(body)';
    return failure(
      call,
      'bad_response',
      `${call}: unexpected response shape at ${field}: ${issue?.message ?? 'invalid'}`,
    );
  }
  const mapped = map(parsed.data);
  return mapped && typeof mapped === 'object' && 'ok' in mapped && typeof mapped.ok === 'boolean'
    ? (mapped as CxoneResult<T>)
    : { ok: true, value: mapped as T };
}

/** Maps a family's error answer: its reason read from its own body, and the kind `kinds` gives a status. */
function familyError(
  call: PlatformCall,
  kinds: Partial<Record<number, { kind: CxoneErrorKind; hint?: string }>>,
): ErrorMapping {
  return ({ status, text }) => {
    const detail = describeErrorBody(FAMILY_OF[call], text);
    const mapped = kinds[status];
    const message = `${call}: HTTP ${status}${detail ? `: ${detail}` : ''}${mapped?.hint ? ` (${mapped.hint})` : ''}`;
    return mapped ? { kind: mapped.kind, message } : { kind: defaultErrorKind(status), message };
  };
}

export function createPlatformClient(options: PlatformClientOptions): PlatformClient {
  const issuer = trimSlash(options.issuer);
  const issuerIsHttps = issuer.startsWith('https:');
  let refreshToken: string | undefined;
  let tenantId: string | undefined;
  let discovery: { tokenEndpoint: string; auth: 'basic' | 'post' } | undefined;
  let apiBase: string | undefined = options.apiEndpoint ? trimSlash(options.apiEndpoint) : undefined;
  let apiDiscovering: Promise<CxoneResult<string>> | undefined;

  const caller = createApiCaller({
    timeoutMs: options.timeoutMs,
    budget: options.budget,
    clock: options.clock,
    ...(options.fetch ? { fetch: options.fetch } : {}),
    ...(options.maxRateLimitWaits !== undefined ? { maxRateLimitWaits: options.maxRateLimitWaits } : {}),
    ...(options.rateLimitWaitMs ? { rateLimitWaitMs: options.rateLimitWaitMs } : {}),
    ...(options.maxRetryAfterMs !== undefined ? { maxRetryAfterMs: options.maxRetryAfterMs } : {}),
    ...(options.onRateLimited ? { onRateLimited: options.onRateLimited } : {}),
    ...(options.maxAnswerBytes !== undefined ? { maxAnswerBytes: options.maxAnswerBytes } : {}),
    ...(options.transientRetries !== undefined ? { transientRetries: options.transientRetries } : {}),
    secrets: () => [options.clientSecret, options.accessKeySecret, tokens.held?.value, refreshToken],
    ...(options.onAttempt ? { onAttempt: options.onAttempt } : {}),
  });

  /** A URL the bearer token may go to: https whenever the issuer is https. */
  function trustedUrl(call: PlatformCall, url: string, what: string): CxoneResult<string> {
    if (issuerIsHttps && !url.startsWith('https:')) {
      return failure(call, 'bad_response', `${call}: ${what} '${url}' is not https`);
    }
    return { ok: true, value: trimSlash(url) };
  }

  async function discover(): Promise<CxoneResult<NonNullable<typeof discovery>>> {
    if (discovery) return { ok: true, value: discovery };
    const call = 'oidcDiscovery';
    const answer = await caller.exchange({
      call: call,
      scope: scopeOf(call),
      url: `${issuer}${PLATFORM_PATHS.oidcDiscovery}`,
      method: 'GET',
      headers: ACCEPT,
    });
    if (!answer.ok) return answer;
    if (answer.value.status < 200 || answer.value.status >= 300) {
      return {
        ok: false,
        error: caller.errorOf(
          call,
          answer.value,
          familyError(call, { 404: { kind: 'rejected', hint: `is CXONE_ISSUER right? ${issuer}` } }),
        ),
      };
    }
    const parsed = parseBody(call, oidcDiscoverySchema, answer.value.text, (doc) => {
      const methods = doc.token_endpoint_auth_methods_supported ?? [];
      const auth: 'basic' | 'post' =
        methods.includes('client_secret_basic') || !methods.includes('client_secret_post') ? 'basic' : 'post';
      const endpoint = trustedUrl(call, doc.token_endpoint, 'token_endpoint');
      return endpoint.ok ? { ok: true as const, value: { tokenEndpoint: endpoint.value, auth } } : endpoint;
    });
    if (parsed.ok) discovery = parsed.value;
    return parsed;
  }

  /** One token exchange; `refresh` asks with the refresh token instead of the access key. */
  async function tokenExchange(refresh: string | undefined): Promise<CxoneResult<GrantedToken>> {
    const found = await discover();
    if (!found.ok) return found;
    const { tokenEndpoint, auth } = found.value;
    // URLSearchParams form-encodes: access key secrets hold `=`, `+` and `/`.
    const form = new URLSearchParams(
      refresh
        ? { grant_type: 'refresh_token', refresh_token: refresh, client_id: options.clientId }
        : { grant_type: 'password', username: options.accessKeyId, password: options.accessKeySecret },
    );
    const headers: Record<string, string> = {
      ...ACCEPT,
      'content-type': 'application/x-www-form-urlencoded',
    };
    if (auth === 'basic') {
      headers.authorization = `Basic ${Buffer.from(`${options.clientId}:${options.clientSecret}`, 'utf8').toString('base64')}`;
    } else {
      form.set('client_id', options.clientId);
      form.set('client_secret', options.clientSecret);
    }
    const call = 'token';
    const answer = await caller.exchange({
      call,
      scope: scopeOf(call),
      url: tokenEndpoint,
      method: 'POST',
      // A grant changes nothing on CXone's side that a second grant would double: safe to repeat.
      idempotent: true,
      headers,
      body: form.toString(),
    });
    if (!answer.ok) return answer;
    const { status } = answer.value;
    if (status < 200 || status >= 300) {
      return { ok: false, error: caller.errorOf(call, answer.value, tokenRefused(refresh !== undefined)) };
    }
    return parseBody(call, tokenAnswerSchema, answer.value.text, (data) => {
      refreshToken = data.refresh_token ?? undefined;
      const claims =
        readJwtClaims(data.access_token) ?? (data.id_token ? readJwtClaims(data.id_token) : null);
      const tenant = claims?.tenantId;
      if (typeof tenant === 'string' && tenant.trim() !== '') tenantId = tenant.trim();
      // The token source bounds what it believes (clampTokenLifetimeMs: 2 min .. 24 h), one rule for
      // both profiles: a 0 must not mean a grant per call.
      return { value: data.access_token, lifetimeMs: data.expires_in * 1000 };
    });
  }

  const tokens = createCachedTokenSource({
    clock: options.clock,
    async grant() {
      if (refreshToken) {
        const refreshed = await tokenExchange(refreshToken);
        // A refused refresh (expired, rotated, revoked) is no reason to stop: the access key is
        // still good, so grant anew. An outage is: the password grant would fail the same way.
        if (refreshed.ok || refreshed.error.retryable) return refreshed;
        refreshToken = undefined;
      }
      return tokenExchange(undefined);
    },
  });

  /** The API host: configured, or the tenant's from discovery (looked up once). */
  function apiEndpoint(): Promise<CxoneResult<string>> {
    if (apiBase) return Promise.resolve({ ok: true, value: apiBase });
    apiDiscovering ??= discoverApi().finally(() => {
      apiDiscovering = undefined;
    });
    return apiDiscovering;
  }

  async function discoverApi(): Promise<CxoneResult<string>> {
    const token = await tokens.current();
    if (!token.ok) return token;
    const call = 'apiDiscovery';
    if (!tenantId) {
      return failure(
        call,
        'bad_response',
        `${call}: the access token carries no tenantId claim; set CXONE_API_ENDPOINT`,
      );
    }
    const answer = await caller.exchange({
      call: call,
      scope: scopeOf(call),
      url: `${issuer}${PLATFORM_PATHS.apiDiscovery}?tenantId=${encodeURIComponent(tenantId)}`,
      method: 'GET',
      headers: ACCEPT,
    });
    if (!answer.ok) return answer;
    if (answer.value.status < 200 || answer.value.status >= 300) {
      return {
        ok: false,
        error: caller.errorOf(
          call,
          answer.value,
          familyError(call, {
            404: { kind: 'rejected', hint: 'CXone knows no such tenant; set CXONE_API_ENDPOINT' },
          }),
        ),
      };
    }
    const parsed = parseBody(call, apiDiscoverySchema, answer.value.text, (doc) =>
      trustedUrl(call, doc.api_endpoint, 'api_endpoint'),
    );
    if (parsed.ok) apiBase = parsed.value;
    return parsed;
  }

  async function get<T>(
    call: PlatformCall,
    pathAndQuery: string,
    mapError: ErrorMapping,
    onOk: (answer: ApiAnswer) => CxoneResult<T>,
    init: { method?: 'GET' | 'PUT'; body?: string } = {},
  ): Promise<CxoneResult<T>> {
    const base = await apiEndpoint();
    if (!base.ok) return base;
    return caller.call<T>(
      {
        call: call,
        scope: scopeOf(call),
        auth: tokens,
        mapError,
        url: `${base.value}${pathAndQuery}`,
        method: init.method ?? 'GET',
        // GETs, and the Business Data PUT, which sets the same values again when repeated.
        idempotent: true,
        headers: init.body !== undefined ? { ...ACCEPT, 'content-type': 'application/json' } : ACCEPT,
        ...(init.body !== undefined ? { body: init.body } : {}),
      },
      onOk,
    );
  }

  return {
    async connect() {
      const base = await apiEndpoint();
      if (!base.ok) return base;
      // With CXONE_API_ENDPOINT set no token was needed yet: get one, so bad credentials show now.
      const token = await tokens.current();
      if (!token.ok) return token;
      return { ok: true, value: { apiEndpoint: base.value } };
    },

    completedContacts({ updatedSince, skip, top }) {
      const call = 'completedContacts';
      const query = new URLSearchParams({
        updatedSince,
        orderBy: 'lastUpdateTime asc',
        top: String(top),
        skip: String(skip),
      });
      return get(
        call,
        `${PLATFORM_PATHS.completedContacts}?${query}`,
        familyError(call, {}),
        ({ status, text }) => {
          // Documented (M): nothing matching is a 204 with no body.
          if (status === 204 || text.trim() === '') {
            return { ok: true, value: { contacts: [], refused: [], lastPollTime: null, more: false } };
          }
          return parseBody(call, completedContactsSchema, text, (page) => {
            const contacts: CompletedContact[] = [];
            const refused: CompletedContactsPage['refused'] = [];
            for (const [index, row] of page.completedContacts.entries()) {
              const contactId = parseContactId(row.contactId);
              if (!contactId) {
                refused.push({ index, reason: `completedContacts.${index}.contactId is not an int64 id` });
                continue;
              }
              const agentId = parseAgentId(row.agentId);
              if (
                agentId === null &&
                row.agentId !== null &&
                row.agentId !== undefined &&
                row.agentId !== 0 &&
                row.agentId !== '0'
              ) {
                refused.push({ index, reason: `completedContacts.${index}.agentId is not an int64 id` });
                continue;
              }
              const start = row.contactStartDate ? Date.parse(row.contactStartDate) : Number.NaN;
              const duration = row.totalDurationSeconds;
              const end =
                Number.isFinite(start) &&
                typeof duration === 'number' &&
                Number.isFinite(duration) &&
                duration >= 0
                  ? new Date(start + duration * 1000).toISOString()
                  : null;
              contacts.push({
                contactId,
                agentId,
                mediaTypeId: row.mediaTypeId ?? null,
                mediaTypeName: row.mediaTypeName ?? null,
                startTime: Number.isFinite(start) ? new Date(start).toISOString() : null,
                endTime: end,
                lastUpdateTime: row.lastUpdateTime ?? null,
              });
            }
            const rows = page.completedContacts.length;
            return {
              contacts,
              refused,
              lastPollTime: page.lastPollTime ?? null,
              more: Boolean(page._links?.next) || rows >= top,
            };
          });
        },
      );
    },

    contactMedia(contactId) {
      const call = 'contactMedia';
      const query = new URLSearchParams({
        'acd-call-id': contactId,
        'media-type': 'all',
        'exclude-waveforms': 'true',
      });
      const mapError = familyError(call, {
        404: { kind: 'not_ready', hint: 'nothing recorded for this contact yet' },
        403: {
          kind: 'forbidden',
          hint: 'the service employee may not view recordings and chats (Media Playback)',
        },
      });
      return get(call, `${PLATFORM_PATHS.contactMedia}?${query}`, mapError, ({ text }) =>
        parseBody(call, contactMediaSchema, text, (media) => {
          const interactions: ContactInteraction[] = [];
          for (const [i, interaction] of media.interactions.entries()) {
            const segments: ContactInteraction['segments'] = [];
            for (const [j, segment] of (interaction.data?.segmentsDataList ?? []).entries()) {
              const id =
                segment.segmentId === null || segment.segmentId === undefined
                  ? ''
                  : String(segment.segmentId);
              const problem = pathSegmentProblem(id);
              if (problem) {
                return failure(
                  call,
                  'bad_response',
                  `${call}: unexpected response shape at interactions.${i}.data.segmentsDataList.${j}.segmentId: ${problem}`,
                );
              }
              segments.push({
                segmentId: id,
                startTime: segment.startTime ?? null,
                endTime: segment.endTime ?? null,
              });
            }
            interactions.push({
              type: (interaction['@type'] ?? interaction.mediaType ?? '').toLowerCase(),
              channelType: interaction.channelType ?? null,
              segments,
              messages: interaction.data?.messages ?? null,
            });
          }
          return { ok: true, value: interactions };
        }),
      );
    },

    segmentTranscript(segmentId) {
      const call = 'segmentTranscript';
      const mapError = familyError(call, {
        404: { kind: 'not_ready', hint: 'segment not analysed yet' },
        403: {
          kind: 'forbidden',
          hint: 'the tenant has no Interaction Analytics licence, or the service employee lacks the IA permission',
        },
      });
      let path: string;
      try {
        path = PLATFORM_PATHS.segmentTranscript.replace('{segmentId}', pathSegment(segmentId));
      } catch (error) {
        return Promise.resolve(
          failure(call, 'bad_response', `${call}: segment id ${(error as Error).message}`),
        );
      }
      return get(call, path, mapError, ({ text }) =>
        parseBody(call, analyzedTranscriptSchema, text, (doc) => doc.transcriptBlocks),
      );
    },

    writeBusinessData(contactId, body) {
      const call = 'businessData';
      const id = parseContactId(contactId);
      if (!id)
        return Promise.resolve(failure(call, 'rejected', `${call}: '${contactId}' is not a contact id`));
      const mapError = familyError(call, {
        400: {
          kind: 'rejected',
          hint: 'check CXONE_BUSINESS_DATA_FIELDS against the tenant’s business data fields',
        },
        404: { kind: 'rejected', hint: 'CXone knows no such contact' },
        403: { kind: 'forbidden', hint: 'the service employee may not write business data' },
      });
      return get(
        call,
        PLATFORM_PATHS.businessData.replace('{contactId}', id),
        mapError,
        () => ({ ok: true, value: undefined }),
        { method: 'PUT', body: JSON.stringify(body) },
      );
    },

    pausedUntil: (family) => caller.pausedUntil(scopeOfFamily(family)),

    close: () => caller.close(),
  };
}

/** The OAuth error codes the token endpoint documents; only these are repeated in a message. */
const OAUTH_ERRORS = new Set([
  'invalid_request',
  'invalid_client',
  'invalid_grant',
  'unauthorized_client',
  'unsupported_grant_type',
  'invalid_scope',
]);

/**
 * The token endpoint refusing: which setting to check, from the OAuth error code. Nothing else of the
 * answer goes into the message: a token exchange's bodies carry credentials.
 */
function tokenRefused(refresh: boolean): ErrorMapping {
  return ({ status, text }) => {
    if (status !== 400 && status !== 401 && status !== 403) return undefined;
    let code = '';
    try {
      const error = (JSON.parse(text) as { error?: unknown }).error;
      if (typeof error === 'string' && OAUTH_ERRORS.has(error)) code = error;
    } catch {}
    const which =
      code === 'invalid_client' || code === 'unauthorized_client'
        ? 'the application (CXONE_CLIENT_ID / CXONE_CLIENT_SECRET)'
        : refresh
          ? 'the refresh token'
          : 'the access key (CXONE_ACCESS_KEY_ID / CXONE_ACCESS_KEY_SECRET)';
    return {
      kind: 'unauthorized',
      message: `token: CXone refused ${which} (HTTP ${status})${code ? `: ${code}` : ''}`,
    };
  };
}

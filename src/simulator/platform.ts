import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import type { HttpBindings } from '@hono/node-server';
import { type Context, Hono } from 'hono';
import { type Clock, systemClock } from '../clock.js';
import { parseContactId } from '../cxone/platform/ids.js';
import { FAMILY_OF, PLATFORM_PATHS, type PlatformCall } from '../cxone/platform/schemas.js';
import {
  type BaseCallLogEntry,
  createSimulatorMachinery,
  listenSimulator,
  type RunningSimulator,
} from './machinery.js';

/**
 * An in-memory NICE CXone speaking the documented APIs the platform profile uses (the developer
 * portal's descriptions): OIDC discovery, the password grant with HTTP Basic client authentication,
 * JWT access tokens carrying `tenantId`, the tenant's API host discovery, Reporting's completed
 * contacts (top/skip paging, 204 when nothing matches), Media Playback, Interaction Analytics'
 * analysed transcripts (404 until analysed) and the Business Data write. Each API family answers
 * errors with its own body, and 429s carry no Retry-After, as documented.
 *
 * The issuer routes are served at the root; the API routes under `apiPrefix`, which the tenant
 * discovery document names as `api_endpoint`: a client that skips discovery calls the wrong place.
 */

export type PlatformMediaKind = 'call' | 'chat' | 'email' | 'digital';

/** Reporting's media types (M: seen in several integrations). */
export const MEDIA_TYPES: Record<PlatformMediaKind, { id: number; name: string }> = {
  call: { id: 4, name: 'Call' },
  chat: { id: 3, name: 'Chat' },
  email: { id: 1, name: 'Email' },
  digital: { id: 9, name: 'Digital' },
};

/** One block of an IA transcript as the simulator keeps it. */
export interface PlatformSimBlock {
  /** `AGENT`, `CLIENT`, or anything else; sent as `userType`, and as `channelName` unless given. */
  side: string;
  channelName?: string;
  text: string;
  /** `voiceMetadata.startTime`/`endTime`: milliseconds from the segment's start, as assumed. */
  startMs?: number;
  endMs?: number;
}

export interface PlatformSimSegment {
  segmentId: string;
  /** ISO-8601 or epoch ms. */
  startTime: string | number;
  endTime: string | number;
  blocks: PlatformSimBlock[];
  /** Epoch ms; the analysed transcript answers 404 before this. Default: analysed at once. */
  analysedAt?: number;
}

export interface PlatformSimMessage {
  participantType: string;
  participantName?: string;
  text: string;
  /** ISO-8601 or epoch ms. */
  timeStamp: string | number;
}

export interface PlatformSimContact {
  /** int64 as a decimal string (may exceed 2^53: sent as an exact JSON number). */
  contactId: string;
  /** null or absent: no agent (Reporting sends `agentId: 0`). */
  agentId?: string | null;
  agentName?: string;
  media: PlatformMediaKind;
  /** ISO-8601 or epoch ms. */
  startTime: string | number;
  endTime: string | number;
  /** Calls: the recorded segments (none: the call was not recorded). */
  segments?: PlatformSimSegment[];
  /** Chats and digital contacts. */
  messages?: PlatformSimMessage[];
  /** Epoch ms; Media Playback answers 404 before this. Default: at once. */
  mediaAvailableAt?: number;
  skillName?: string;
}

export interface PlatformCallLogEntry extends BaseCallLogEntry<PlatformCall> {
  contactId?: string;
  segmentId?: string;
  /** Token calls: the grant asked for. */
  grantType?: string;
  /** Token calls: how the client authenticated. */
  clientAuth?: 'basic' | 'post' | 'none';
  /** The query string as received (completed contacts, media playback). */
  query?: Record<string, string>;
}

export interface BusinessDataWrite {
  contactId: string;
  /** The body's objects, as received. */
  body: Record<string, unknown>[];
  at: number;
}

export interface PlatformSimulatorOptions {
  clock?: Clock;
  accessKeyId?: string;
  accessKeySecret?: string;
  clientId?: string;
  clientSecret?: string;
  /** How the registered app must authenticate on the token call. Default `basic` (as discovery says). */
  clientAuth?: 'basic' | 'post' | 'either';
  tenantId?: string;
  businessUnitId?: number;
  tokenTtlSeconds?: number;
  refreshTokenTtlSeconds?: number;
  /** Where the API host's routes live; discovery's `api_endpoint` is the origin plus this. */
  apiPrefix?: string;
  /** false: the tenant has no Interaction Analytics licence (IA answers 403 with no body). */
  iaLicensed?: boolean;
  /** Business data fields the tenant defined; a write naming another is a 400. */
  businessDataFields?: string[];
  /** Largest `top` honoured. Default 1000. */
  pageSizeCap?: number;
  latencyMs?: number;
  preciseLatency?: boolean;
  /** Answers 429 (no Retry-After) once the simulator's sliding minute holds this many served calls. */
  rateLimitPerMinute?: number;
}

export const DEFAULT_BUSINESS_DATA_FIELDS = ['QA_Score', 'QA_Result', 'QA_Rubric', 'QA_Summary'];

function toMs(value: string | number): number {
  return typeof value === 'number' ? value : Date.parse(value);
}

function toIso(value: string | number): string {
  return new Date(toMs(value)).toISOString();
}

const RAW = '\u0000raw:';

/**
 * JSON with int64 ids written as exact number literals: `raw(id)` marks a digit string, and the
 * marker is replaced after stringifying. JSON.stringify of a number would already have lost digits.
 */
function raw(digits: string): string {
  return `${RAW}${digits}`;
}

function jsonWithRawNumbers(value: unknown): string {
  return JSON.stringify(value).replace(/"\\u0000raw:(-?\d+)"/g, '$1');
}

function base64url(input: string | Buffer): string {
  return Buffer.from(input).toString('base64url');
}

export function createPlatformSimulator(options: PlatformSimulatorOptions = {}) {
  const clock = options.clock ?? systemClock;
  const accessKeyId = options.accessKeyId ?? 'SIMACCESSKEY2X7Q';
  // Access key secrets hold `=`, `+` and `/`: the client must form-encode them.
  const accessKeySecret = options.accessKeySecret ?? 'sim+Secret/with=Padding==';
  const clientId = options.clientId ?? 'sim-app@tenant.example';
  const clientSecret = options.clientSecret ?? 'sim:app-secret';
  const clientAuth = options.clientAuth ?? 'basic';
  const tenantId = options.tenantId ?? '11111111-2222-4333-8444-555555555555';
  const businessUnitId = options.businessUnitId ?? 4600001;
  const tokenTtlSeconds = options.tokenTtlSeconds ?? 3600;
  const refreshTtlSeconds = options.refreshTokenTtlSeconds ?? 12 * 3600;
  const apiPrefix = (options.apiPrefix ?? '/na1').replace(/\/+$/, '');
  const pageSizeCap = options.pageSizeCap ?? 1000;
  const businessDataFields = new Set(options.businessDataFields ?? DEFAULT_BUSINESS_DATA_FIELDS);
  let iaLicensed = options.iaLicensed ?? true;
  const signingKey = randomBytes(32);

  const contacts = new Map<string, PlatformSimContact>();
  const segments = new Map<string, { contact: PlatformSimContact; segment: PlatformSimSegment }>();
  const accessTokens = new Map<string, { expiresAt: number }>();
  const refreshTokens = new Map<string, { expiresAt: number }>();
  const writes: BusinessDataWrite[] = [];
  const businessData = new Map<string, Record<string, unknown>>();
  let dropAfterCommit = 0;

  const nowIso = () => new Date(clock.now()).toISOString();

  /** The body each API family answers errors with (developer portal's error schemas). */
  function errorBody(call: PlatformCall, status: number, message: string, path = ''): unknown {
    switch (FAMILY_OF[call]) {
      case 'auth':
      case 'reporting':
        return {
          error: status === 429 ? 'TooManyRequests' : status >= 500 ? 'ServerError' : 'InvalidRequest',
          error_description: message,
        };
      case 'interactionAnalytics':
        if (status === 404) return { error: 'Not Found', path, status, timestamp: nowIso() };
        if (status === 401) return { message };
        return { statusCode: status, timestamp: nowIso(), message };
      case 'mediaPlayback':
        if (status === 429) return { message, route: PLATFORM_PATHS.contactMedia };
        return { internalCode: String(status), message };
      case 'businessData':
        if (status === 429) return { message, route: PLATFORM_PATHS.businessData };
        if (status === 401)
          return { error: 'Unauthorized', path, status: String(status), timestamp: nowIso() };
        return {
          code: String(status),
          details: message,
          entityType: 'contact',
          errors: null,
          hostName: 'bdm',
        };
    }
  }

  const machinery = createSimulatorMachinery<PlatformCall, PlatformCallLogEntry>({
    clock,
    ...(options.latencyMs !== undefined ? { latencyMs: options.latencyMs } : {}),
    ...(options.preciseLatency !== undefined ? { preciseLatency: options.preciseLatency } : {}),
    ...(options.rateLimitPerMinute !== undefined ? { rateLimitPerMinute: options.rateLimitPerMinute } : {}),
    // Documented 429s carry no Retry-After: the client has to back off on its own.
    rateLimited: (c, call) => c.json(errorBody(call, 429, 'Too Many Requests', c.req.path) as object, 429),
    failureBody: (call, status) => errorBody(call, status, `Injected failure ${status}`),
  });
  const { untilClientCloses } = machinery;

  function bearer(call: PlatformCall) {
    return (c: Context): Response | undefined => {
      const match = /^Bearer (.+)$/.exec(c.req.header('authorization') ?? '');
      const held = match ? accessTokens.get(match[1]!) : undefined;
      if (!held || held.expiresAt <= clock.now()) {
        return c.json(
          errorBody(call, 401, 'The access token is missing, expired or revoked', c.req.path) as object,
          401,
        );
      }
      return undefined;
    };
  }

  function handle(
    call: PlatformCall,
    authenticated: boolean,
    describe: (c: Context) => Partial<PlatformCallLogEntry>,
    handler: (c: Context, entry: PlatformCallLogEntry) => Promise<Response> | Response,
  ) {
    return machinery.handle(call, authenticated ? bearer(call) : undefined, describe, handler);
  }

  function sendJson(c: Context, body: unknown, status = 200): Response {
    return c.body(jsonWithRawNumbers(body), status as 200, { 'content-type': 'application/json' });
  }

  const app = new Hono<{ Bindings: HttpBindings }>();
  const origin = (c: Context) => new URL(c.req.url).origin;

  // ---- Issuer: discovery, token, tenant configuration ------------------------------------------

  app.get(
    PLATFORM_PATHS.oidcDiscovery,
    handle(
      'oidcDiscovery',
      false,
      () => ({}),
      (c) =>
        c.json({
          issuer: origin(c),
          authorization_endpoint: `${origin(c)}/auth/authorize`,
          token_endpoint: `${origin(c)}/auth/token`,
          end_session_endpoint: `${origin(c)}/auth/logout`,
          token_endpoint_auth_methods_supported:
            clientAuth === 'post' ? ['client_secret_post'] : ['client_secret_basic'],
          id_token_signing_alg_values_supported: ['RS256'],
          response_types_supported: ['code'],
          scopes_supported: ['openid'],
          subject_types_supported: ['public'],
        }),
    ),
  );

  function issueTokens(c: Context): Response {
    const now = clock.now();
    const iat = Math.floor(now / 1000);
    const claims = {
      iss: origin(c),
      sub: `user:${accessKeyId}`,
      aud: clientId,
      iat,
      exp: iat + tokenTtlSeconds,
      tenantId,
      icBUId: businessUnitId,
      icClusterId: 'NA1',
      area: 'na1',
      role: { legacyId: 'Administrator' },
    };
    const header = base64url(JSON.stringify({ alg: 'HS256', typ: 'JWT', kid: 'sim' }));
    const payload = base64url(JSON.stringify(claims));
    const signature = createHmac('sha256', signingKey).update(`${header}.${payload}`).digest('base64url');
    const accessToken = `${header}.${payload}.${signature}`;
    const refreshToken = randomBytes(24).toString('base64url');
    accessTokens.set(accessToken, { expiresAt: now + tokenTtlSeconds * 1000 });
    refreshTokens.set(refreshToken, { expiresAt: now + refreshTtlSeconds * 1000 });
    const idToken = `${header}.${base64url(JSON.stringify({ ...claims, name: 'QA Service' }))}.${signature}`;
    return c.json(
      {
        access_token: accessToken,
        token_type: 'Bearer',
        expires_in: tokenTtlSeconds,
        refresh_token: refreshToken,
        id_token: idToken,
        issued_token_type: 'urn:ietf:params:oauth:token-type:access_token',
      },
      200,
      { 'cache-control': 'no-store', pragma: 'no-cache' },
    );
  }

  /** The client as authenticated: Basic (id:secret, either raw or form-encoded as RFC 6749 says) or body. */
  function clientOf(
    c: Context,
    form: URLSearchParams,
  ): { how: 'basic' | 'post' | 'none'; ok: boolean; id?: string } {
    const header = c.req.header('authorization') ?? '';
    const basic = /^Basic ([A-Za-z0-9+/=]+)$/.exec(header);
    if (basic) {
      const decoded = Buffer.from(basic[1]!, 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      const id = decoded.slice(0, colon);
      const secret = decoded.slice(colon + 1);
      const formDecode = (s: string) => {
        try {
          return decodeURIComponent(s.replace(/\+/g, ' '));
        } catch {
          return s;
        }
      };
      const ok =
        colon >= 0 &&
        ((id === clientId && secret === clientSecret) ||
          (formDecode(id) === clientId && formDecode(secret) === clientSecret));
      return { how: 'basic', ok, id: ok ? clientId : id };
    }
    if (form.has('client_secret')) {
      const ok = form.get('client_id') === clientId && form.get('client_secret') === clientSecret;
      return { how: 'post', ok, id: form.get('client_id') ?? '' };
    }
    return { how: 'none', ok: false, ...(form.has('client_id') ? { id: form.get('client_id')! } : {}) };
  }

  app.post(
    '/auth/token',
    handle(
      'token',
      false,
      () => ({}),
      async (c, entry) => {
        const form = new URLSearchParams(await c.req.text());
        const grant = form.get('grant_type') ?? '';
        entry.grantType = grant;
        const client = clientOf(c, form);
        entry.clientAuth = client.how;
        const refuse = (error: string, description: string) =>
          c.json({ error, error_description: description }, 400, {
            'cache-control': 'no-store',
            pragma: 'no-cache',
          });
        if (grant === 'password') {
          const allowed = clientAuth === 'either' || client.how === clientAuth;
          if (!client.ok || !allowed) return refuse('invalid_client', 'Client authentication failed');
          if (form.get('username') !== accessKeyId || form.get('password') !== accessKeySecret) {
            return refuse('invalid_grant', 'Invalid access key');
          }
          return issueTokens(c);
        }
        if (grant === 'refresh_token') {
          // The refresh grant names the client; a confidential client may authenticate too.
          const id = client.how === 'none' ? form.get('client_id') : client.id;
          if (id !== clientId || (client.how !== 'none' && !client.ok)) {
            return refuse('invalid_client', 'Unknown client');
          }
          const token = form.get('refresh_token') ?? '';
          const held = refreshTokens.get(token);
          if (!held || held.expiresAt <= clock.now()) return refuse('invalid_grant', 'Refresh token expired');
          // Rotation: a refresh token is good once.
          refreshTokens.delete(token);
          return issueTokens(c);
        }
        return refuse('unsupported_grant_type', `grant_type '${grant}' is not supported`);
      },
    ),
  );

  app.get(
    PLATFORM_PATHS.apiDiscovery,
    handle(
      'apiDiscovery',
      false,
      (c) => ({ query: c.req.query() }),
      (c) => {
        if (c.req.query('tenantId') !== tenantId) return c.body(null, 404);
        const o = origin(c);
        return c.json({
          private: false,
          ui_endpoint: `${o}/ui`,
          auth_endpoint: o,
          api_endpoint: `${o}${apiPrefix}`,
          region: 'na1',
          area: 'na1',
          cluster: 'NA1',
          domain: 'niceincontact.com',
          uhDomain: 'nice-incontact.com',
          acdDomain: 'nice-incontact.com',
          tenantId,
        });
      },
    ),
  );

  // ---- Reporting: completed contacts ------------------------------------------------------------

  /** When the contact last changed: its end, or when its last segment was analysed (if by now). */
  function lastUpdateOf(contact: PlatformSimContact, now: number): number {
    let at = toMs(contact.endTime);
    for (const s of contact.segments ?? []) {
      if (s.analysedAt !== undefined && s.analysedAt <= now) at = Math.max(at, s.analysedAt);
    }
    return at;
  }

  function analysedBy(contact: PlatformSimContact, now: number): number | null {
    const list = contact.segments ?? [];
    if (list.length === 0) return null;
    let at = toMs(contact.endTime);
    for (const s of list) {
      const a = s.analysedAt ?? toMs(contact.endTime);
      if (a > now) return null;
      at = Math.max(at, a);
    }
    return at;
  }

  const compareIds = (a: string, b: string) => (BigInt(a) < BigInt(b) ? -1 : BigInt(a) > BigInt(b) ? 1 : 0);

  app.get(
    apiPrefix + PLATFORM_PATHS.completedContacts,
    handle(
      'completedContacts',
      true,
      (c) => ({ query: c.req.query() }),
      (c) => {
        const q = c.req.query();
        const bad = (message: string) => c.json({ error: 'InvalidRequest', error_description: message }, 400);
        const dateParam = (name: string): number | null | 'bad' => {
          const v = q[name];
          if (v === undefined || v === '') return null;
          const ms = Date.parse(v);
          return Number.isFinite(ms) ? ms : 'bad';
        };
        const updatedSince = dateParam('updatedSince');
        const startDate = dateParam('startDate');
        const endDate = dateParam('endDate');
        for (const [name, v] of [
          ['updatedSince', updatedSince],
          ['startDate', startDate],
          ['endDate', endDate],
        ] as const) {
          if (v === 'bad') return bad(`${name} is not a valid date-time`);
        }
        const intParam = (name: string, fallback: number): number | 'bad' => {
          const v = q[name];
          if (v === undefined || v === '') return fallback;
          return /^\d+$/.test(v) ? Number(v) : 'bad';
        };
        const top = intParam('top', 100);
        const skip = intParam('skip', 0);
        if (top === 'bad' || top < 1) return bad('top must be a positive integer');
        if (skip === 'bad') return bad('skip must be a non-negative integer');
        const orderBy = (q.orderBy ?? 'contactId asc').trim();
        const order = /^(lastUpdateTime|contactId|contactStartDate)(?:\s+(asc|desc))?$/i.exec(orderBy);
        if (!order) return bad(`orderBy '${orderBy}' is not supported`);
        const mediaTypeId = q.mediaTypeId !== undefined ? Number(q.mediaTypeId) : undefined;

        const now = clock.now();
        const rows = [...contacts.values()]
          .filter((contact) => toMs(contact.endTime) <= now)
          .map((contact) => ({ contact, updated: lastUpdateOf(contact, now) }))
          .filter(({ contact, updated }) => {
            const start = toMs(contact.startTime);
            if (typeof updatedSince === 'number' && !(updated > updatedSince)) return false;
            if (typeof startDate === 'number' && start < startDate) return false;
            if (typeof endDate === 'number' && start >= endDate) return false;
            if (mediaTypeId !== undefined && MEDIA_TYPES[contact.media].id !== mediaTypeId) return false;
            if (q.agentId !== undefined && (contact.agentId ?? '0') !== q.agentId) return false;
            return true;
          });
        const field = order[1]!.toLowerCase();
        const dir = (order[2] ?? 'asc').toLowerCase() === 'desc' ? -1 : 1;
        rows.sort((a, b) => {
          const byId = compareIds(a.contact.contactId, b.contact.contactId);
          const key =
            field === 'lastupdatetime'
              ? a.updated - b.updated
              : field === 'contactstartdate'
                ? toMs(a.contact.startTime) - toMs(b.contact.startTime)
                : 0;
          return dir * (key || byId);
        });
        const size = Math.min(top, pageSizeCap);
        const page = rows.slice(skip, skip + size);
        // Documented (M): nothing matching is a 204 with no body at all.
        if (page.length === 0) return c.body(null, 204);
        const self = new URL(c.req.url);
        const links: Record<string, string> = { self: self.toString() };
        if (skip + size < rows.length) {
          const next = new URL(self);
          next.searchParams.set('skip', String(skip + size));
          next.searchParams.set('top', String(size));
          links.next = next.toString();
        }
        return sendJson(c, {
          businessUnitId,
          lastPollTime: new Date(now).toISOString(),
          totalRecords: rows.length,
          _links: links,
          completedContacts: page.map(({ contact, updated }) => {
            const processed = analysedBy(contact, now);
            const start = toMs(contact.startTime);
            return {
              contactId: raw(contact.contactId),
              masterContactId: raw(contact.contactId),
              agentId: raw(contact.agentId ?? '0'),
              firstName: contact.agentName ?? '',
              mediaTypeId: MEDIA_TYPES[contact.media].id,
              mediaTypeName: MEDIA_TYPES[contact.media].name,
              contactStartDate: new Date(start).toISOString(),
              lastUpdateTime: new Date(updated).toISOString(),
              totalDurationSeconds: Math.max(0, (toMs(contact.endTime) - start) / 1000),
              isAnalyticsProcessed: processed !== null,
              ...(processed !== null ? { analyticsProcessedDate: new Date(processed).toISOString() } : {}),
              skillName: contact.skillName ?? 'Support',
              isOutbound: false,
              abandoned: false,
            };
          }),
        });
      },
    ),
  );

  // ---- Media Playback ---------------------------------------------------------------------------

  function interactionOf(contact: PlatformSimContact) {
    const start = toIso(contact.startTime);
    const end = toIso(contact.endTime);
    const segmentList = (contact.segments ?? []).map((s, i) => ({
      segmentId: s.segmentId,
      startTime: toIso(s.startTime),
      endTime: toIso(s.endTime),
      channelType: contact.media === 'call' ? 'PHONE_CALL' : 'CHAT',
      directionType: 'INBOUND',
      firstSegment: i === 0,
      openReasonType: i === 0 ? 'CONTACT' : 'TRANSFER',
      closeReasonType: i === (contact.segments ?? []).length - 1 ? 'CONTACT' : 'TRANSFER',
    }));
    switch (contact.media) {
      case 'call':
        return {
          '@type': 'call',
          channelType: 'PHONE_CALL',
          mediaType: 'voice-only',
          startTime: start,
          endTime: end,
          callTaggingList: null,
          dynamicBusinessData: null,
          data: {
            startTime: start,
            endTime: end,
            fileToPlayUrl: `https://media.invalid/${contact.contactId}.mp4`,
            participantDataList: (contact.segments ?? []).flatMap((s) => [
              {
                participantType: 'AGENT',
                agentName: contact.agentName ?? 'Agent',
                channel: 0,
                segmentId: s.segmentId,
              },
              { participantType: 'CUSTOMER', channel: 1, segmentId: s.segmentId },
            ]),
            segmentsDataList: segmentList,
            sentiments: [],
            categoryMatchesList: [],
          },
        };
      case 'chat':
      case 'digital':
        return {
          '@type': 'chat',
          channelType: contact.media === 'chat' ? 'CHAT' : 'WHATSAPP_PRIVATE',
          mediaType: 'chat',
          startTime: start,
          endTime: end,
          data: {
            startTime: start,
            endTime: end,
            participants: [
              { participantType: 'AGENT', participantName: contact.agentName ?? 'Agent' },
              { participantType: 'CUSTOMER', participantName: 'Customer' },
            ],
            messages: (contact.messages ?? []).map((m) => ({
              participantType: m.participantType,
              participantName: m.participantName ?? (m.participantType === 'AGENT' ? 'Agent' : 'Customer'),
              text: m.text,
              timeStamp: toIso(m.timeStamp),
            })),
            segmentsDataList: segmentList,
          },
        };
      case 'email':
        return {
          '@type': 'email',
          channelType: 'EMAIL',
          mediaType: 'email',
          startTime: start,
          endTime: end,
          data: {
            startTime: start,
            endTime: end,
            content: [{ from: 'customer@example.com', subject: 'Question', body: 'Hello', sentTime: start }],
            participants: [{ participantType: 'CUSTOMER', participantName: 'Customer' }],
          },
        };
    }
  }

  app.get(
    `${apiPrefix}${PLATFORM_PATHS.contactMedia}`,
    handle(
      'contactMedia',
      true,
      (c) => ({ query: c.req.query(), contactId: c.req.query('acd-call-id') ?? '' }),
      (c) => {
        const id = parseContactId(c.req.query('acd-call-id'));
        if (!id) return c.json({ internalCode: '400', message: 'acd-call-id must be a contact id' }, 400);
        const contact = contacts.get(id);
        const now = clock.now();
        if (!contact || toMs(contact.endTime) > now) {
          return c.json({ internalCode: '404', message: `No contact found for acd-call-id ${id}` }, 404);
        }
        if (contact.mediaAvailableAt !== undefined && now < contact.mediaAvailableAt) {
          return c.json(
            { internalCode: '404', message: `Media for contact ${id} is not available yet` },
            404,
          );
        }
        return sendJson(c, {
          contactId: randomUUID(),
          acdcontactId: contact.contactId,
          elevatedInteraction: false,
          interactions: [interactionOf(contact)],
        });
      },
    ),
  );

  // ---- Interaction Analytics --------------------------------------------------------------------

  app.get(
    apiPrefix + PLATFORM_PATHS.segmentTranscript.replace('{segmentId}', ':segmentId'),
    handle(
      'segmentTranscript',
      true,
      (c) => ({ segmentId: c.req.param('segmentId') ?? '' }),
      (c) => {
        // No licence: the gateway refuses with an empty 403, as documented.
        if (!iaLicensed) return c.body(null, 403);
        const found = segments.get(c.req.param('segmentId') ?? '');
        const now = clock.now();
        if (!found || toMs(found.contact.endTime) > now) {
          return c.json(errorBody('segmentTranscript', 404, '', c.req.path) as object, 404);
        }
        const { contact, segment } = found;
        if ((segment.analysedAt ?? toMs(contact.endTime)) > now) {
          return c.json(errorBody('segmentTranscript', 404, '', c.req.path) as object, 404);
        }
        let offset = 0;
        return c.json({
          annotatedDateTime: new Date(segment.analysedAt ?? toMs(contact.endTime)).toISOString(),
          language: 'en-US',
          type: 'voice',
          recordSource: 'NICE',
          fromInterwovenTranscript: false,
          metrics: {},
          segmentSummary: {},
          transcriptBlocks: segment.blocks.map((b, i) => {
            const block = {
              blockId: i,
              channelId: b.side === 'AGENT' ? 0 : 1,
              channelName: b.channelName ?? b.side,
              channelType: 'voice',
              userType: b.side,
              text: b.text,
              offset,
              length: b.text.length,
              ...(b.startMs !== undefined
                ? { voiceMetadata: { startTime: b.startMs, endTime: b.endMs ?? b.startMs, confidence: 92 } }
                : {}),
            };
            offset += b.text.length + 1;
            return block;
          }),
        });
      },
    ),
  );

  // ---- Business Data ----------------------------------------------------------------------------

  app.put(
    apiPrefix + PLATFORM_PATHS.businessData.replace('{contactId}', ':contactId'),
    handle(
      'businessData',
      true,
      (c) => ({ contactId: c.req.param('contactId') ?? '' }),
      async (c, entry) => {
        const fieldError = (status: 400 | 404, field: string, errorCode: string, message: string) =>
          c.json(
            {
              code: String(status),
              details: message,
              entityType: 'contact',
              errors: { [field]: { errorCode, message } },
              hostName: 'bdm',
            },
            status,
          );
        const id = parseContactId(c.req.param('contactId'));
        if (!id || !contacts.has(id)) {
          return fieldError(404, 'contactId', 'NOT_FOUND', `Contact ${c.req.param('contactId')} not found`);
        }
        let body: unknown;
        try {
          body = JSON.parse(await c.req.text());
        } catch {
          return fieldError(400, 'body', 'INVALID_JSON', 'Body must be JSON');
        }
        if (!Array.isArray(body) || body.length === 0 || !body.every((o) => o && typeof o === 'object')) {
          return fieldError(400, 'body', 'INVALID_BODY', 'Body must be a non-empty array of objects');
        }
        for (const object of body as Record<string, unknown>[]) {
          for (const [name, value] of Object.entries(object)) {
            if (!businessDataFields.has(name)) {
              return fieldError(
                400,
                'businessDataName',
                'UNKNOWN_FIELD',
                `Business data '${name}' is not defined`,
              );
            }
            if (typeof value !== 'string') {
              return fieldError(
                400,
                'businessDataName',
                'INVALID_VALUE',
                `Business data '${name}' must be text`,
              );
            }
          }
        }
        const objects = body as Record<string, unknown>[];
        writes.push({ contactId: id, body: objects, at: clock.now() });
        businessData.set(id, Object.assign(businessData.get(id) ?? {}, ...objects));
        if (dropAfterCommit > 0) {
          // The lost-answer case: written, but the client never hears about it.
          dropAfterCommit--;
          entry.dropped = true;
          (c.env as HttpBindings | undefined)?.incoming?.socket?.destroy();
          return untilClientCloses(c, entry);
        }
        return c.body(null, 204);
      },
    ),
  );

  return {
    app,
    accessKeyId,
    accessKeySecret,
    clientId,
    clientSecret,
    tenantId,
    apiPrefix,

    listen(port = 0): Promise<RunningSimulator> {
      return listenSimulator(app, port);
    },

    addContact(contact: PlatformSimContact): void {
      const id = parseContactId(contact.contactId);
      if (!id) throw new Error(`contactId ${contact.contactId} is not an int64`);
      const copy: PlatformSimContact = {
        ...contact,
        contactId: id,
        ...(contact.segments
          ? { segments: contact.segments.map((s) => ({ ...s, blocks: [...s.blocks] })) }
          : {}),
        ...(contact.messages ? { messages: [...contact.messages] } : {}),
      };
      contacts.set(id, copy);
      for (const segment of copy.segments ?? []) segments.set(segment.segmentId, { contact: copy, segment });
    },
    get contacts(): PlatformSimContact[] {
      return [...contacts.values()];
    },
    /** The segment's transcript becomes available at `at` (default now). */
    analyseSegment(segmentId: string, at = clock.now()): void {
      const found = segments.get(segmentId);
      if (!found) throw new Error(`no segment ${segmentId}`);
      found.segment.analysedAt = at;
    },
    setIaLicensed(licensed: boolean): void {
      iaLicensed = licensed;
    },

    /** Every Business Data write received, in order, whatever its answer. */
    get businessDataWrites(): BusinessDataWrite[] {
      return [...writes];
    },
    writesFor(contactId: string): BusinessDataWrite[] {
      return writes.filter((w) => w.contactId === contactId);
    },
    /** The contact's business data as it stands after every write. */
    businessDataOf(contactId: string): Record<string, unknown> | undefined {
      return businessData.get(contactId);
    },
    /** The next `count` writes are stored, then the socket is destroyed unanswered. */
    dropResponseAfterCommitNext(count = 1): void {
      dropAfterCommit += count;
    },

    get callLog(): PlatformCallLogEntry[] {
      return machinery.callLog;
    },
    callsOf(call: PlatformCall, id?: string): PlatformCallLogEntry[] {
      return machinery.callLog.filter(
        (e) => e.call === call && (id === undefined || e.contactId === id || e.segmentId === id),
      );
    },
    maxCallsInAnyWindow(windowMs?: number): number {
      return machinery.maxCallsInAnyWindow(windowMs);
    },
    /** Access tokens issued so far stop working (refresh tokens still do). */
    revokeTokens(): void {
      accessTokens.clear();
    },
    /** Refresh tokens issued so far stop working: only a new password grant helps. */
    revokeRefreshTokens(): void {
      refreshTokens.clear();
    },
    /** Successful token answers (password and refresh grants). */
    get tokensIssued(): number {
      return machinery.callLog.filter((e) => e.call === 'token' && e.status === 200).length;
    },
    failNext: machinery.failNext,
    hangNext: machinery.hangNext,
    setLatency: machinery.setLatency,
  };
}

export type PlatformSimulator = ReturnType<typeof createPlatformSimulator>;

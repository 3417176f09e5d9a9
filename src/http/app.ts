/**
 * The HTTP surfaces, as Hono apps that never listen (src/http/server.ts does), so tests drive them
 * through `app.request()`:
 *
 * - createApp: the public app, what must face the internet: the webhook receiver (`/webhooks/*`) and
 *   the health probes.
 * - createAdminApp: everything else (the console, the results API, /metrics are mounted on it by the
 *   service wiring) and the health probes. With ADMIN_PORT it listens on its own address, so none of it
 *   has to be reachable from where the webhooks come from; without, both share PORT.
 *
 * The webhook route follows one order, and each step refuses before the next runs:
 *   accepting? -> declared size -> content type -> headers (presence, timestamp window, a signature
 *   that parses) -> read raw bytes once, within the bytes-in-flight budget -> verify the HMAC ->
 *   JSON.parse -> validate shape -> sink.record (resolves after the commit) -> answer.
 * Nothing is read before the headers hold, nothing is parsed before the signature holds, and nothing
 * is answered 2xx before it is durable.
 */
import type { Context } from 'hono';
import { Hono } from 'hono';
import type { Logger } from 'pino';
import type { Clock } from '../clock.js';
import { parseJsonKeepingBigIntegers } from '../cxone/platform/json.js';
import type { EventSink, RecordOutcome } from '../events.js';
import { InflightBytes, InflightShare } from './inflight.js';
import { isJsonContentType, rawInputOf } from './raw-body.js';
import { createResponder, type ErrorCode, type Responder } from './respond.js';
import { checkSignatureHeaders, type SignatureFailure, verifyBodySignature } from './signature.js';
import { parseStudioBody, STUDIO_WEBHOOK_PATH, verifyStudioBearer } from './studio.js';
import { parseWebhookBody } from './webhook-schema.js';

export { type ErrorCode, statusForCode } from './respond.js';

/** Whether the store can take a write right now (src/store/db.ts probeWrite answers it). */
export type StoreCheck = () => Promise<{ ok: true } | { ok: false; reason: string }>;

/** What /healthz and /readyz look at; the same on both listeners. */
export interface HealthOptions {
  clock: Clock;
  log: Logger;
  /** True once the database is migrated and the QM form is read. */
  isReady: () => boolean;
  /** False while shutting down: new webhooks get 503 so the sender retries against the next process. */
  isAccepting?: () => boolean;
  /** When given, /readyz is 503 while the store cannot write (locked by another process, disk full). */
  storeWritable?: StoreCheck;
}

export interface CreateAppOptions extends HealthOptions {
  sink: EventSink;
  webhookKeys: Buffer[];
  /** Largest accepted webhook body, in bytes. */
  maxBodyBytes?: number;
  /** Request-body bytes held at once across all requests; past it, 503 with Retry-After. */
  inflight?: InflightBytes;
  /**
   * The Studio push (platform profile): digests of STUDIO_WEBHOOK_TOKEN's tokens (parseStudioTokens).
   * Unset: the route is not served.
   */
  studioTokens?: Buffer[];
  /**
   * Hears how each webhook request ended (metrics, the signature watch): `accepted`, `duplicate`, or
   * the error code it was refused with; for a refused signature, also why. Must not throw.
   */
  onWebhook?: (outcome: WebhookOutcome, signatureFailure?: SignatureFailure) => void;
}

/** How a webhook request ended: accepted, a duplicate, or the code it was refused with. */
export type WebhookOutcome = 'accepted' | 'duplicate' | ErrorCode;

export const DEFAULT_MAX_BODY_BYTES = 256 * 1024;
export const DEFAULT_MAX_BYTES_IN_FLIGHT = 16 * 1024 * 1024;
/** Everything under this prefix is the public listener's; everything else the admin listener's. */
export const PUBLIC_PREFIX = '/webhooks';
export const WEBHOOK_PATH = `${PUBLIC_PREFIX}/cxone`;
const MAX_WEBHOOK_ID = 200;
// Seconds a sender should wait after a 503 that says nothing about how long the cause lasts: long
// enough for a burst to drain or a lock to go, short enough that nothing waits on us for long.
const RETRY_AFTER_SECONDS = '5';

const SIGNATURE_MESSAGES: Record<SignatureFailure, string> = {
  missing_headers: 'webhook-id, webhook-timestamp and webhook-signature headers are required',
  bad_timestamp: 'webhook-timestamp is not a Unix time in seconds',
  stale: 'webhook-timestamp is more than 5 minutes in the past',
  future: 'webhook-timestamp is more than 5 minutes in the future',
  no_match: 'no webhook-signature matches',
};

// Fatal: a body that is not UTF-8 is refused rather than stored with replacement characters.
const utf8 = new TextDecoder('utf-8', { fatal: true });

/** The public app: POST /webhooks/cxone and the probes. Other `/webhooks/*` routes may be added to it. */
export function createApp(options: CreateAppOptions): Hono {
  const { sink, webhookKeys, clock, log } = options;
  const isAccepting = options.isAccepting ?? (() => true);
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const inflight = options.inflight ?? new InflightBytes(DEFAULT_MAX_BYTES_IN_FLIGHT);
  const app = new Hono();
  const r = createResponder(clock, log);
  // The webhook route's own responder: it tells onWebhook how each request ended.
  const { begin, finish, fail } = createResponder(clock, log, (state) => {
    if (options.onWebhook) reportWebhook(state.outcome, options.onWebhook);
  });

  /** What both ingest routes answer once the store has had its say (recorded, duplicate or busy). */
  const answerRecorded = (c: Context, state: Parameters<typeof finish>[1], outcome: RecordOutcome) => {
    // Another process held the database for longer than a webhook should wait: expected, not an
    // error to log (the request's line says it), and nothing was recorded.
    if (outcome === 'busy') {
      return fail(c, state, 'store_busy', 'the database is busy; retry later', {
        'retry-after': RETRY_AFTER_SECONDS,
      });
    }
    state.outcome = outcome;
    return outcome === 'duplicate'
      ? finish(c, state, 200, { status: 'duplicate' })
      : finish(c, state, 202, { status: 'accepted' });
  };

  app.post(WEBHOOK_PATH, async (c) => {
    const state = begin();
    // `Connection: close` so the sender's retry opens a connection to whichever process takes over.
    if (!isAccepting()) {
      return fail(c, state, 'shutting_down', 'the service is shutting down; retry later', {
        connection: 'close',
      });
    }

    // Content-Length first, so an honest oversized body is refused without reading a byte of it.
    // `Connection: close` on every refusal from here until the body is read: the rest of that body may
    // still be on its way, and closing is cheaper than draining it.
    const close = { connection: 'close' };
    const tooLarge = `body is larger than ${maxBodyBytes} bytes`;
    const input = rawInputOf(c);
    const declaredHeader = input.header('content-length');
    const declared = declaredHeader === undefined ? undefined : Number(declaredHeader);
    if (declared !== undefined && declared > maxBodyBytes) {
      return fail(c, state, 'payload_too_large', tooLarge, close);
    }
    if (!isJsonContentType(input.header('content-type'))) {
      return fail(c, state, 'unsupported_media_type', 'Content-Type must be application/json', close);
    }

    // Everything the headers can tell, before the body costs memory: a stale, unsigned or garbled
    // request is refused without reading it.
    const webhookId = input.header('webhook-id');
    if (webhookId) state.webhookId = webhookId.slice(0, MAX_WEBHOOK_ID);
    const headers = checkSignatureHeaders({
      webhookId,
      timestamp: input.header('webhook-timestamp'),
      signatureHeader: input.header('webhook-signature'),
      nowSeconds: Math.floor(clock.now() / 1000),
    });
    if (!headers.ok) {
      state.outcome = `signature_${headers.reason}`;
      return fail(c, state, 'invalid_signature', SIGNATURE_MESSAGES[headers.reason], close);
    }
    // The webhook-id is the deduplication key the store keeps; bound it like the body's ids.
    if (headers.webhookId.length > MAX_WEBHOOK_ID) {
      const message = `webhook-id must be at most ${MAX_WEBHOOK_ID} characters`;
      return fail(c, state, 'invalid_webhook_id', message, close);
    }

    const share = new InflightShare(inflight);
    try {
      const overloaded = () =>
        fail(c, state, 'overloaded', 'too many request bytes in flight; retry later', {
          ...close,
          'retry-after': RETRY_AFTER_SECONDS,
        });
      // A declared length is taken up front, so an honest request past the budget is refused unread.
      if (declared !== undefined && !share.growTo(declared)) return overloaded();

      // The exact bytes, read once: the signature is over them, and they are what gets stored.
      let rawBody: Awaited<ReturnType<typeof input.readBody>>;
      try {
        rawBody = await input.readBody(maxBodyBytes, (total) => share.growTo(total));
      } catch {
        // The client went away mid-body: nobody reads this answer, but the log line should say so
        // instead of reporting a server error.
        return fail(c, state, 'request_aborted', 'the request body ended early');
      }
      if (rawBody === 'too_large') return fail(c, state, 'payload_too_large', tooLarge, close);
      if (rawBody === 'refused') return overloaded();

      const verdict = verifyBodySignature(webhookKeys, headers, rawBody);
      if (!verdict.ok) {
        state.outcome = `signature_${verdict.reason}`;
        return fail(c, state, 'invalid_signature', SIGNATURE_MESSAGES[verdict.reason]);
      }

      let text: string;
      let json: unknown;
      try {
        text = utf8.decode(rawBody);
        json = JSON.parse(text);
      } catch {
        return fail(c, state, 'invalid_json', 'body is not valid UTF-8 JSON');
      }
      const parsed = parseWebhookBody(json);
      if (!parsed.ok) return fail(c, state, 'invalid_body', parsed.reason);
      state.eventType = parsed.event.type;

      let outcome: RecordOutcome;
      try {
        outcome = await sink.record({
          webhookId: headers.webhookId,
          event: parsed.event,
          rawBody: text,
          receivedAt: clock.now(),
        });
      } catch (err) {
        // Database trouble: 503 makes the sender retry later, and the webhook-id keeps that retry
        // from being recorded twice should this attempt have committed after all.
        log.error(
          { err, reqId: state.reqId, webhookId: state.webhookId, eventType: state.eventType },
          'recording webhook failed',
        );
        return fail(c, state, 'store_unavailable', 'the event could not be stored; retry later', {
          'retry-after': RETRY_AFTER_SECONDS,
        });
      }
      return answerRecorded(c, state, outcome);
    } finally {
      share.release();
    }
  });

  app.all(WEBHOOK_PATH, (c) =>
    fail(c, begin(), 'method_not_allowed', `${c.req.method} is not allowed here; use POST`, {
      allow: 'POST',
    }),
  );

  if (options.studioTokens) {
    const tokens = options.studioTokens;
    /**
     * The Studio push: accepting? -> bearer token (before a byte of the body is read) -> size ->
     * raw bytes (within the in-flight budget) -> JSON -> shape -> record as the contact's
     * `conversation.ended`, keyed `studio:{contactId}` so Studio's own retries and any repeat change
     * nothing -> answer after the commit. Any Content-Type is read as JSON: Studio's REST action does
     * not always send one.
     */
    app.post(STUDIO_WEBHOOK_PATH, async (c) => {
      const state = begin();
      const close = { connection: 'close' };
      if (!isAccepting()) {
        return fail(c, state, 'shutting_down', 'the service is shutting down; retry later', close);
      }
      const input = rawInputOf(c);
      if (!verifyStudioBearer(input.header('authorization'), tokens)) {
        return fail(c, state, 'invalid_token', 'Authorization: Bearer <STUDIO_WEBHOOK_TOKEN> is required', {
          ...close,
          'www-authenticate': 'Bearer',
        });
      }
      const tooLarge = `body is larger than ${maxBodyBytes} bytes`;
      const declaredHeader = input.header('content-length');
      const declared = declaredHeader === undefined ? undefined : Number(declaredHeader);
      if (declared !== undefined && declared > maxBodyBytes) {
        return fail(c, state, 'payload_too_large', tooLarge, close);
      }
      const share = new InflightShare(inflight);
      try {
        const overloaded = () =>
          fail(c, state, 'overloaded', 'too many request bytes in flight; retry later', {
            ...close,
            'retry-after': RETRY_AFTER_SECONDS,
          });
        if (declared !== undefined && !share.growTo(declared)) return overloaded();
        let rawBody: Awaited<ReturnType<typeof input.readBody>>;
        try {
          rawBody = await input.readBody(maxBodyBytes, (total) => share.growTo(total));
        } catch {
          return fail(c, state, 'request_aborted', 'the request body ended early');
        }
        if (rawBody === 'too_large') return fail(c, state, 'payload_too_large', tooLarge, close);
        if (rawBody === 'refused') return overloaded();
        let text: string;
        let json: unknown;
        try {
          text = utf8.decode(rawBody);
          // Ids past 2^53 stay exact (Studio may send them as numbers).
          json = parseJsonKeepingBigIntegers(text);
        } catch {
          return fail(c, state, 'invalid_json', 'body is not valid UTF-8 JSON');
        }
        const parsed = parseStudioBody(json);
        if (!parsed.ok) return fail(c, state, 'invalid_body', parsed.reason);
        const { contactId, agentId, mediaType } = parsed.call;
        state.webhookId = `studio:${contactId}`;
        state.eventType = 'conversation.ended';
        let outcome: RecordOutcome;
        try {
          outcome = await sink.record({
            webhookId: state.webhookId,
            event: {
              id: state.webhookId,
              type: 'conversation.ended',
              occurred_at: new Date(clock.now()).toISOString(),
              data: { conversation_id: contactId, agent_id: agentId, media_type: mediaType },
            },
            rawBody: text,
            receivedAt: clock.now(),
          });
        } catch (err) {
          log.error({ err, reqId: state.reqId, webhookId: state.webhookId }, 'recording Studio call failed');
          return fail(c, state, 'store_unavailable', 'the contact could not be stored; retry later', {
            'retry-after': RETRY_AFTER_SECONDS,
          });
        }
        return answerRecorded(c, state, outcome);
      } finally {
        share.release();
      }
    });
    app.all(STUDIO_WEBHOOK_PATH, (c) =>
      fail(c, begin(), 'method_not_allowed', `${c.req.method} is not allowed here; use POST`, {
        allow: 'POST',
      }),
    );
  }

  addHealthRoutes(app, r, options);
  endWithJsonErrors(app, r, log);
  return app;
}

/** A request's logged outcome as onWebhook hears it (the route sets `signature_<why>` for a 401). */
function reportWebhook(outcome: string | undefined, onWebhook: NonNullable<CreateAppOptions['onWebhook']>) {
  if (outcome?.startsWith('signature_')) {
    const why = outcome.slice('signature_'.length);
    if (Object.hasOwn(SIGNATURE_MESSAGES, why)) onWebhook('invalid_signature', why as SignatureFailure);
    else onWebhook('invalid_signature');
    return;
  }
  if (outcome === 'recorded') onWebhook('accepted');
  else if (outcome) onWebhook(outcome as WebhookOutcome);
}

/**
 * The admin app: the probes, and whatever the service wiring mounts on it (`admin.route('/console',
 * consoleApp)`, `admin.get('/metrics', ...)`). It never serves `/webhooks/*`: those are the public
 * app's, on whichever listener that is.
 */
export function createAdminApp(options: HealthOptions): Hono {
  const app = new Hono();
  const r = createResponder(options.clock, options.log);
  addHealthRoutes(app, r, options);
  endWithJsonErrors(app, r, options.log);
  return app;
}

/**
 * /healthz and /readyz, on both listeners: a load balancer in front of the webhooks needs them to route
 * to this process, and an orchestrator or monitor on the private side needs them without reaching the
 * public address. One answer for both: the process serves, or it does not.
 */
function addHealthRoutes(app: Hono, r: Responder, options: HealthOptions): void {
  const { isReady, storeWritable } = options;
  const isAccepting = options.isAccepting ?? (() => true);

  app.get('/healthz', (c) => r.finish(c, r.begin(), 200, { status: 'ok' }));

  app.get('/readyz', async (c) => {
    const state = r.begin();
    // Not ready while shutting down either, so a load balancer stops routing here first.
    if (!isReady() || !isAccepting()) return r.finish(c, state, 503, { status: 'not_ready' });
    // Ready means a webhook sent here now would be stored: the database must take a write.
    const store = storeWritable ? await storeWritable() : { ok: true as const };
    if (!store.ok) {
      state.outcome = 'store_not_writable';
      return r.finish(c, state, 503, { status: 'not_ready', reason: store.reason });
    }
    return r.finish(c, state, 200, { status: 'ready' });
  });
}

function endWithJsonErrors(app: Hono, r: Responder, log: Logger): void {
  app.notFound((c: Context) =>
    r.fail(c, r.begin(), 'not_found', `no route for ${c.req.method} ${c.req.path}`),
  );
  app.onError((err, c) => {
    const state = r.begin();
    log.error({ err, reqId: state.reqId, method: c.req.method, path: c.req.path }, 'unhandled error');
    return r.fail(c, state, 'internal_error', 'internal error');
  });
}

/**
 * The HTTP surface: the webhook receiver and the health probes. Builds a Hono app and never listens
 * (src/http/server.ts does), so tests drive it through `app.request()`.
 *
 * The webhook route follows one order, and each step refuses before the next runs:
 *   accepting? -> size -> content type -> read raw bytes once -> verify signature -> JSON.parse ->
 *   validate shape -> sink.record (resolves after the commit) -> answer.
 * Nothing is parsed before the signature holds, and nothing is answered 2xx before it is durable.
 *
 * No middleware: every route ends through `finish`, which writes the one log line per request. That
 * keeps the benchmarked path to a router lookup and the work the route has to do.
 */
import { randomUUID } from 'node:crypto';
import type { Context } from 'hono';
import { Hono } from 'hono';
import type { Logger } from 'pino';
import type { Clock } from '../clock.js';
import type { EventSink } from '../events.js';
import { isJsonContentType, rawInputOf } from './raw-body.js';
import { type SignatureFailure, verifyWebhookSignature } from './signature.js';
import { parseWebhookBody } from './webhook-schema.js';

export interface CreateAppOptions {
  sink: EventSink;
  webhookKeys: Buffer[];
  clock: Clock;
  log: Logger;
  /** True once the database is migrated and the QM form is read. */
  isReady: () => boolean;
  /** False while shutting down: new webhooks get 503 so the sender retries against the next process. */
  isAccepting?: () => boolean;
  /** Largest accepted webhook body, in bytes. */
  maxBodyBytes?: number;
}

export const DEFAULT_MAX_BODY_BYTES = 256 * 1024;
export const WEBHOOK_PATH = '/webhooks/cxone';
const MAX_WEBHOOK_ID = 200;

export type ErrorCode =
  | 'not_found'
  | 'method_not_allowed'
  | 'unsupported_media_type'
  | 'payload_too_large'
  | 'invalid_signature'
  | 'invalid_json'
  | 'invalid_body'
  | 'invalid_webhook_id'
  | 'request_aborted'
  | 'shutting_down'
  | 'store_unavailable'
  | 'internal_error';

type ErrorStatus = 400 | 401 | 404 | 405 | 413 | 415 | 500 | 503;

/** Exhaustive: adding a code without a status fails to compile. */
export function statusForCode(code: ErrorCode): ErrorStatus {
  switch (code) {
    case 'not_found':
      return 404;
    case 'method_not_allowed':
      return 405;
    case 'unsupported_media_type':
      return 415;
    case 'payload_too_large':
      return 413;
    case 'invalid_signature':
      return 401;
    case 'invalid_json':
    case 'invalid_body':
    case 'invalid_webhook_id':
    case 'request_aborted':
      return 400;
    case 'shutting_down':
    case 'store_unavailable':
      return 503;
    case 'internal_error':
      return 500;
    default: {
      const unreachable: never = code;
      throw new Error(`no status for error code ${String(unreachable)}`);
    }
  }
}

const SIGNATURE_MESSAGES: Record<SignatureFailure, string> = {
  missing_headers: 'webhook-id, webhook-timestamp and webhook-signature headers are required',
  bad_timestamp: 'webhook-timestamp is not a Unix time in seconds',
  stale: 'webhook-timestamp is more than 5 minutes in the past',
  future: 'webhook-timestamp is more than 5 minutes in the future',
  no_match: 'no webhook-signature matches',
};

/** What one request did, for its log line. */
interface RequestState {
  reqId: string;
  startedAt: number;
  webhookId?: string;
  eventType?: string;
  outcome?: string;
}

// Fatal: a body that is not UTF-8 is refused rather than stored with replacement characters.
const utf8 = new TextDecoder('utf-8', { fatal: true });

export function createApp(options: CreateAppOptions): Hono {
  const { sink, webhookKeys, clock, log, isReady } = options;
  const isAccepting = options.isAccepting ?? (() => true);
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const app = new Hono();

  const begin = (): RequestState => ({ reqId: randomUUID(), startedAt: clock.now() });

  const finish = (
    c: Context,
    state: RequestState,
    status: number,
    body: unknown,
    headers?: Record<string, string>,
  ) => {
    log.info(
      {
        reqId: state.reqId,
        method: c.req.method,
        path: c.req.path,
        status,
        durationMs: clock.now() - state.startedAt,
        webhookId: state.webhookId,
        eventType: state.eventType,
        outcome: state.outcome ?? (status < 400 ? 'ok' : 'error'),
      },
      'request finished',
    );
    return c.json(body, status as 200, headers);
  };

  const fail = (
    c: Context,
    state: RequestState,
    code: ErrorCode,
    message: string,
    headers?: Record<string, string>,
  ) => {
    state.outcome ??= code;
    return finish(
      c,
      state,
      statusForCode(code),
      { error: { code, message, requestId: state.reqId } },
      headers,
    );
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
    // `Connection: close` because the rest of that body may still be on its way.
    const tooLarge = `body is larger than ${maxBodyBytes} bytes`;
    const input = rawInputOf(c);
    const declared = input.header('content-length');
    if (declared !== undefined && Number(declared) > maxBodyBytes) {
      return fail(c, state, 'payload_too_large', tooLarge, { connection: 'close' });
    }
    if (!isJsonContentType(input.header('content-type'))) {
      return fail(c, state, 'unsupported_media_type', 'Content-Type must be application/json');
    }

    // The exact bytes, read once: the signature is over them, and they are what gets stored.
    let rawBody: Buffer | null;
    try {
      rawBody = await input.readBody(maxBodyBytes);
    } catch {
      // The client went away mid-body: nobody reads this answer, but the log line should say so
      // instead of reporting a server error.
      return fail(c, state, 'request_aborted', 'the request body ended early');
    }
    if (rawBody === null) return fail(c, state, 'payload_too_large', tooLarge, { connection: 'close' });

    const webhookId = input.header('webhook-id');
    if (webhookId) state.webhookId = webhookId.slice(0, MAX_WEBHOOK_ID);
    const verdict = verifyWebhookSignature({
      keys: webhookKeys,
      webhookId,
      timestamp: input.header('webhook-timestamp'),
      signatureHeader: input.header('webhook-signature'),
      rawBody,
      nowSeconds: Math.floor(clock.now() / 1000),
    });
    if (!verdict.ok) {
      state.outcome = `signature_${verdict.reason}`;
      return fail(c, state, 'invalid_signature', SIGNATURE_MESSAGES[verdict.reason]);
    }

    // The webhook-id is the deduplication key the store keeps; bound it like the body's ids.
    if (webhookId!.length > MAX_WEBHOOK_ID) {
      return fail(c, state, 'invalid_webhook_id', `webhook-id must be at most ${MAX_WEBHOOK_ID} characters`);
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

    let outcome: Awaited<ReturnType<EventSink['record']>>;
    try {
      outcome = await sink.record({
        webhookId: webhookId!,
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
      return fail(c, state, 'store_unavailable', 'the event could not be stored; retry later');
    }
    state.outcome = outcome;
    return outcome === 'duplicate'
      ? finish(c, state, 200, { status: 'duplicate' })
      : finish(c, state, 202, { status: 'accepted' });
  });

  app.all(WEBHOOK_PATH, (c) =>
    fail(c, begin(), 'method_not_allowed', `${c.req.method} is not allowed here; use POST`, {
      allow: 'POST',
    }),
  );

  app.get('/healthz', (c) => finish(c, begin(), 200, { status: 'ok' }));

  app.get('/readyz', (c) => {
    const state = begin();
    // Not ready while shutting down either, so a load balancer stops routing here first.
    return isReady() && isAccepting()
      ? finish(c, state, 200, { status: 'ready' })
      : finish(c, state, 503, { status: 'not_ready' });
  });

  app.notFound((c) => fail(c, begin(), 'not_found', `no route for ${c.req.method} ${c.req.path}`));

  app.onError((err, c) => {
    const state = begin();
    log.error({ err, reqId: state.reqId, method: c.req.method, path: c.req.path }, 'unhandled error');
    return fail(c, state, 'internal_error', 'internal error');
  });

  return app;
}

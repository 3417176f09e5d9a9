/**
 * How every route of the service's own apps answers: one log line per request (written by `finish`),
 * errors as `{"error": {"code", "message", "requestId"}}` with one status per code.
 *
 * No middleware: every route ends through `finish`, which keeps the benchmarked webhook path to a
 * router lookup and the work the route has to do.
 */
import { randomUUID } from 'node:crypto';
import type { Context } from 'hono';
import type { Logger } from 'pino';
import type { Clock } from '../clock.js';

export type ErrorCode =
  | 'not_found'
  | 'method_not_allowed'
  | 'unsupported_media_type'
  | 'payload_too_large'
  | 'invalid_signature'
  | 'invalid_token'
  | 'invalid_json'
  | 'invalid_body'
  | 'invalid_webhook_id'
  | 'request_aborted'
  | 'shutting_down'
  | 'overloaded'
  | 'store_busy'
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
    case 'invalid_token':
      return 401;
    case 'invalid_json':
    case 'invalid_body':
    case 'invalid_webhook_id':
    case 'request_aborted':
      return 400;
    case 'shutting_down':
    case 'overloaded':
    case 'store_busy':
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

/** What one request did, for its log line. */
export interface RequestState {
  reqId: string;
  startedAt: number;
  webhookId?: string;
  eventType?: string;
  outcome?: string;
}

export interface Responder {
  begin(): RequestState;
  finish(
    c: Context,
    state: RequestState,
    status: number,
    body: unknown,
    headers?: Record<string, string>,
  ): Response;
  fail(
    c: Context,
    state: RequestState,
    code: ErrorCode,
    message: string,
    headers?: Record<string, string>,
  ): Response;
}

/**
 * `onFinish` hears of every request the responder ends (after its log line): the webhook route's
 * outcomes go to the metrics through it.
 */
export function createResponder(
  clock: Clock,
  log: Logger,
  onFinish?: (state: RequestState, status: number) => void,
): Responder {
  const finish: Responder['finish'] = (c, state, status, body, headers) => {
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
    onFinish?.(state, status);
    return c.json(body, status as 200, headers);
  };
  return {
    begin: () => ({ reqId: randomUUID(), startedAt: clock.now() }),
    finish,
    fail(c, state, code, message, headers) {
      state.outcome ??= code;
      return finish(
        c,
        state,
        statusForCode(code),
        { error: { code, message, requestId: state.reqId } },
        headers,
      );
    },
  };
}

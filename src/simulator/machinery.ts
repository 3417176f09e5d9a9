import type { AddressInfo } from 'node:net';
import { type HttpBindings, serve } from '@hono/node-server';
import type { Context, Hono } from 'hono';
import type { Clock } from '../clock.js';

/**
 * What every simulated CXone (the tutorial's API, the documented platform APIs) does around its
 * handlers: the call log, latency, hangs, a rate limit of its own and injected faults. Each profile
 * brings its handlers, its authentication and its error bodies; this file brings the rest, so a fault
 * a test injects behaves the same in both.
 */

export const SIMULATOR_WINDOW_MS = 60_000;

/** What every call log entry holds; each profile adds the ids it knows (conversation, contact, ...). */
export interface BaseCallLogEntry<C extends string = string> {
  call: C;
  /** When the request arrived (simulator clock, epoch ms). */
  at: number;
  /** Status answered; 0 while unanswered, and for hung or dropped requests. */
  status: number;
  /** The client went away before an answer (timeout abort, or a hang). */
  clientClosed?: boolean;
  /** The simulator cut the connection on purpose (after committing a write). */
  dropped?: boolean;
  /** Client's port, when served over HTTP: equal ports mean a reused keep-alive connection. */
  remotePort?: number;
}

export interface FailureSpec {
  status: number;
  /** How many of the next calls of this kind fail. Default 1. */
  count?: number;
  /** Retry-After header: seconds (number) or an HTTP date / any raw string. */
  retryAfter?: number | string;
  /** Body: a string is sent as is, anything else as JSON. Default: the profile's error body. */
  body?: unknown;
}

export interface RunningSimulator {
  url: string;
  close(): Promise<void>;
}

export interface SimulatorMachineryOptions<C extends string> {
  clock: Clock;
  latencyMs?: number;
  /** Answer after exactly the latency (busy-waits its last 2 ms); real time only. */
  preciseLatency?: boolean;
  /** Answers 429 once the simulator's own sliding minute holds this many served calls. */
  rateLimitPerMinute?: number;
  /**
   * The profile's 429: `retryAfterSeconds` is when a slot frees; the tutorial sends it as Retry-After,
   * the documented platform APIs send none.
   */
  rateLimited(c: Context, call: C, retryAfterSeconds: number): Response;
  /** The profile's error body for an injected failure without a body of its own. */
  failureBody(call: C, status: number): unknown;
}

async function preciseSleep(ms: number): Promise<void> {
  const until = performance.now() + ms;
  if (ms > 2) await new Promise((r) => setTimeout(r, ms - 2));
  while (performance.now() < until) await new Promise((r) => setImmediate(r));
}

/** Largest number of entries whose `at` falls in any half-open window [t, t + windowMs). */
export function maxCallsInAnyWindow(
  entries: readonly { at: number }[],
  windowMs = SIMULATOR_WINDOW_MS,
): number {
  const times = entries.map((e) => e.at).sort((a, b) => a - b);
  let best = 0;
  let start = 0;
  for (let end = 0; end < times.length; end++) {
    while (times[end]! - times[start]! >= windowMs) start++;
    best = Math.max(best, end - start + 1);
  }
  return best;
}

export function createSimulatorMachinery<C extends string, E extends BaseCallLogEntry<C>>(
  options: SimulatorMachineryOptions<C>,
) {
  const { clock } = options;
  let latencyMs = options.latencyMs ?? 0;
  const callLatencyMs = new Map<C, number>();
  const callLog: E[] = [];
  const failures = new Map<C, (FailureSpec & { remaining: number })[]>();
  const hangs = new Map<C, number>();

  /** Entries that count against the simulator's own rate limit: calls it actually served. */
  function servedInLastMinute(now: number): E[] {
    return callLog.filter((e) => e.at > now - SIMULATOR_WINDOW_MS && e.status !== 429 && e.at <= now);
  }

  /** Waits until the client goes away (or forever, when there is no socket, as with app.request()). */
  function untilClientCloses(c: Context, entry: E): Promise<Response> {
    return new Promise((resolve) => {
      const signal = c.req.raw.signal;
      const done = () => {
        entry.clientClosed = true;
        resolve(new Response(null, { status: 499 }));
      };
      if (signal.aborted) done();
      else signal.addEventListener('abort', done, { once: true });
    });
  }

  /**
   * Everything every call goes through before its handler: latency, hang, rate limit, injected
   * faults, then the profile's authentication. Answers a Response to send instead, or undefined.
   */
  async function gate(
    c: Context,
    call: C,
    entry: E,
    authenticate: ((c: Context) => Response | undefined) | undefined,
  ): Promise<Response | undefined> {
    const delay = callLatencyMs.get(call) ?? latencyMs;
    if (delay > 0) await (options.preciseLatency ? preciseSleep(delay) : clock.sleep(delay));

    const hang = hangs.get(call) ?? 0;
    if (hang > 0) {
      hangs.set(call, hang - 1);
      return untilClientCloses(c, entry);
    }

    if (options.rateLimitPerMinute !== undefined) {
      const now = clock.now();
      const served = servedInLastMinute(now).filter((e) => e !== entry);
      if (served.length >= options.rateLimitPerMinute) {
        const oldest = Math.min(...served.map((e) => e.at));
        const seconds = Math.max(1, Math.ceil((oldest + SIMULATOR_WINDOW_MS - now) / 1000));
        return options.rateLimited(c, call, seconds);
      }
    }

    const queue = failures.get(call);
    const failure = queue?.[0];
    if (failure) {
      failure.remaining--;
      if (failure.remaining <= 0) queue!.shift();
      if (failure.retryAfter !== undefined) c.header('retry-after', String(failure.retryAfter));
      const body = failure.body ?? options.failureBody(call, failure.status);
      if (typeof body === 'string') return c.body(body, failure.status as 500);
      if (body === null) return c.body(null, failure.status as 500);
      return c.json(body as object, failure.status as 500);
    }

    return authenticate?.(c);
  }

  return {
    untilClientCloses,

    /**
     * Wraps a handler so every request lands in the call log with the status answered, after the
     * gate. `describe` adds what the entry should say about the request (ids, keys).
     */
    handle(
      call: C,
      authenticate: ((c: Context) => Response | undefined) | undefined,
      describe: (c: Context) => Partial<E>,
      handler: (c: Context, entry: E) => Promise<Response> | Response,
    ) {
      return async (c: Context) => {
        const entry = { call, at: clock.now(), status: 0, ...describe(c) } as E;
        const remotePort = (c.env as HttpBindings | undefined)?.incoming?.socket?.remotePort;
        if (remotePort !== undefined) entry.remotePort = remotePort;
        callLog.push(entry);
        const response = (await gate(c, call, entry, authenticate)) ?? (await handler(c, entry));
        if (!entry.clientClosed && !entry.dropped) entry.status = response.status;
        return response;
      };
    },

    /** Every request seen, in arrival order, with the status answered. */
    get callLog(): E[] {
      return [...callLog];
    },
    /** Most requests seen in any sliding window (default one minute): to check a call budget. */
    maxCallsInAnyWindow(windowMs = SIMULATOR_WINDOW_MS): number {
      return maxCallsInAnyWindow(callLog, windowMs);
    },
    /** The next `count` (default 1) calls of `call` answer `status` (with Retry-After / body if given). */
    failNext(call: C, spec: FailureSpec): void {
      const list = failures.get(call) ?? [];
      list.push({ ...spec, remaining: spec.count ?? 1 });
      failures.set(call, list);
    },
    /** The next `count` calls of `call` get no answer at all until the client gives up. */
    hangNext(call: C, count = 1): void {
      hangs.set(call, (hangs.get(call) ?? 0) + count);
    },
    /** Delay before every answer, or only before answers to `call` when given. */
    setLatency(ms: number, call?: C): void {
      if (call) callLatencyMs.set(call, Math.max(0, ms));
      else latencyMs = Math.max(0, ms);
    },
  };
}

/** Serves a simulator's app on 127.0.0.1 (port 0 = any free port). */
export function listenSimulator(app: Hono<{ Bindings: HttpBindings }>, port = 0): Promise<RunningSimulator> {
  return new Promise((resolve, reject) => {
    const server = serve({ fetch: app.fetch, port, hostname: '127.0.0.1' }, (info: AddressInfo) => {
      resolve({
        url: `http://127.0.0.1:${info.port}`,
        close: () =>
          new Promise<void>((done) => {
            // Hung requests and idle keep-alive sockets would hold close() open forever.
            const s = server as unknown as { closeAllConnections?: () => void };
            server.close(() => done());
            s.closeAllConnections?.();
          }),
      });
    });
    server.once('error', reject);
  });
}

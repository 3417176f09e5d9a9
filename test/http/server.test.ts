import http from 'node:http';
import net from 'node:net';
import pino, { type Logger } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { systemClock } from '../../src/clock.js';
import type { EventSink, RecordOutcome, VerifiedDelivery } from '../../src/events.js';
import { createAdminApp, createApp } from '../../src/http/app.js';
import { InflightBytes } from '../../src/http/inflight.js';
import {
  ListenError,
  type RunningHttpServer,
  type RunningListeners,
  startHttpServer,
  startListeners,
} from '../../src/http/server.js';
import { parseWebhookSecrets } from '../../src/http/signature.js';
import { conversationEndedBody, MemoryEventSink, signedRequest, TEST_SECRET } from '../support/signing.js';
import { sleep, waitFor } from '../support/wait.js';

/** A sink whose record() waits until the test lets it finish, to hold a request in flight. */
class GatedSink implements EventSink {
  readonly inner = new MemoryEventSink();
  private releases: (() => void)[] = [];
  private arrivals: (() => void)[] = [];
  pending = 0;

  async record(delivery: VerifiedDelivery): Promise<RecordOutcome> {
    this.pending++;
    for (const arrived of this.arrivals.splice(0)) arrived();
    await new Promise<void>((resolve) => this.releases.push(resolve));
    this.pending--;
    return this.inner.record(delivery);
  }

  arrived(): Promise<void> {
    if (this.pending > 0) return Promise.resolve();
    return new Promise((resolve) => this.arrivals.push(resolve));
  }

  releaseAll(): void {
    for (const release of this.releases.splice(0)) release();
  }
}

const keys = (() => {
  const parsed = parseWebhookSecrets(TEST_SECRET);
  if (!parsed.ok) throw new Error(parsed.message);
  return parsed.keys;
})();

let running: RunningHttpServer | RunningListeners | undefined;
afterEach(async () => {
  await running?.close(0);
  running = undefined;
});

async function start(
  sink: EventSink,
  log: Logger = pino({ level: 'silent' }),
  options: { inflight?: InflightBytes; maxConnections?: number } = {},
) {
  const app = createApp({
    sink,
    webhookKeys: keys,
    clock: systemClock,
    log,
    isReady: () => true,
    ...(options.inflight ? { inflight: options.inflight } : {}),
  });
  const server = await startHttpServer({
    app,
    port: 0,
    hostname: '127.0.0.1',
    ...(options.maxConnections ? { maxConnections: options.maxConnections } : {}),
  });
  running = server;
  return server;
}

/**
 * Writes a request head (and `body`, which may be only part of what Content-Length declares) on a raw
 * socket. `answer` resolves with the status code and headers of whatever comes back.
 */
function rawRequest(
  port: number,
  headers: Record<string, string>,
  body: string | Buffer = '',
  path = '/webhooks/cxone',
): { socket: net.Socket; answer: Promise<{ status: number; head: string }> } {
  const socket = net.connect({ host: '127.0.0.1', port });
  const head = Object.entries({ host: 'x', ...headers })
    .map(([k, v]) => `${k}: ${v}`)
    .join('\r\n');
  socket.write(`POST ${path} HTTP/1.1\r\n${head}\r\n\r\n`);
  if (body.length > 0) socket.write(body);
  const answer = new Promise<{ status: number; head: string }>((resolve, reject) => {
    let received = '';
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      received += chunk;
      const end = received.indexOf('\r\n\r\n');
      if (end !== -1) resolve({ status: Number(received.slice(9, 12)), head: received.slice(0, end) });
    });
    socket.on('error', reject);
    socket.on('close', () => reject(new Error(`closed without an answer: ${received}`)));
  });
  answer.catch(() => undefined);
  return { socket, answer };
}

/** Resolves with `promise`, or rejects naming `what` after `ms`: a hang detector. */
function within<T>(what: string, promise: Promise<T>, ms: number): Promise<T> {
  return Promise.race([
    promise,
    new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`no ${what} within ${ms} ms`)), ms)),
  ]);
}

/** A signed delivery whose body is exactly `size` bytes (a valid event padded with spaces). */
function signedOfSize(size: number) {
  const json = JSON.stringify(conversationEndedBody({ id: `evt_${Math.random()}` }));
  return signedRequest({
    timestamp: Math.floor(Date.now() / 1000),
    body: json + ' '.repeat(size - json.length),
  });
}

function send(
  server: RunningHttpServer,
  options: {
    agent?: http.Agent;
    path?: string;
    method?: string;
    headers?: Record<string, string>;
    body?: string | Buffer;
  },
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port: server.port,
        path: options.path ?? '/webhooks/cxone',
        method: options.method ?? 'POST',
        headers: options.headers,
        agent: options.agent ?? false,
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk) => {
          body += chunk;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

function signed() {
  return signedRequest({ timestamp: Math.floor(Date.now() / 1000), body: conversationEndedBody() });
}

/** GET /healthz on a fresh connection, tried up to three times (a dropped connection is retried). */
async function healthWithRetries(server: RunningHttpServer): Promise<number> {
  for (let attempt = 1; ; attempt++) {
    try {
      return (await send(server, { path: '/healthz', method: 'GET' })).status;
    } catch (error) {
      if (attempt >= 3) throw error;
      await sleep(100);
    }
  }
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

describe('startHttpServer', () => {
  it('serves on a real port and reports its url', async () => {
    const server = await start(new MemoryEventSink());
    expect(server.port).toBeGreaterThan(0);
    expect(server.url).toBe(`http://127.0.0.1:${server.port}`);
    const health = await fetch(`${server.url}/healthz`);
    expect(health.status).toBe(200);
    const req = signed();
    const res = await send(server, { headers: req.headers, body: req.body });
    expect(res.status).toBe(202);
  });

  it('answers 413 to an over-limit chunked body instead of dropping the connection', async () => {
    const sink = new MemoryEventSink();
    const server = await start(sink);
    const req = signed();
    const status = await new Promise<number>((resolve, reject) => {
      const out = http.request(
        {
          host: '127.0.0.1',
          port: server.port,
          path: '/webhooks/cxone',
          method: 'POST',
          headers: req.headers,
          agent: false,
        },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      out.on('error', reject);
      // No Content-Length: Node sends it chunked. 300 KiB in 10 KiB pieces.
      const piece = Buffer.alloc(10 * 1024, 0x20);
      for (let i = 0; i < 30; i++) out.write(piece);
      out.end();
    });
    expect(status).toBe(413);
    expect(sink.calls).toBe(0);
  });

  // Under @hono/node-server the route reads the Node request directly (see rawInputOf in app.ts):
  // these walk that path, which app.request() never takes.
  it('reads the exact bytes and the headers from the Node request', async () => {
    const sink = new MemoryEventSink();
    const server = await start(sink);
    const body =
      '{ "id":"evt_\\u00e9",  "type":"transcript.ready","occurred_at":"t","data":{"conversation_id":"c\u00fc"}}\n';
    const req = signedRequest({ timestamp: Math.floor(Date.now() / 1000), body, webhookId: 'msg_node' });
    const res = await send(server, { headers: req.headers, body: Buffer.from(body, 'utf8') });
    expect(res.status).toBe(202);
    expect(sink.deliveries[0]!.rawBody).toBe(body);
    expect(sink.deliveries[0]!.webhookId).toBe('msg_node');
    expect(sink.deliveries[0]!.event.id).toBe('evt_\u00e9');
    const again = await send(server, { headers: req.headers, body: Buffer.from(body, 'utf8') });
    expect(again.status).toBe(200);
    expect(sink.deliveries).toHaveLength(1);
  });

  it('refuses a tampered body, a non-JSON body and a wrong content type over the socket', async () => {
    const sink = new MemoryEventSink();
    const server = await start(sink);
    const now = Math.floor(Date.now() / 1000);
    const good = signedRequest({ timestamp: now });
    const tampered = Buffer.from(good.body);
    tampered[10] = tampered[10]! ^ 1;
    expect((await send(server, { headers: good.headers, body: tampered })).status).toBe(401);
    const missing = { ...good.headers };
    delete missing['webhook-signature'];
    expect((await send(server, { headers: missing, body: good.body })).status).toBe(401);
    const notJson = signedRequest({ timestamp: now, body: 'not json' });
    expect((await send(server, { headers: notJson.headers, body: notJson.body })).status).toBe(400);
    const text = { ...good.headers, 'content-type': 'text/plain' };
    expect((await send(server, { headers: text, body: good.body })).status).toBe(415);
    expect(sink.calls).toBe(0);
  });

  it('answers 413 to a declared over-limit Content-Length', async () => {
    const sink = new MemoryEventSink();
    const server = await start(sink);
    const req = signed();
    const body = Buffer.alloc(256 * 1024 + 1, 0x20);
    const res = await send(server, {
      headers: { ...req.headers, 'content-length': String(body.length) },
      body,
    });
    expect(res.status).toBe(413);
    expect(JSON.parse(res.body).error.code).toBe('payload_too_large');
    expect(sink.calls).toBe(0);
  });

  it('survives a client that goes away mid-body, logging it as aborted, not as a server error', async () => {
    const sink = new MemoryEventSink();
    const lines: { level: number; outcome?: string }[] = [];
    const log = pino(
      { level: 'info' },
      {
        write: (line: string) => {
          lines.push(JSON.parse(line));
        },
      },
    );
    const server = await start(sink, log);
    const req = signed();
    await new Promise<void>((resolve) => {
      const socket = net.connect({ host: '127.0.0.1', port: server.port }, () => {
        const head = Object.entries({ ...req.headers, 'content-length': '1000', host: 'x' })
          .map(([k, v]) => `${k}: ${v}`)
          .join('\r\n');
        socket.write(`POST /webhooks/cxone HTTP/1.1\r\n${head}\r\n\r\n{"id":`);
        setTimeout(() => {
          socket.destroy();
          resolve();
        }, 50);
      });
    });
    await expect.poll(() => lines.length).toBe(1);
    const res = await send(server, { headers: req.headers, body: req.body });
    expect(res.status).toBe(202);
    expect(sink.deliveries).toHaveLength(1);
    expect(lines.map((l) => l.outcome)).toEqual(['request_aborted', 'recorded']);
    expect(lines.filter((l) => l.level >= 50)).toEqual([]);
  });

  it('close() refuses new connections, finishes requests in flight, and closes idle keep-alive sockets', async () => {
    const sink = new GatedSink();
    const server = await start(sink);

    // An idle keep-alive socket: it must not hold close() up until its 65 s timeout.
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    expect((await send(server, { agent, path: '/healthz', method: 'GET' })).status).toBe(200);

    // The request in flight is on a keep-alive socket too, which turns idle once it is answered.
    const busyAgent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const req = signed();
    const inFlight = send(server, { agent: busyAgent, headers: req.headers, body: req.body });
    await sink.arrived();

    const startedClosing = Date.now();
    let closed = false;
    const closing = server.close(5_000).then(() => {
      closed = true;
    });
    // Stopped listening at once; the request in flight keeps the server open.
    await expect.poll(() => canConnect(server.port)).toBe(false);
    expect(closed).toBe(false);

    sink.releaseAll();
    const answer = await inFlight;
    expect(answer.status).toBe(202);
    expect(sink.inner.deliveries).toHaveLength(1);
    await closing;
    // Well before the grace period: the idle socket and the finished one were closed, not waited out.
    expect(Date.now() - startedClosing).toBeLessThan(3_000);
    agent.destroy();
    busyAgent.destroy();
  });

  it('close(graceMs) destroys requests that outlive the grace period', async () => {
    const sink = new GatedSink();
    const server = await start(sink);
    const req = signed();
    const inFlight = send(server, { headers: req.headers, body: req.body }).then(
      () => 'answered',
      () => 'dropped',
    );
    await sink.arrived();
    const startedClosing = Date.now();
    await server.close(200);
    expect(Date.now() - startedClosing).toBeGreaterThanOrEqual(150);
    expect(await inFlight).toBe('dropped');
    sink.releaseAll();
  });

  // A stale, unsigned or garbled request used to be read whole (up to 256 KiB) before its headers were
  // looked at: 2,000 such connections held 510 MB. The answer now comes before the body.
  it.each([
    ['a stale timestamp', { 'webhook-timestamp': String(Math.floor(Date.now() / 1000) - 3_600) }, 'stale'],
    ['a future timestamp', { 'webhook-timestamp': String(Math.floor(Date.now() / 1000) + 3_600) }, 'future'],
    ['no signature header', { 'webhook-signature': undefined }, 'missing_headers'],
    ['a signature that does not parse', { 'webhook-signature': 'v1,AAAA' }, 'no_match'],
    ['an over-long webhook-id', { 'webhook-id': 'x'.repeat(201) }, undefined],
  ] as const)('answers %s before reading the body, and closes the connection', async (_, change, reason) => {
    const lines: { outcome?: string }[] = [];
    const log = pino({ level: 'info' }, { write: (line: string) => lines.push(JSON.parse(line)) });
    const sink = new MemoryEventSink();
    const server = await start(sink, log);
    const req = signed();
    const headers: Record<string, string> = { ...req.headers, 'content-length': '200000' };
    for (const [name, value] of Object.entries(change)) {
      if (value === undefined) delete headers[name];
      else headers[name] = value;
    }
    // Not one byte of the declared 200,000 is sent: an answer proves the body was not waited for.
    const { socket, answer } = rawRequest(server.port, headers);
    const { status, head } = await within('answer', answer, 3_000);
    expect(status).toBe(reason ? 401 : 400);
    expect(head.toLowerCase()).toContain('connection: close');
    if (reason) expect(lines[0]?.outcome).toBe(`signature_${reason}`);
    expect(sink.calls).toBe(0);
    socket.destroy();
  });

  it('bounds the body bytes in flight across requests: 503 with Retry-After past it, nothing lost', async () => {
    const sink = new MemoryEventSink();
    const inflight = new InflightBytes(100_000);
    const server = await start(sink, undefined, { inflight });

    // A holds 80,000 declared bytes while its body trickles in.
    const a = signedOfSize(80_000);
    const body = Buffer.from(a.body);
    const held = rawRequest(
      server.port,
      { ...a.headers, 'content-length': String(body.length) },
      body.subarray(0, 1_000),
    );
    await waitFor('A to hold its share', () => inflight.inUse >= 80_000, 3_000, 10);

    // B declares 80,000 more: refused before a byte is read.
    const b = signedOfSize(80_000);
    const refused = await send(server, { headers: b.headers, body: b.body });
    expect(refused.status).toBe(503);
    expect(JSON.parse(refused.body).error.code).toBe('overloaded');

    // C declares nothing (chunked): refused once what arrived passes the budget.
    const c = signedOfSize(30_000);
    const chunked = await new Promise<{ status: number; retryAfter: string | undefined }>(
      (resolve, reject) => {
        const out = http.request(
          {
            host: '127.0.0.1',
            port: server.port,
            path: '/webhooks/cxone',
            method: 'POST',
            headers: c.headers,
            agent: false,
          },
          (res) => {
            res.resume();
            resolve({ status: res.statusCode ?? 0, retryAfter: res.headers['retry-after'] });
          },
        );
        out.on('error', reject);
        const bytes = Buffer.from(c.body);
        for (let i = 0; i < bytes.length; i += 5_000) out.write(bytes.subarray(i, i + 5_000));
        out.end();
      },
    );
    expect(chunked).toEqual({ status: 503, retryAfter: '5' });
    expect(sink.calls).toBe(0);

    // A completes and is accepted; its share is given back, and B's retry goes through.
    held.socket.write(body.subarray(1_000));
    expect((await within('A answered', held.answer, 3_000)).status).toBe(202);
    held.socket.destroy();
    await waitFor('the budget to be free', () => inflight.inUse === 0, 3_000, 10);
    expect((await send(server, { headers: b.headers, body: b.body })).status).toBe(202);
    expect(sink.deliveries).toHaveLength(2);
  });

  it('caps connections: with every slot busy a new connection is refused', async () => {
    const sink = new GatedSink();
    const server = await start(sink, undefined, { maxConnections: 3 });
    const answers = [1, 2, 3].map(() => {
      const req = signed();
      return send(server, { headers: req.headers, body: req.body });
    });
    await waitFor('three requests in flight', () => sink.pending === 3, 3_000, 10);
    await expect(send(server, { path: '/healthz', method: 'GET' })).rejects.toThrow();
    sink.releaseAll();
    expect((await Promise.all(answers)).map((a) => a.status)).toEqual([202, 202, 202]);
  });

  it('a client locked out by idle keep-alive connections gets in on its next attempt', async () => {
    const server = await start(new MemoryEventSink(), undefined, { maxConnections: 3 });
    const agents = [1, 2, 3].map(() => new http.Agent({ keepAlive: true, maxSockets: 1 }));
    for (const agent of agents) {
      expect((await send(server, { agent, path: '/healthz', method: 'GET' })).status).toBe(200);
    }
    // Three idle sockets fill the listener (kept 65 s for load balancers): reclaimed at the cap.
    expect(await healthWithRetries(server)).toBe(200);
    for (const agent of agents) agent.destroy();
  });

  it('a client locked out by connections that never send a request gets in once they are 2 s old', async () => {
    const server = await start(new MemoryEventSink(), undefined, { maxConnections: 3 });
    const silent = [1, 2, 3].map(() => net.connect({ host: '127.0.0.1', port: server.port }));
    await Promise.all(silent.map((s) => new Promise((r) => s.once('connect', r))));
    await sleep(2_100);
    expect(await healthWithRetries(server)).toBe(200);
    for (const s of silent) s.destroy();
  });

  it('rejects when the port is taken', async () => {
    const server = await start(new MemoryEventSink());
    const app = createApp({
      sink: new MemoryEventSink(),
      webhookKeys: keys,
      clock: systemClock,
      log: pino({ level: 'silent' }),
      isReady: () => true,
    });
    await expect(startHttpServer({ app, port: server.port, hostname: '127.0.0.1' })).rejects.toThrow(
      /EADDRINUSE/,
    );
  });
});

describe('startListeners', () => {
  const log = pino({ level: 'silent' });
  function apps() {
    const health = { clock: systemClock, log, isReady: () => true };
    const publicApp = createApp({ ...health, sink: new MemoryEventSink(), webhookKeys: keys });
    const admin = createAdminApp(health);
    // What the console, the results API or /metrics do: mount on the admin app.
    admin.get('/console/ping', (c) => c.text('pong'));
    return { public: publicApp, admin };
  }
  const settings = { port: 0, host: '127.0.0.1', adminHost: '127.0.0.1', maxConnections: 64 };
  const get = async (url: string) => (await fetch(url)).status;
  const postWebhook = async (url: string) => {
    const req = signed();
    return (await fetch(`${url}/webhooks/cxone`, { method: 'POST', headers: req.headers, body: req.body }))
      .status;
  };

  it('with ADMIN_PORT: webhooks only on the public listener, the rest only on the admin one, probes on both', async () => {
    const listeners = await startListeners(apps(), { ...settings, adminPort: 0 });
    running = listeners;
    expect(listeners.adminUrl).not.toBe(listeners.url);

    expect(await postWebhook(listeners.url)).toBe(202);
    expect(await get(`${listeners.url}/console/ping`)).toBe(404);
    expect(await postWebhook(listeners.adminUrl)).toBe(404);
    expect(await get(`${listeners.adminUrl}/console/ping`)).toBe(200);
    for (const url of [listeners.url, listeners.adminUrl]) {
      expect(await get(`${url}/healthz`)).toBe(200);
      expect(await get(`${url}/readyz`)).toBe(200);
    }

    await listeners.close(1_000);
    for (const url of [listeners.url, listeners.adminUrl]) {
      expect(await canConnect(Number(new URL(url).port))).toBe(false);
    }
  });

  it('without ADMIN_PORT: one listener serves both apps', async () => {
    const listeners = await startListeners(apps(), settings);
    running = listeners;
    expect(listeners.adminUrl).toBe(listeners.url);
    expect(await postWebhook(listeners.url)).toBe(202);
    expect(await get(`${listeners.url}/console/ping`)).toBe(200);
    expect(await get(`${listeners.url}/readyz`)).toBe(200);
    expect(await get(`${listeners.url}/nothing-here`)).toBe(404);
  });

  it('names ADMIN_PORT when that port is taken, and leaves PORT free again', async () => {
    const taken = await start(new MemoryEventSink());
    const failure = await startListeners(apps(), { ...settings, adminPort: taken.port }).catch((e) => e);
    expect(failure).toBeInstanceOf(ListenError);
    expect((failure as ListenError).setting).toBe('ADMIN_PORT');
  });
});

import http from 'node:http';
import net from 'node:net';
import pino, { type Logger } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { systemClock } from '../../src/clock.js';
import type { EventSink, RecordOutcome, VerifiedDelivery } from '../../src/events.js';
import { createApp } from '../../src/http/app.js';
import { type RunningHttpServer, startHttpServer } from '../../src/http/server.js';
import { parseWebhookSecrets } from '../../src/http/signature.js';
import { conversationEndedBody, MemoryEventSink, signedRequest, TEST_SECRET } from '../support/signing.js';

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

let running: RunningHttpServer | undefined;
afterEach(async () => {
  await running?.close(0);
  running = undefined;
});

async function start(sink: EventSink, log: Logger = pino({ level: 'silent' })) {
  const app = createApp({
    sink,
    webhookKeys: keys,
    clock: systemClock,
    log,
    isReady: () => true,
  });
  running = await startHttpServer({ app, port: 0, hostname: '127.0.0.1' });
  return running;
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

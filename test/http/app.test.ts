import { Writable } from 'node:stream';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { createApp, statusForCode } from '../../src/http/app.js';
import { parseWebhookSecrets, signWebhook } from '../../src/http/signature.js';
import { parseStudioTokens } from '../../src/http/studio.js';
import {
  conversationEndedBody,
  MemoryEventSink,
  makeWebhookSecret,
  type SignedRequestInput,
  signedRequest,
  TEST_SECRET,
} from '../support/signing.js';

const URL_PATH = 'http://localhost/webhooks/cxone';

function setup(
  options: {
    secrets?: string;
    isReady?: () => boolean;
    isAccepting?: () => boolean;
    onWebhook?: (outcome: string, why?: string) => void;
  } = {},
) {
  const parsed = parseWebhookSecrets(options.secrets ?? TEST_SECRET);
  if (!parsed.ok) throw new Error(parsed.message);
  const sink = new MemoryEventSink();
  const clock = new ManualClock(Date.UTC(2026, 0, 1, 12, 0, 0));
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk, _enc, done) {
      for (const line of String(chunk).split('\n')) if (line) lines.push(JSON.parse(line));
      done();
    },
  });
  const log = pino({ level: 'info' }, stream);
  const app = createApp({
    sink,
    webhookKeys: parsed.keys,
    clock,
    log,
    isReady: options.isReady ?? (() => true),
    ...(options.isAccepting ? { isAccepting: options.isAccepting } : {}),
    ...(options.onWebhook ? { onWebhook: options.onWebhook } : {}),
  });
  const nowSeconds = () => Math.floor(clock.now() / 1000);
  const post = (input: Partial<SignedRequestInput> = {}) => {
    const req = signedRequest({ timestamp: nowSeconds(), ...input });
    return app.request(URL_PATH, { method: 'POST', headers: req.headers, body: req.body });
  };
  return { app, sink, clock, lines, post, nowSeconds };
}

async function errorOf(res: Response): Promise<{ code: string; message: string; requestId: string }> {
  const body = (await res.json()) as { error: { code: string; message: string; requestId: string } };
  return body.error;
}

describe('POST /webhooks/cxone: accepted deliveries', () => {
  it('records a valid new event once and answers 202', async () => {
    const { sink, post, clock } = setup();
    const res = await post({ webhookId: 'msg_1' });
    expect(res.status).toBe(202);
    expect(await res.json()).toEqual({ status: 'accepted' });
    expect(sink.deliveries).toHaveLength(1);
    const [delivery] = sink.deliveries;
    expect(delivery!.webhookId).toBe('msg_1');
    expect(delivery!.receivedAt).toBe(clock.now());
    expect(delivery!.event).toEqual(conversationEndedBody());
    expect(delivery!.rawBody).toBe(JSON.stringify(conversationEndedBody()));
  });

  it('answers a repeated webhook-id 200 duplicate and records it once', async () => {
    const { sink, post } = setup();
    expect((await post({ webhookId: 'msg_dup' })).status).toBe(202);
    const again = await post({ webhookId: 'msg_dup' });
    expect(again.status).toBe(200);
    expect(await again.json()).toEqual({ status: 'duplicate' });
    expect(sink.deliveries).toHaveLength(1);
  });

  it('accepts transcript.ready with only conversation_id', async () => {
    const { sink, post } = setup();
    const body = {
      id: 'evt_2',
      type: 'transcript.ready',
      occurred_at: 'x',
      data: { conversation_id: 'c-1' },
    };
    expect((await post({ body })).status).toBe(202);
    expect(sink.deliveries[0]!.event).toEqual(body);
  });

  it('records an unknown event type, marked unknownType, and answers 202', async () => {
    const { sink, post } = setup();
    const body = { id: 'evt_3', type: 'agent.logged_in', occurred_at: 'x', data: { anything: [1, 2] } };
    const res = await post({ body });
    expect(res.status).toBe(202);
    expect(sink.deliveries[0]!.event).toEqual({ ...body, unknownType: true });
  });

  it('verifies over the exact bytes: odd whitespace and unicode escapes', async () => {
    const { sink, post } = setup();
    const body =
      '{ "id" :"evt_\\u00e9\\ud83d\\ude00",\n\t"type":"conversation.ended" , "occurred_at":"t",' +
      '"data":{"conversation_id":"conv-\u00fc","agent_id":null}}   ';
    const res = await post({ body: Buffer.from(body, 'utf8') });
    expect(res.status).toBe(202);
    const delivery = sink.deliveries[0]!;
    expect(delivery.rawBody).toBe(body);
    expect(delivery.event.id).toBe('evt_\u00e9\u{1F600}');
    expect((delivery.event.data as { conversation_id: string }).conversation_id).toBe('conv-\u00fc');
  });

  it('accepts application/json with a charset parameter, in any case', async () => {
    const { post } = setup();
    const res = await post({ headers: { 'content-type': 'Application/JSON; charset=utf-8' } });
    expect(res.status).toBe(202);
  });
});

describe('POST /webhooks/cxone: signature refusals (401, nothing recorded)', () => {
  const cases: [string, (now: number) => Partial<SignedRequestInput>, string][] = [
    ['missing webhook-id', () => ({ headers: { 'webhook-id': undefined } }), 'signature_missing_headers'],
    [
      'missing webhook-timestamp',
      () => ({ headers: { 'webhook-timestamp': undefined } }),
      'signature_missing_headers',
    ],
    [
      'missing webhook-signature',
      () => ({ headers: { 'webhook-signature': undefined } }),
      'signature_missing_headers',
    ],
    [
      'non-numeric timestamp',
      () => ({ headers: { 'webhook-timestamp': 'soon' } }),
      'signature_bad_timestamp',
    ],
    ['garbage signature', () => ({ signature: 'v1,bm9wZQ==' }), 'signature_no_match'],
    ['signature from another secret', () => ({ secret: makeWebhookSecret() }), 'signature_no_match'],
    ['stale (301 s old)', (now) => ({ timestamp: now - 301 }), 'signature_stale'],
    ['future (301 s ahead)', (now) => ({ timestamp: now + 301 }), 'signature_future'],
    [
      'v2-only signature',
      (now) => ({
        signature: signWebhook({ secret: TEST_SECRET, webhookId: 'm', timestamp: now, body: '{}' }).replace(
          'v1,',
          'v2,',
        ),
        webhookId: 'm',
        body: '{}',
      }),
      'signature_no_match',
    ],
  ];

  it.each(cases)('%s', async (_name, make, outcome) => {
    const { sink, post, nowSeconds, lines } = setup();
    const res = await post(make(nowSeconds()));
    expect(res.status).toBe(401);
    const error = await errorOf(res);
    expect(error.code).toBe('invalid_signature');
    expect(error.requestId).toMatch(/[0-9a-f-]{36}/);
    expect(sink.calls).toBe(0);
    expect(lines.at(-1)).toMatchObject({ status: 401, outcome });
  });

  it('refuses a body changed by one byte after signing', async () => {
    const { app, sink, nowSeconds } = setup();
    const req = signedRequest({ timestamp: nowSeconds() });
    const bytes = Buffer.from(req.body);
    const at = bytes.indexOf('12345');
    bytes[at] = '9'.charCodeAt(0);
    const res = await app.request(URL_PATH, { method: 'POST', headers: req.headers, body: bytes });
    expect(res.status).toBe(401);
    expect(sink.calls).toBe(0);
  });

  it('accepts a timestamp exactly 300 s off, either way', async () => {
    const { sink, post, nowSeconds } = setup();
    expect((await post({ timestamp: nowSeconds() - 300 })).status).toBe(202);
    expect((await post({ timestamp: nowSeconds() + 300 })).status).toBe(202);
    expect(sink.deliveries).toHaveLength(2);
  });

  it('accepts several signatures when one is valid', async () => {
    const { post, nowSeconds } = setup();
    const body = JSON.stringify(conversationEndedBody());
    const good = signWebhook({ secret: TEST_SECRET, webhookId: 'msg_s', timestamp: nowSeconds(), body });
    const bad = signWebhook({
      secret: makeWebhookSecret(),
      webhookId: 'msg_s',
      timestamp: nowSeconds(),
      body,
    });
    const res = await post({ body, webhookId: 'msg_s', signature: `${bad} v1a,abc ${good}` });
    expect(res.status).toBe(202);
  });

  it('accepts either of several secrets (rotation), with or without whsec_', async () => {
    const oldSecret = makeWebhookSecret();
    const newSecret = makeWebhookSecret();
    const { sink, post } = setup({ secrets: `${oldSecret} ${newSecret.slice('whsec_'.length)}` });
    expect((await post({ secret: oldSecret })).status).toBe(202);
    expect((await post({ secret: newSecret })).status).toBe(202);
    expect((await post({ secret: makeWebhookSecret() })).status).toBe(401);
    expect(sink.deliveries).toHaveLength(2);
  });

  it('never logs the signature header, the secret or the body', async () => {
    const { post, lines } = setup();
    const res = await post({ webhookId: 'msg_log' });
    expect(res.status).toBe(202);
    const text = JSON.stringify(lines);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      method: 'POST',
      path: '/webhooks/cxone',
      status: 202,
      webhookId: 'msg_log',
      eventType: 'conversation.ended',
      outcome: 'recorded',
    });
    expect(typeof lines[0]!.reqId).toBe('string');
    expect(typeof lines[0]!.durationMs).toBe('number');
    expect(text).not.toContain('v1,');
    expect(text).not.toContain(TEST_SECRET.slice('whsec_'.length));
    expect(text).not.toContain('conv-12345');
  });
});

describe('POST /webhooks/cxone: body refusals', () => {
  it('answers 400 invalid_json for a signed body that is not JSON', async () => {
    const { sink, post } = setup();
    const res = await post({ body: '{"id": "evt_1",' });
    expect(res.status).toBe(400);
    expect((await errorOf(res)).code).toBe('invalid_json');
    expect(sink.calls).toBe(0);
  });

  it('answers 400 invalid_json for a body that is not UTF-8', async () => {
    const { sink, post } = setup();
    const res = await post({ body: Buffer.from([0x7b, 0x22, 0xff, 0x22, 0x7d]) });
    expect(res.status).toBe(400);
    expect((await errorOf(res)).code).toBe('invalid_json');
    expect(sink.calls).toBe(0);
  });

  const shapes: [string, unknown, string][] = [
    ['missing conversation_id', conversationEndedBody({ data: { agent_id: 'a' } }), 'data.conversation_id'],
    [
      'empty conversation_id',
      conversationEndedBody({ data: { conversation_id: '' } }),
      'data.conversation_id',
    ],
    [
      'numeric conversation_id',
      conversationEndedBody({ data: { conversation_id: 42 } }),
      'data.conversation_id',
    ],
    [
      'numeric agent_id',
      conversationEndedBody({ data: { conversation_id: 'c', agent_id: 7 } }),
      'data.agent_id',
    ],
    [
      'transcript.ready without conversation_id',
      { id: 'e', type: 'transcript.ready', occurred_at: 't', data: {} },
      'data.conversation_id',
    ],
    ['missing id', { type: 'x', occurred_at: 't', data: {} }, 'id'],
    ['id too long', conversationEndedBody({ id: 'e'.repeat(201) }), 'id'],
    ['numeric type', conversationEndedBody({ type: 3 }), 'type'],
    ['missing occurred_at', { id: 'e', type: 'x', data: {} }, 'occurred_at'],
    ['data is an array', { id: 'e', type: 'x', occurred_at: 't', data: [] }, 'data'],
    ['data is null', { id: 'e', type: 'x', occurred_at: 't', data: null }, 'data'],
    ['body is an array', [1, 2], 'body'],
  ];

  it.each(shapes)('answers 400 invalid_body naming the field: %s', async (_name, body, field) => {
    const { sink, post } = setup();
    const res = await post({ body: JSON.stringify(body) });
    expect(res.status).toBe(400);
    const error = await errorOf(res);
    expect(error.code).toBe('invalid_body');
    expect(error.message.startsWith(`${field}:`)).toBe(true);
    expect(sink.calls).toBe(0);
  });

  it('answers 400 for an over-long webhook-id', async () => {
    const { sink, post } = setup();
    const res = await post({ webhookId: 'm'.repeat(201) });
    expect(res.status).toBe(400);
    expect((await errorOf(res)).code).toBe('invalid_webhook_id');
    expect(sink.calls).toBe(0);
  });

  it('answers 415 when the Content-Type is not application/json', async () => {
    const { sink, post } = setup();
    for (const type of ['text/plain', 'application/jsonx', undefined]) {
      const res = await post({ headers: { 'content-type': type } });
      expect(res.status).toBe(415);
      expect((await errorOf(res)).code).toBe('unsupported_media_type');
    }
    expect(sink.calls).toBe(0);
  });
});

describe('POST /webhooks/cxone: size limit (413)', () => {
  const LIMIT = 256 * 1024;
  const bigBody = (size: number) => {
    const base = JSON.stringify(conversationEndedBody({ padding: '' }));
    return base.replace('"padding":""', `"padding":"${'x'.repeat(size - base.length)}"`);
  };

  it('accepts a body of exactly 256 KiB', async () => {
    const { sink, post } = setup();
    const body = bigBody(LIMIT);
    expect(Buffer.byteLength(body)).toBe(LIMIT);
    expect((await post({ body })).status).toBe(202);
    expect(sink.deliveries).toHaveLength(1);
  });

  it('refuses one byte more, declared by Content-Length, without reading it', async () => {
    const { app, sink, nowSeconds } = setup();
    const req = signedRequest({ timestamp: nowSeconds(), body: bigBody(LIMIT + 1) });
    // highWaterMark 0: the stream produces only when read, so `pulled` counts the route's reads.
    let pulled = 0;
    const chunk = Buffer.alloc(16 * 1024, 0x20);
    const stream = new ReadableStream<Uint8Array>(
      {
        pull(controller) {
          pulled++;
          controller.enqueue(chunk);
        },
      },
      { highWaterMark: 0 },
    );
    const res = await app.request(URL_PATH, {
      method: 'POST',
      headers: { ...req.headers, 'content-length': String(LIMIT + 1) },
      body: stream,
      duplex: 'half',
    } as RequestInit);
    expect(res.status).toBe(413);
    expect((await errorOf(res)).code).toBe('payload_too_large');
    expect(res.headers.get('connection')).toBe('close');
    expect(pulled).toBe(0);
    expect(sink.calls).toBe(0);
  });

  it('refuses a streamed body with no Content-Length, stopping at the limit', async () => {
    const { app, sink, nowSeconds } = setup();
    const req = signedRequest({ timestamp: nowSeconds(), body: bigBody(LIMIT + 1) });
    let sent = 0;
    const chunk = Buffer.alloc(16 * 1024, 0x20);
    // An endless body: the route must stop reading once past the limit, not wait for the end.
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        sent += chunk.length;
        controller.enqueue(chunk);
      },
    });
    const res = await app.request(URL_PATH, {
      method: 'POST',
      headers: req.headers,
      body: stream,
      duplex: 'half',
    } as RequestInit);
    expect(res.status).toBe(413);
    expect(sent).toBeLessThan(LIMIT + 4 * chunk.length);
    expect(sink.calls).toBe(0);
  });

  it('refuses a body larger than its lying Content-Length', async () => {
    const { app, sink, nowSeconds } = setup();
    const req = signedRequest({ timestamp: nowSeconds(), body: bigBody(LIMIT * 2) });
    const body = Buffer.from(req.body);
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(body);
        controller.close();
      },
    });
    const res = await app.request(URL_PATH, {
      method: 'POST',
      headers: { ...req.headers, 'content-length': '100' },
      body: stream,
      duplex: 'half',
    } as RequestInit);
    expect(res.status).toBe(413);
    expect(sink.calls).toBe(0);
  });
});

describe('POST /webhooks/cxone: availability', () => {
  it('answers 503 when the sink throws, and logs it once with context', async () => {
    const { sink, post, lines } = setup();
    sink.failWith = new Error('SQLITE_BUSY: database is locked');
    const res = await post({ webhookId: 'msg_503' });
    expect(res.status).toBe(503);
    expect((await errorOf(res)).code).toBe('store_unavailable');
    const errors = lines.filter((l) => l.level === 50);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ webhookId: 'msg_503', eventType: 'conversation.ended' });
    expect(JSON.stringify(errors[0])).toContain('SQLITE_BUSY');
    // The same delivery, retried once the store is back, is recorded.
    sink.failWith = undefined;
    expect((await post({ webhookId: 'msg_503' })).status).toBe(202);
  });

  it('answers 503 store_busy with Retry-After when the store stays locked, logging no error', async () => {
    const { sink, post, lines } = setup();
    sink.record = async () => 'busy';
    const res = await post();
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('5');
    expect((await errorOf(res)).code).toBe('store_busy');
    expect(lines.filter((l) => (l.level as number) >= 50)).toEqual([]);
  });

  it('answers 503 shutting_down, recording nothing, while not accepting', async () => {
    let accepting = true;
    const { app, sink, post } = setup({ isAccepting: () => accepting });
    accepting = false;
    const res = await post();
    expect(res.status).toBe(503);
    expect((await errorOf(res)).code).toBe('shutting_down');
    expect(res.headers.get('connection')).toBe('close');
    expect(sink.calls).toBe(0);
    expect((await app.request('/readyz')).status).toBe(503);
    expect((await app.request('/healthz')).status).toBe(200);
    accepting = true;
    expect((await app.request('/readyz')).status).toBe(200);
    expect((await post()).status).toBe(202);
  });
});

describe('other routes', () => {
  it('GET /healthz answers 200 ok', async () => {
    const { app } = setup({ isReady: () => false });
    const res = await app.request('/healthz');
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ok' });
  });

  it('GET /readyz follows isReady()', async () => {
    let ready = false;
    const { app } = setup({ isReady: () => ready });
    const before = await app.request('/readyz');
    expect(before.status).toBe(503);
    expect(await before.json()).toEqual({ status: 'not_ready' });
    ready = true;
    expect((await app.request('/readyz')).status).toBe(200);
  });

  it('GET /readyz is 503 while the store cannot take a write, saying why', async () => {
    let store: { ok: true } | { ok: false; reason: string } = { ok: false, reason: 'locked' };
    const parsed = parseWebhookSecrets(TEST_SECRET);
    if (!parsed.ok) throw new Error(parsed.message);
    const app = createApp({
      sink: new MemoryEventSink(),
      webhookKeys: parsed.keys,
      clock: new ManualClock(),
      log: pino({ level: 'silent' }),
      isReady: () => true,
      storeWritable: async () => store,
    });
    const locked = await app.request('/readyz');
    expect(locked.status).toBe(503);
    expect(await locked.json()).toEqual({ status: 'not_ready', reason: 'locked' });
    store = { ok: true };
    expect((await app.request('/readyz')).status).toBe(200);
  });

  it('answers unknown routes 404 JSON and other methods on the webhook 405', async () => {
    const { app, lines } = setup();
    const res = await app.request('/nope');
    expect(res.status).toBe(404);
    expect((await errorOf(res)).code).toBe('not_found');
    const get = await app.request('/webhooks/cxone');
    expect(get.status).toBe(405);
    expect(get.headers.get('allow')).toBe('POST');
    expect(lines.map((l) => l.status)).toEqual([404, 405]);
  });

  it('maps every error code to a status', () => {
    expect(statusForCode('invalid_signature')).toBe(401);
    expect(statusForCode('invalid_json')).toBe(400);
    expect(statusForCode('invalid_body')).toBe(400);
    expect(statusForCode('payload_too_large')).toBe(413);
    expect(statusForCode('unsupported_media_type')).toBe(415);
    expect(statusForCode('store_unavailable')).toBe(503);
    expect(statusForCode('shutting_down')).toBe(503);
  });
});

describe('POST /webhooks/cxone/studio (platform profile)', () => {
  const TOKEN = 'studio-token-0123456789abcdef0123456789';
  const OLD = 'older-token-abcdefabcdefabcdefabcdefabcdef';
  function studio(options: { accepting?: boolean } = {}) {
    const tokens = parseStudioTokens(`${TOKEN} ${OLD}`);
    if (!tokens.ok) throw new Error(tokens.message);
    const sink = new MemoryEventSink();
    const app = createApp({
      sink,
      webhookKeys: [],
      clock: new ManualClock(Date.UTC(2026, 0, 1)),
      log: pino({ level: 'silent' }),
      isReady: () => true,
      isAccepting: () => options.accepting ?? true,
      studioTokens: tokens.tokens,
      maxBodyBytes: 1024,
    });
    const post = (
      body: string,
      auth: string | null = `Bearer ${TOKEN}`,
      headers: Record<string, string> = {},
    ) =>
      app.request('http://localhost/webhooks/cxone/studio', {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(auth ? { authorization: auth } : {}), ...headers },
        body,
      });
    return { app, sink, post };
  }

  it('queues the contact as ended, once: a repeat of the contactId changes nothing', async () => {
    const { sink, post } = studio();
    const res = await post(
      '{"contactId": 9007199254740993, "agentId": "789", "mediaType": "Call", "skill": 5}',
    );
    expect(res.status).toBe(202);
    expect(sink.deliveries).toHaveLength(1);
    expect(sink.deliveries[0]).toMatchObject({
      webhookId: 'studio:9007199254740993',
      event: {
        type: 'conversation.ended',
        data: { conversation_id: '9007199254740993', agent_id: '789', media_type: 'Call' },
      },
    });
    const again = await post('{"contactId": "9007199254740993"}', `Bearer ${OLD}`);
    expect(again.status).toBe(200);
    expect(await again.json()).toEqual({ status: 'duplicate' });
    expect(sink.deliveries).toHaveLength(1);
  });

  it('refuses a missing or wrong token with 401 before reading the body; records nothing', async () => {
    const { sink, post } = studio();
    for (const auth of [null, 'Bearer nope', `Basic ${TOKEN}`, `Bearer ${TOKEN}x`]) {
      const res = await post('{"contactId": 1}', auth);
      expect(res.status, String(auth)).toBe(401);
      expect((await errorOf(res)).code).toBe('invalid_token');
    }
    // Not even the size is looked at without the token.
    expect((await post('x'.repeat(5000), 'Bearer nope')).status).toBe(401);
    expect(sink.calls).toBe(0);
  });

  it('400 for a body that is not JSON or names no contact, 413 past the limit, 503 while stopping', async () => {
    const { sink, post } = studio();
    expect((await post('not json')).status).toBe(400);
    const bad = await post('{"contactId": ".."}');
    expect(bad.status).toBe(400);
    expect(await errorOf(bad)).toMatchObject({
      code: 'invalid_body',
      message: expect.stringMatching(/^contactId/),
    });
    expect((await post(`{"contactId": 1, "pad": "${'x'.repeat(2000)}"}`)).status).toBe(413);
    expect(sink.calls).toBe(0);
    expect((await studio({ accepting: false }).post('{"contactId": 1}')).status).toBe(503);
  });

  it('503 with Retry-After while the store is locked (store_busy) or failing (store_unavailable); nothing recorded', async () => {
    const { sink, post } = studio();
    sink.record = async () => 'busy';
    const busy = await post('{"contactId": 7}');
    expect(busy.status).toBe(503);
    expect(busy.headers.get('retry-after')).not.toBeNull();
    expect((await errorOf(busy)).code).toBe('store_busy');
    const failing = studio();
    failing.sink.failWith = new Error('SQLITE_IOERR');
    const down = await failing.post('{"contactId": 7}');
    expect(down.status).toBe(503);
    expect((await errorOf(down)).code).toBe('store_unavailable');
    expect(failing.sink.deliveries).toHaveLength(0);
  });

  it('is not served without STUDIO_WEBHOOK_TOKEN', async () => {
    const { app } = setup();
    const res = await app.request('http://localhost/webhooks/cxone/studio', { method: 'POST', body: '{}' });
    expect(res.status).toBe(404);
  });
});

describe('onWebhook (metrics and the signature watch)', () => {
  it('hears how every webhook request ended, with why a signature was refused, and nothing of the probes', async () => {
    const heard: string[] = [];
    const { app, post, nowSeconds, sink } = setup({
      onWebhook: (outcome, why) => heard.push(why ? `${outcome}:${why}` : outcome),
    });
    await post({ webhookId: 'msg_1' });
    await post({ webhookId: 'msg_1' });
    await post({ secret: makeWebhookSecret() });
    await post({ timestamp: nowSeconds() - 3_600 });
    await post({ headers: { 'webhook-signature': undefined } });
    await post({ body: { id: 'x' } });
    sink.failWith = new Error('disk I/O error');
    await post();
    await app.request('/healthz');
    await app.request('/readyz');
    expect(heard).toEqual([
      'accepted',
      'duplicate',
      'invalid_signature:no_match',
      'invalid_signature:stale',
      'invalid_signature:missing_headers',
      'invalid_body',
      'store_unavailable',
    ]);
  });
});

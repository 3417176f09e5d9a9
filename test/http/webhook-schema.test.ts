/**
 * The webhook body's shape (src/http/webhook-schema.ts): every field used as a key or in a URL obeys
 * the domain's id rules, every stored text field is well-formed; a signed body that breaks them is a
 * 400 naming the field, and nothing is recorded.
 */
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { createApp } from '../../src/http/app.js';
import { parseWebhookSecrets } from '../../src/http/signature.js';
import { parseWebhookBody } from '../../src/http/webhook-schema.js';
import { conversationEndedBody, MemoryEventSink, signedRequest, TEST_SECRET } from '../support/signing.js';

const ended = (data: Record<string, unknown>) =>
  conversationEndedBody({ data: { ...(conversationEndedBody().data as object), ...data } });

describe('a signed webhook whose ids cannot be a conversation id', () => {
  function setup() {
    const parsed = parseWebhookSecrets(TEST_SECRET);
    if (!parsed.ok) throw new Error(parsed.message);
    const sink = new MemoryEventSink();
    const clock = new ManualClock(Date.UTC(2026, 0, 1, 12, 0, 0));
    const app = createApp({
      sink,
      webhookKeys: parsed.keys,
      clock,
      log: pino({ level: 'silent' }),
      isReady: () => true,
    });
    /** Posts `json` exactly as given (JSON text may hold escapes such as \ud800), correctly signed. */
    const post = (json: string) => {
      const req = signedRequest({ timestamp: Math.floor(clock.now() / 1000), body: json });
      return app.request('http://localhost/webhooks/cxone', {
        method: 'POST',
        headers: req.headers,
        body: req.body,
      });
    };
    return { sink, post };
  }

  it.each([
    // The attack: legal JSON, not well-formed Unicode. Answered 202 before, then wedged the service.
    ['a lone surrogate', '"poison\\ud800-x"', /well-formed Unicode/],
    ['..', '".."', /dot segment/],
    ['.', '"."', /dot segment/],
    ['a slash', '"a/b"', /slash/],
    ['a control character', '"conv\\u0000-1"', /control/],
    ['a bidi override', '"conv-\\u202e1"', /invisible/],
  ])('conversation_id with %s: 400 naming the field, nothing recorded', async (_name, idJson, why) => {
    const { sink, post } = setup();
    const json = JSON.stringify(ended({ conversation_id: '__ID__' })).replace('"__ID__"', idJson);
    const res = await post(json);
    expect(res.status).toBe(400);
    const { error } = (await res.json()) as { error: { code: string; message: string } };
    expect(error.code).toBe('invalid_body');
    expect(error.message).toMatch(/^data\.conversation_id: /);
    expect(error.message).toMatch(why);
    expect(sink.calls).toBe(0);
  });

  it('the same for agent_id, and for transcript.ready', async () => {
    const { sink, post } = setup();
    const agent = await post(JSON.stringify(ended({ agent_id: '..' })));
    expect(agent.status).toBe(400);
    expect(((await agent.json()) as { error: { message: string } }).error.message).toMatch(
      /^data\.agent_id: /,
    );
    const ready = await post(
      '{"id":"e1","type":"transcript.ready","occurred_at":"2026-01-01T12:00:00Z","data":{"conversation_id":"x\\udfff"}}',
    );
    expect(ready.status).toBe(400);
    expect(sink.calls).toBe(0);
  });
});

describe('parseWebhookBody', () => {
  it('accepts ids CXone uses', () => {
    for (const id of ['conv-12345', '3f2b9a4e-5c1d-4e8f-9a7b-1c2d3e4f5a6b', '9223372036854775807', 'a.b']) {
      expect(parseWebhookBody(ended({ conversation_id: id })).ok, id).toBe(true);
    }
  });

  it.each([
    ['id', conversationEndedBody({ id: 'evt\ud800' }), /^id: .*well-formed/],
    ['type', conversationEndedBody({ type: 'x\u0007' }), /^type: .*control/],
    ['occurred_at', conversationEndedBody({ occurred_at: '2024\ud83d' }), /^occurred_at: .*well-formed/],
    ['media_type', ended({ media_type: 'voice\n' }), /^data\.media_type: .*control/],
    ['start_time', ended({ start_time: '\udc00' }), /^data\.start_time: .*well-formed/],
    ['end_time', ended({ end_time: 'x'.repeat(101) }), /^data\.end_time: .*at most 100/],
  ])('refuses stored text that would not read back as sent: %s', (_field, body, why) => {
    const parsed = parseWebhookBody(body);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.reason).toMatch(why);
  });

  it('an unknown event type with an odd data field is still recorded (its data is kept as raw JSON)', () => {
    const parsed = parseWebhookBody({
      id: 'e',
      type: 'agent.paused',
      occurred_at: 't',
      data: { x: '\ud800' },
    });
    expect(parsed.ok).toBe(true);
  });
});

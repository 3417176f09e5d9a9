import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { type CxoneSimulatorOptions, createCxoneSimulator } from '../../src/simulator/index.js';

type Sim = ReturnType<typeof createCxoneSimulator>;

function form(body: Record<string, string>): RequestInit {
  return {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(body).toString(),
  };
}

async function tokenFor(sim: Sim): Promise<string> {
  const res = await sim.app.request(
    '/oauth/token',
    form({
      grant_type: 'client_credentials',
      client_id: sim.clientId,
      client_secret: sim.clientSecret,
      scope: 'a b',
    }),
  );
  expect(res.status).toBe(200);
  return ((await res.json()) as { access_token: string }).access_token;
}

function setup(options: CxoneSimulatorOptions = {}) {
  const sim = createCxoneSimulator(options);
  sim.addConversation({
    id: 'conv-1',
    agentId: 'agent-1',
    startTime: '2024-05-10T14:30:00Z',
    endTime: '2024-05-10T14:35:22Z',
    transcript: [{ speaker: 'AGENT', text: 'Hello', timestamp: '00:00:01.0' }],
  });
  return sim;
}

async function api(
  sim: Sim,
  token: string,
  path: string,
  init: RequestInit = {},
  extra: Record<string, string> = {},
) {
  return sim.app.request(path, {
    ...init,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...extra },
  });
}

function evaluation(overrides: Record<string, unknown> = {}) {
  return {
    form_id: 'form-demo',
    agent_id: 'agent-1',
    conversation_id: 'conv-1',
    sections: [
      {
        section_id: 'section-compliance',
        items: [
          { item_id: 'item-greeting', score: 100, comment: 'ok' },
          { item_id: 'item-closing', score: 0, comment: 'missing' },
        ],
      },
    ],
    overall_score: 50,
    comment: 'Automated compliance evaluation. Composite score: 50.00',
    ...overrides,
  };
}

const post = (body: unknown): RequestInit => ({ method: 'POST', body: JSON.stringify(body) });

describe('token endpoint', () => {
  it('issues a bearer token for the right client and refuses others', async () => {
    const sim = setup();
    const ok = await sim.app.request(
      '/oauth/token',
      form({ grant_type: 'client_credentials', client_id: sim.clientId, client_secret: sim.clientSecret }),
    );
    expect(ok.status).toBe(200);
    expect(await ok.json()).toMatchObject({
      access_token: expect.any(String),
      expires_in: 3600,
      token_type: 'Bearer',
    });
    const wrongGrant = await sim.app.request(
      '/oauth/token',
      form({ grant_type: 'password', client_id: sim.clientId, client_secret: sim.clientSecret }),
    );
    expect(wrongGrant.status).toBe(400);
    const wrongSecret = await sim.app.request(
      '/oauth/token',
      form({ grant_type: 'client_credentials', client_id: sim.clientId, client_secret: 'nope' }),
    );
    expect(wrongSecret.status).toBe(401);
  });

  it('API calls need a live token: missing, expired and revoked ones get 401', async () => {
    const clock = new ManualClock();
    const sim = setup({ clock, tokenTtlSeconds: 60 });
    expect((await sim.app.request('/api/v2/qm/forms/form-demo')).status).toBe(401);
    const token = await tokenFor(sim);
    expect((await api(sim, token, '/api/v2/qm/forms/form-demo')).status).toBe(200);
    await clock.advance(60_000);
    expect((await api(sim, token, '/api/v2/qm/forms/form-demo')).status).toBe(401);
    const fresh = await tokenFor(sim);
    sim.revokeTokens();
    expect((await api(sim, fresh, '/api/v2/qm/forms/form-demo')).status).toBe(401);
  });
});

describe('conversations query', () => {
  it('pages newest first with an opaque cursor that survives new arrivals between pages', async () => {
    const sim = setup({ pageSizeCap: 2 });
    for (let i = 2; i <= 5; i++) {
      sim.addConversation({
        id: `conv-${i}`,
        startTime: Date.UTC(2024, 4, 10 + i, 10),
        endTime: Date.UTC(2024, 4, 10 + i, 11),
        transcript: [],
      });
    }
    const token = await tokenFor(sim);
    const query = { query: 'status:COMPLETED', page_size: 50, sort_by: 'end_time', sort_order: 'desc' };
    const first = await api(sim, token, '/api/v2/conversations/details/query', post(query));
    const page1 = (await first.json()) as {
      conversations: { id: string; status: string; agent_id: string | null; end_time: string }[];
      next_page_token: string | null;
      total_results: number;
    };
    expect(page1.conversations.map((c) => c.id)).toEqual(['conv-5', 'conv-4']);
    expect(page1.total_results).toBe(5);
    expect(page1.conversations[0]).toMatchObject({
      status: 'COMPLETED',
      agent_id: null,
      end_time: '2024-05-15T11:00:00.000Z',
    });
    // A newer conversation arrives: it must not shift the next page.
    sim.addConversation({
      id: 'conv-new',
      startTime: Date.UTC(2024, 5, 1),
      endTime: Date.UTC(2024, 5, 1, 1),
      transcript: [],
    });
    const ids: string[] = [];
    let next = page1.next_page_token;
    while (next) {
      const res = await api(
        sim,
        token,
        '/api/v2/conversations/details/query',
        post({ ...query, next_page_token: next }),
      );
      const page = (await res.json()) as typeof page1;
      ids.push(...page.conversations.map((c) => c.id));
      next = page.next_page_token;
    }
    expect(ids).toEqual(['conv-3', 'conv-2', 'conv-1']);
    const bad = await api(
      sim,
      token,
      '/api/v2/conversations/details/query',
      post({ ...query, next_page_token: '!!' }),
    );
    expect(bad.status).toBe(400);
  });
});

describe('transcripts and forms', () => {
  it('answers 404 while transcription runs and for unknown conversations', async () => {
    const clock = new ManualClock();
    const sim = setup({ clock });
    sim.addConversation({
      id: 'conv-late',
      agentId: 'a',
      startTime: clock.now() - 60_000,
      endTime: clock.now(),
      transcript: [{ speaker: 'CUSTOMER', text: 'hi', timestamp: '' }],
      transcriptReadyAt: clock.now() + 30_000,
    });
    const token = await tokenFor(sim);
    expect((await api(sim, token, '/api/v2/conversations/conv-late/media/transcripts')).status).toBe(404);
    expect((await api(sim, token, '/api/v2/conversations/conv-x/media/transcripts')).status).toBe(404);
    await clock.advance(30_000);
    const ready = await api(sim, token, '/api/v2/conversations/conv-late/media/transcripts');
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ transcript: [{ speaker: 'CUSTOMER', text: 'hi', timestamp: '' }] });
    expect(sim.callsOf('transcript', 'conv-late').map((e) => e.status)).toEqual([404, 200]);
  });

  it('serves the demo form with the rubric item names', async () => {
    const sim = setup();
    const token = await tokenFor(sim);
    const res = await api(sim, token, '/api/v2/qm/forms/form-demo');
    const body = (await res.json()) as { sections: { items: { name: string }[] }[] };
    expect(body.sections[0]?.items.map((i) => i.name)).toEqual([
      'greeting',
      'verification',
      'compliance_disclosure',
      'closing_summary',
    ]);
    expect((await api(sim, token, '/api/v2/qm/forms/other')).status).toBe(404);
  });
});

describe('evaluations', () => {
  it.each([
    ['unknown form', { form_id: 'form-x' }, 'form form-x is unknown'],
    [
      'unknown section',
      { sections: [{ section_id: 's-x', items: [{ item_id: 'item-greeting', score: 1 }] }] },
      'section s-x',
    ],
    [
      'item not on the section',
      { sections: [{ section_id: 'section-compliance', items: [{ item_id: 'item-x', score: 1 }] }] },
      'item item-x',
    ],
    [
      'score out of range',
      { sections: [{ section_id: 'section-compliance', items: [{ item_id: 'item-greeting', score: 101 }] }] },
      'score must be',
    ],
    [
      'score not a number',
      {
        sections: [{ section_id: 'section-compliance', items: [{ item_id: 'item-greeting', score: '100' }] }],
      },
      'score must be',
    ],
    ['missing agent', { agent_id: '' }, 'agent_id'],
    ['unknown conversation', { conversation_id: 'conv-x' }, 'conv-x'],
    ['missing conversation', { conversation_id: undefined }, 'conversation_id'],
    ['overall score out of range', { overall_score: -1 }, 'overall_score'],
  ])('refuses %s with 422 and stores nothing', async (_name, overrides, reason) => {
    const sim = setup();
    const token = await tokenFor(sim);
    const res = await api(sim, token, '/api/v2/qm/evaluations', post(evaluation(overrides)), {
      'idempotency-key': 'k',
    });
    expect(res.status).toBe(422);
    const body = (await res.json()) as { error: { code: string; message: string; details: string[] } };
    expect(body.error.code).toBe('validation_failed');
    expect(body.error.details.join('\n')).toContain(reason);
    expect(sim.evaluations).toHaveLength(0);
  });

  it('stores a valid evaluation; a repeated Idempotency-Key answers the same one, a new key stores another', async () => {
    const sim = setup();
    const token = await tokenFor(sim);
    const send = (key: string) =>
      api(sim, token, '/api/v2/qm/evaluations', post(evaluation()), { 'idempotency-key': key });
    const first = await send('conv-1:form-demo');
    expect(first.status).toBe(201);
    const made = (await first.json()) as { id: string; status: string };
    expect(made).toMatchObject({ id: expect.stringMatching(/^eval-/), status: 'COMPLETED' });
    const again = await send('conv-1:form-demo');
    expect(again.status).toBe(200);
    expect(((await again.json()) as { id: string }).id).toBe(made.id);
    expect(sim.evaluationsFor('conv-1')).toHaveLength(1);
    await send('other-key');
    expect(sim.evaluationsFor('conv-1')).toHaveLength(2);
    expect(sim.evaluations[0]).toMatchObject({
      id: made.id,
      idempotencyKey: 'conv-1:form-demo',
      formId: 'form-demo',
      agentId: 'agent-1',
      overallScore: 50,
    });
    expect(sim.callsOf('evaluation', 'conv-1').map((e) => e.status)).toEqual([201, 200, 201]);
  });
});

describe('fault controls', () => {
  it('failNext answers the given status, body and Retry-After for `count` calls, then behaves again', async () => {
    const sim = setup();
    const token = await tokenFor(sim);
    sim.failNext('form', { status: 503, count: 2, retryAfter: 7 });
    sim.failNext('form', { status: 200, body: 'garbage' });
    const a = await api(sim, token, '/api/v2/qm/forms/form-demo');
    expect(a.status).toBe(503);
    expect(a.headers.get('retry-after')).toBe('7');
    expect((await api(sim, token, '/api/v2/qm/forms/form-demo')).status).toBe(503);
    const c = await api(sim, token, '/api/v2/qm/forms/form-demo');
    expect(await c.text()).toBe('garbage');
    const d = await api(sim, token, '/api/v2/qm/forms/form-demo');
    expect(d.status).toBe(200);
    expect(((await d.json()) as { id: string }).id).toBe('form-demo');
    expect(sim.callsOf('form').map((e) => e.status)).toEqual([503, 503, 200, 200]);
  });

  it('failNext on the token call', async () => {
    const sim = setup();
    sim.failNext('token', { status: 500 });
    const res = await sim.app.request(
      '/oauth/token',
      form({ grant_type: 'client_credentials', client_id: sim.clientId, client_secret: sim.clientSecret }),
    );
    expect(res.status).toBe(500);
    expect(sim.tokensIssued).toBe(0);
  });

  it('its own rate limit answers 429 with Retry-After over a sliding minute', async () => {
    const clock = new ManualClock();
    const sim = setup({ clock, rateLimitPerMinute: 3 });
    const token = await tokenFor(sim); // call 1
    await clock.advance(20_000);
    expect((await api(sim, token, '/api/v2/qm/forms/form-demo')).status).toBe(200); // call 2
    expect((await api(sim, token, '/api/v2/qm/forms/form-demo')).status).toBe(200); // call 3
    const limited = await api(sim, token, '/api/v2/qm/forms/form-demo');
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('40');
    await clock.advance(40_000);
    expect((await api(sim, token, '/api/v2/qm/forms/form-demo')).status).toBe(200);
    expect(sim.maxCallsInAnyWindow()).toBe(4); // the refused call counts as a request seen
  });

  it('hangNext never answers until the client goes away; close() still returns', async () => {
    const sim = setup();
    const server = await sim.listen();
    sim.hangNext('token');
    const controller = new AbortController();
    const pending = fetch(`${server.url}/oauth/token`, { method: 'POST', signal: controller.signal }).catch(
      (e: unknown) => e,
    );
    await new Promise((r) => setTimeout(r, 100));
    expect(sim.callLog[0]).toMatchObject({ call: 'token', status: 0 });
    controller.abort();
    await pending;
    for (let i = 0; i < 100 && !sim.callLog[0]?.clientClosed; i++) await new Promise((r) => setTimeout(r, 5));
    expect(sim.callLog[0]?.clientClosed).toBe(true);
    sim.hangNext('token');
    void fetch(`${server.url}/oauth/token`, { method: 'POST' }).catch(() => undefined);
    await new Promise((r) => setTimeout(r, 50));
    await server.close();
  });

  it('dropResponseAfterCommitNext stores the evaluation and cuts the connection', async () => {
    const sim = setup();
    const server = await sim.listen();
    try {
      const token = await tokenFor(sim);
      sim.dropResponseAfterCommitNext();
      const lost = await fetch(`${server.url}/api/v2/qm/evaluations`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${token}`,
          'content-type': 'application/json',
          'idempotency-key': 'k',
        },
        body: JSON.stringify(evaluation()),
      }).then(
        () => 'answered',
        () => 'connection lost',
      );
      expect(lost).toBe('connection lost');
      expect(sim.evaluations).toHaveLength(1);
      expect(sim.callsOf('evaluation')[0]).toMatchObject({ dropped: true, status: 0 });
    } finally {
      await server.close();
    }
  });

  it('latency delays every answer, or only one kind of call', async () => {
    const sim = setup({ latencyMs: 300 });
    let started = Date.now();
    const token = await tokenFor(sim);
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    sim.setLatency(0);
    sim.setLatency(300, 'form');
    started = Date.now();
    await tokenFor(sim);
    expect(Date.now() - started).toBeLessThan(250);
    started = Date.now();
    await api(sim, token, '/api/v2/qm/forms/form-demo');
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
  });
});

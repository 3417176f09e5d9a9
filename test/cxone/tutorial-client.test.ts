import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { parseRetryAfterMs, type RateLimitPause } from '../../src/cxone/api-caller.js';
import { createSlidingWindowBudget } from '../../src/cxone/budget.js';
import { createTutorialClient } from '../../src/cxone/tutorial-client.js';
import { DEFAULT_CXONE_PATHS } from '../../src/cxone/tutorial-wire.js';
import type { EvaluationBody, RequestBudget } from '../../src/cxone/types.js';
import { type CxoneSimulatorOptions, maxCallsInAnyWindow } from '../../src/simulator/index.js';
import { type SimulatorHarness, startSimulator } from '../support/simulator.js';
import { waitFor } from '../support/wait.js';

const harnesses: SimulatorHarness[] = [];
afterEach(async () => {
  await Promise.all(harnesses.splice(0).map((h) => h.close()));
});

async function start(options: CxoneSimulatorOptions = {}): Promise<SimulatorHarness> {
  const h = await startSimulator(options);
  harnesses.push(h);
  h.sim.addConversation({
    id: 'conv-1',
    agentId: 'agent-1',
    startTime: '2024-05-10T14:30:00Z',
    endTime: '2024-05-10T14:35:22Z',
    transcript: [{ speaker: 'AGENT', text: 'Hello, thank you for calling', timestamp: '00:00:01.0' }],
  });
  return h;
}

function evaluation(overrides: Partial<EvaluationBody> = {}): EvaluationBody {
  return {
    form_id: 'form-demo',
    agent_id: 'agent-1',
    conversation_id: 'conv-1',
    sections: [
      { section_id: 'section-compliance', items: [{ item_id: 'item-greeting', score: 100, comment: 'ok' }] },
    ],
    overall_score: 100,
    comment: 'Automated compliance evaluation. Composite score: 100.00',
    ...overrides,
  };
}

/** A budget that records pauses, so tests can act right after the client reacted to a 429. */
function observedBudget(): RequestBudget & { pauses: number[] } {
  const inner = createSlidingWindowBudget({ maxPerMinute: 10_000, clock: { now: Date.now, sleep: sleep } });
  const pauses: number[] = [];
  return {
    pauses,
    acquire: (signal) => inner.acquire(signal),
    pauseUntil(ms) {
      pauses.push(ms);
      inner.pauseUntil(ms);
    },
  };
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(t);
      reject(signal.reason);
    });
  });
}

describe('tokens', () => {
  it('fetches one token for many calls and sends the documented form body', async () => {
    const h = await start();
    const client = h.client();
    for (let i = 0; i < 5; i++) expect((await client.getForm('form-demo')).ok).toBe(true);
    expect(h.sim.callsOf('token')).toHaveLength(1);
    expect(h.sim.callsOf('form')).toHaveLength(5);
  });

  it('refreshes before expiry (earlier of 60 s before and 90% of lifetime), not after a 401', async () => {
    const clock = new ManualClock(Date.now());
    const h = await start({ clock, tokenTtlSeconds: 3600 });
    const client = h.client({ clock });
    expect((await client.getForm('form-demo')).ok).toBe(true);
    await clock.advance(3_200_000); // before 90% (3240 s)
    expect((await client.getForm('form-demo')).ok).toBe(true);
    expect(h.sim.callsOf('token')).toHaveLength(1);
    await clock.advance(60_000); // 3260 s: past 90%, token still valid at the server
    expect((await client.getForm('form-demo')).ok).toBe(true);
    expect(h.sim.callsOf('token')).toHaveLength(2);
    expect(h.sim.callLog.filter((e) => e.status === 401)).toHaveLength(0);
  });

  it('refreshes a short-lived token at 60 s before expiry', async () => {
    const clock = new ManualClock(Date.now());
    const h = await start({ clock, tokenTtlSeconds: 300 });
    const client = h.client({ clock });
    await client.getForm('form-demo');
    await clock.advance(239_000);
    await client.getForm('form-demo');
    expect(h.sim.callsOf('token')).toHaveLength(1);
    await clock.advance(2_000);
    await client.getForm('form-demo');
    expect(h.sim.callsOf('token')).toHaveLength(2);
  });

  it('concurrent callers share one token request', async () => {
    const h = await start({ latencyMs: 50 });
    const client = h.client();
    const results = await Promise.all(Array.from({ length: 10 }, () => client.getForm('form-demo')));
    expect(results.every((r) => r.ok)).toBe(true);
    expect(h.sim.callsOf('token')).toHaveLength(1);
  });

  it('after revocation, calls failing together with 401 refresh once and each repeats once', async () => {
    const h = await start();
    const client = h.client();
    await client.getForm('form-demo');
    h.sim.revokeTokens();
    h.sim.setLatency(30);
    const results = await Promise.all(Array.from({ length: 6 }, () => client.getForm('form-demo')));
    expect(results.every((r) => r.ok)).toBe(true);
    expect(h.sim.callsOf('token')).toHaveLength(2);
    const forms = h.sim.callsOf('form');
    expect(forms.filter((e) => e.status === 401)).toHaveLength(6);
    expect(forms.filter((e) => e.status === 200)).toHaveLength(7);
  });

  it('a 401 arriving after the token was already renewed does not throw the new token away', async () => {
    const h = await start();
    const client = h.client();
    await client.getForm('form-demo');
    h.sim.revokeTokens();
    h.sim.setLatency(300, 'transcript');
    const slow = client.getTranscript('conv-1'); // answers 401 only after the fast call renewed the token
    const fast = await client.getForm('form-demo');
    expect(fast.ok).toBe(true);
    expect(h.sim.callsOf('token')).toHaveLength(2);
    expect((await slow).ok).toBe(true);
    expect(h.sim.callsOf('token')).toHaveLength(2);
    expect(h.sim.callsOf('transcript').map((e) => e.status)).toEqual([401, 200]);
  });

  it('a 401 that a fresh token does not cure is unauthorized, after exactly one refresh', async () => {
    const h = await start();
    const client = h.client();
    h.sim.failNext('form', { status: 401, count: 2 });
    const result = await client.getForm('form-demo');
    expect(result).toMatchObject({
      ok: false,
      error: { kind: 'unauthorized', call: 'getForm', retryable: false },
    });
    expect(h.sim.callsOf('token')).toHaveLength(2);
    expect(h.sim.callsOf('form')).toHaveLength(2);
  });

  it('refused credentials are unauthorized, not retryable, and the secret is not in the message', async () => {
    const h = await start({ clientSecret: 'the-real-secret' });
    const client = h.client({ clientSecret: 'a-wrong-secret-value' });
    const result = await client.getTranscript('conv-1');
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.error).toMatchObject({
      kind: 'unauthorized',
      call: 'token',
      retryable: false,
      status: 401,
    });
    expect(result.error.message).not.toContain('a-wrong-secret-value');
    expect(h.sim.callsOf('transcript')).toHaveLength(0);
  });

  it('a 400 from the token endpoint is unauthorized too; nothing of its body but the OAuth code is shown', async () => {
    const h = await start();
    const client = h.client();
    // A token endpoint echoing the form body it got: the secret URL-encoded, as in the attack.
    h.sim.failNext('token', {
      status: 400,
      body: `{"error":"invalid_request","echo":"grant_type=client_credentials&client_secret=${encodeURIComponent(h.sim.clientSecret)}"}`,
    });
    const result = await client.getForm('form-demo');
    expect(result).toMatchObject({
      ok: false,
      error: {
        kind: 'unauthorized',
        retryable: false,
        message: 'token: credentials refused (HTTP 400, invalid_request)',
      },
    });
    // A 5xx of the token endpoint: status only, not a word of the body.
    h.sim.failNext('token', { status: 500, count: 3, body: 'client_secret=s3cr%2Bt%2F&client_id=x' });
    expect(await client.getForm('form-demo')).toMatchObject({
      ok: false,
      error: { kind: 'server', call: 'token', message: 'token: HTTP 500' },
    });
  });

  it.each([
    ['0', 0],
    ['negative', -3600],
    ['a string of digits', '3600'],
    ['not a number', 'soon'],
    ['missing', undefined],
    ['absurdly large', 1e300],
  ])('an expires_in that is %s still gives a working, cached token', async (_name, expiresIn) => {
    const h = await start();
    // The simulator's real token (valid for an hour) with the lifetime the test wants it to claim.
    const lying: typeof fetch = async (input, init) => {
      const response = await fetch(input, init);
      if (!String(input).endsWith('/oauth/token')) return response;
      const body = (await response.json()) as Record<string, unknown>;
      if (expiresIn === undefined) delete body.expires_in;
      else body.expires_in = expiresIn;
      return new Response(JSON.stringify(body), { status: response.status });
    };
    const client = h.client({ fetch: lying });
    for (let i = 0; i < 5; i++) expect(await client.getForm('form-demo')).toMatchObject({ ok: true });
    expect(h.sim.callsOf('token')).toHaveLength(1);
  });
});

describe('rate limiting (429)', () => {
  it('Retry-After in seconds pauses every call, not only the refused one', async () => {
    const h = await start();
    const budget = observedBudget();
    const client = h.client({ budget });
    await client.getForm('form-demo'); // token in hand
    h.sim.failNext('form', { status: 429, retryAfter: 1 });
    const first = client.getForm('form-demo');
    await waitFor('the pause for the 429', () => budget.pauses.length === 1, 3_000, 5);
    const second = client.getTranscript('conv-1');
    const [a, b] = await Promise.all([first, second]);
    expect(a.ok && b.ok).toBe(true);
    const refusedAt = h.sim.callsOf('form').find((e) => e.status === 429)!.at;
    const repeatedAt = h.sim.callsOf('form').at(-1)!.at;
    const otherAt = h.sim.callsOf('transcript')[0]!.at;
    expect(repeatedAt - refusedAt).toBeGreaterThanOrEqual(1000);
    expect(otherAt - refusedAt).toBeGreaterThanOrEqual(1000);
  });

  it('a Retry-After of a year is cut to maxRetryAfterMs, and the pause is told (for the log)', async () => {
    const h = await start();
    const heard: RateLimitPause[] = [];
    const client = h.client({ maxRetryAfterMs: 500, onRateLimited: (p) => heard.push(p) });
    await client.getForm('form-demo');
    h.sim.failNext('form', { status: 429, retryAfter: 31_536_000 });
    const started = Date.now();
    expect((await client.getForm('form-demo')).ok).toBe(true);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(heard).toEqual([
      expect.objectContaining({
        call: 'getForm',
        scope: 'tutorial',
        askedMs: 31_536_000_000,
        honouredMs: 500,
      }),
    ]);
    // While it lasts, the client says until when.
    h.sim.failNext('form', { status: 429, retryAfter: 31_536_000 });
    const paused = client.getForm('form-demo');
    await waitFor('the second pause', () => heard.length === 2, 3_000, 5);
    expect(client.pausedUntil?.()).toBe(heard[1]!.untilMs);
    expect((await paused).ok).toBe(true);
  });

  it('Retry-After as an HTTP date is honoured', async () => {
    const h = await start();
    const client = h.client();
    await client.getForm('form-demo');
    // HTTP dates have whole seconds: two seconds ahead is at least one second of waiting.
    h.sim.failNext('form', { status: 429, retryAfter: new Date(Date.now() + 2000).toUTCString() });
    const result = await client.getForm('form-demo');
    expect(result.ok).toBe(true);
    const forms = h.sim.callsOf('form');
    const refusedAt = forms.find((e) => e.status === 429)!.at;
    expect(forms.at(-1)!.at - refusedAt).toBeGreaterThanOrEqual(900);
  });

  it('gives up after maxRateLimitWaits with a retryable rate_limited', async () => {
    const h = await start();
    const client = h.client({ maxRateLimitWaits: 2 });
    await client.getForm('form-demo');
    h.sim.failNext('form', { status: 429, retryAfter: 0, count: 5 });
    const result = await client.getForm('form-demo');
    expect(result).toMatchObject({ ok: false, error: { kind: 'rate_limited', retryable: true } });
    expect(h.sim.callsOf('form').filter((e) => e.status === 429)).toHaveLength(3);
  });

  it('parses Retry-After: seconds, HTTP date, garbage and missing', () => {
    const now = Date.parse('2024-05-10T14:00:00Z');
    expect(parseRetryAfterMs('7', now, 5000)).toBe(7000);
    expect(parseRetryAfterMs('Fri, 10 May 2024 14:00:30 GMT', now, 5000)).toBe(30_000);
    expect(parseRetryAfterMs('Fri, 10 May 2024 13:00:00 GMT', now, 5000)).toBe(0);
    expect(parseRetryAfterMs('soon', now, 5000)).toBe(5000);
    expect(parseRetryAfterMs('-3', now, 5000)).toBe(5000);
    expect(parseRetryAfterMs(null, now, 5000)).toBe(5000);
  });
});

describe('failures as values', () => {
  it('a lone 5xx is repeated inside the call; one that persists is a retryable server error', async () => {
    const h = await start();
    const client = h.client();
    h.sim.failNext('transcript', { status: 503 });
    expect(await client.getTranscript('conv-1')).toMatchObject({ ok: true });
    expect(h.sim.callsOf('transcript').map((e) => e.status)).toEqual([503, 200]);
    h.sim.failNext('transcript', { status: 500, count: 3 });
    const result = await client.getTranscript('conv-1');
    expect(result).toMatchObject({ ok: false, error: { kind: 'server', retryable: true, status: 500 } });
    // The first try and CXONE_CALL_RETRIES (2) quick repeats.
    expect(h.sim.callsOf('transcript')).toHaveLength(5);
  });

  it('422 is rejected, not retryable, with the API reason in the message', async () => {
    const h = await start();
    const client = h.client();
    const body = evaluation({
      sections: [
        { section_id: 'section-compliance', items: [{ item_id: 'item-nope', score: 100, comment: 'x' }] },
      ],
    });
    const result = await client.submitEvaluation(body, 'key-422');
    expect(result).toMatchObject({ ok: false, error: { kind: 'rejected', retryable: false, status: 422 } });
    if (!result.ok) expect(result.error.message).toContain('item-nope');
    expect(h.sim.evaluations).toHaveLength(0);
  });

  it('403 is forbidden; other 4xx rejected; unknown form is not_found', async () => {
    const h = await start();
    const client = h.client();
    h.sim.failNext('form', { status: 403 });
    expect(await client.getForm('form-demo')).toMatchObject({ ok: false, error: { kind: 'forbidden' } });
    h.sim.failNext('query', { status: 409 });
    expect(await client.queryCompletedConversations()).toMatchObject({
      ok: false,
      error: { kind: 'rejected', retryable: false },
    });
    expect(await client.getForm('form-missing')).toMatchObject({
      ok: false,
      error: { kind: 'not_found', retryable: false },
    });
  });

  it('a transcript 404 is not_ready (retryable) until transcription finishes', async () => {
    const h = await start();
    const client = h.client();
    h.sim.addConversation({
      id: 'conv-late',
      agentId: 'agent-1',
      startTime: '2024-05-10T14:30:00Z',
      endTime: '2024-05-10T14:36:00Z',
      transcript: [{ speaker: 'AGENT', text: 'hi', timestamp: '' }],
      transcriptReadyAt: Date.now() + 300,
    });
    expect(await client.getTranscript('conv-late')).toMatchObject({
      ok: false,
      error: { kind: 'not_ready', retryable: true, status: 404 },
    });
    await new Promise((r) => setTimeout(r, 350));
    expect(await client.getTranscript('conv-late')).toMatchObject({ ok: true });
  });

  it('a hung request times out quickly, and the socket is really closed', async () => {
    const h = await start();
    const client = h.client({ timeoutMs: 200, transientRetries: 0 });
    await client.getForm('form-demo');
    h.sim.hangNext('form');
    const started = Date.now();
    const result = await client.getForm('form-demo');
    expect(Date.now() - started).toBeLessThan(1500);
    expect(result).toMatchObject({ ok: false, error: { kind: 'timeout', retryable: true, call: 'getForm' } });
    await waitFor('the socket closed', () => h.sim.callsOf('form').at(-1)?.clientClosed === true, 3_000, 5);
  });

  it('the timeout covers reading the body, not only the headers', async () => {
    // Headers arrive at once, the body never ends: only an abort that reaches the body stops it.
    const stalled: typeof fetch = async (_input, init) => {
      const signal = init?.signal;
      const stream = new ReadableStream<Uint8Array>({
        start(controller) {
          controller.enqueue(new TextEncoder().encode('{"access_token":'));
          signal?.addEventListener('abort', () => controller.error(signal.reason));
        },
      });
      return new Response(stream, { status: 200, headers: { 'content-type': 'application/json' } });
    };
    const client = createTutorialClient({
      baseUrl: 'http://127.0.0.1:9',
      clientId: 'x',
      clientSecret: 'y',
      scopes: [],
      paths: DEFAULT_CXONE_PATHS,
      pageSize: 10,
      timeoutMs: 150,
      budget: createSlidingWindowBudget({ maxPerMinute: 100, clock: { now: Date.now, sleep } }),
      clock: { now: Date.now, sleep },
      fetch: stalled,
    });
    const started = Date.now();
    const result = await client.getForm('f');
    expect(Date.now() - started).toBeLessThan(1500);
    expect(result).toMatchObject({ ok: false, error: { kind: 'timeout', call: 'token' } });
  });

  it('a connection refused is a retryable network error', async () => {
    const h = await start();
    const dead = await startSimulator();
    const url = dead.url;
    await dead.close();
    const client = h.client({ baseUrl: url });
    expect(await client.getForm('form-demo')).toMatchObject({
      ok: false,
      error: { kind: 'network', retryable: true, call: 'token' },
    });
  });

  it('a 2xx of the wrong shape is bad_response naming the call and the field', async () => {
    const h = await start();
    const client = h.client();
    h.sim.failNext('form', {
      status: 200,
      body: { id: 'form-demo', name: 'x', sections: [{ section_id: 's' }] },
    });
    const result = await client.getForm('form-demo');
    // Retryable: a wrong answer from a healthy-looking CXone is treated like an outage.
    expect(result).toMatchObject({ ok: false, error: { kind: 'bad_response', retryable: true } });
    if (!result.ok) {
      expect(result.error.message).toContain('getForm');
      expect(result.error.message).toContain('sections.0.items');
    }
    h.sim.failNext('query', { status: 200, body: 'not json at all' });
    const query = await client.queryCompletedConversations();
    expect(query).toMatchObject({ ok: false, error: { kind: 'bad_response', call: 'queryConversations' } });
  });
});

describe('ids that cannot be a conversation id', () => {
  it.each([['..'], ['.'], ['poison\ud800-x'], ['a/b'], ['%2e%2e']])(
    'getTranscript(%j) is refused and nothing is sent',
    async (id) => {
      const h = await start();
      const client = h.client();
      const result = await client.getTranscript(id);
      if (id === '%2e%2e') {
        // Not a dot segment once encoded (%252e%252e): sent, and simply unknown.
        expect(result).toMatchObject({ ok: false, error: { kind: 'not_ready' } });
        expect(h.sim.callsOf('transcript').map((e) => e.conversationId)).toEqual(['%2e%2e']);
        return;
      }
      expect(result).toMatchObject({
        ok: false,
        error: { kind: 'rejected', retryable: false, call: 'getTranscript' },
      });
      if (!result.ok) expect(result.error.message).toMatch(/^getTranscript: not sent: conversationId /);
      // Not even a token: nothing at all went to CXone.
      expect(h.sim.callLog).toHaveLength(0);
    },
  );
});

describe('answers of the wrong shape or size', () => {
  it('a 200 with an HTML page or an empty body is a retryable bad_response', async () => {
    const h = await start();
    const client = h.client();
    h.sim.failNext('transcript', { status: 200, body: '<html><body>Service Unavailable</body></html>' });
    expect(await client.getTranscript('conv-1')).toMatchObject({
      ok: false,
      error: { kind: 'bad_response', retryable: true, message: 'getTranscript: response body is not JSON' },
    });
    h.sim.failNext('transcript', { status: 200, body: '' });
    expect(await client.getTranscript('conv-1')).toMatchObject({
      ok: false,
      error: { kind: 'bad_response', retryable: true, message: 'getTranscript: response body is empty' },
    });
  });

  it('a transcript larger than maxAnswerBytes is too_large and not retryable', async () => {
    const h = await start();
    const client = h.client({ maxAnswerBytes: 1024 * 1024 });
    h.sim.failNext('transcript', {
      status: 200,
      body: JSON.stringify({ transcript: [{ speaker: 'AGENT', text: 'x'.repeat(3 * 1024 * 1024) }] }),
    });
    expect(await client.getTranscript('conv-1')).toMatchObject({
      ok: false,
      error: { kind: 'too_large', retryable: false, call: 'getTranscript' },
    });
    // Not repeated inside the call either, and the connection was not left half-read.
    expect(h.sim.callsOf('transcript')).toHaveLength(1);
    expect(await client.getTranscript('conv-1')).toMatchObject({ ok: true });
  });
});

describe('the calls', () => {
  it('queries completed conversations newest first, page by page, mapped to camelCase', async () => {
    const h = await start();
    for (let i = 2; i <= 5; i++) {
      h.sim.addConversation({
        id: `conv-${i}`,
        agentId: i === 3 ? null : `agent-${i}`,
        type: 'chat',
        startTime: `2024-05-1${i}T10:00:00Z`,
        endTime: `2024-05-1${i}T10:05:00Z`,
        transcript: [],
      });
    }
    const client = h.client({ pageSize: 2 });
    const seen: string[] = [];
    let token: string | null = null;
    do {
      const page = await client.queryCompletedConversations(token);
      if (!page.ok) throw new Error(page.error.message);
      seen.push(...page.value.conversations.map((c) => c.id));
      token = page.value.nextPageToken;
      if (page.value.conversations.some((c) => c.id === 'conv-3')) {
        expect(page.value.conversations.find((c) => c.id === 'conv-3')?.agentId).toBeNull();
      }
    } while (token);
    expect(seen).toEqual(['conv-5', 'conv-4', 'conv-3', 'conv-2', 'conv-1']);
    expect(h.sim.callsOf('query')).toHaveLength(3);
  });

  it('tolerates transcript lines without speaker, text or timestamp', async () => {
    const h = await start();
    const client = h.client();
    h.sim.failNext('transcript', {
      status: 200,
      body: {
        transcript: [
          { text: 'hello' },
          { speaker: 'CUSTOMER' },
          { speaker: 'AGENT', text: 'x', timestamp: 12.5 },
        ],
      },
    });
    const result = await client.getTranscript('conv-1');
    expect(result).toEqual({
      ok: true,
      value: [
        { speaker: 'UNKNOWN', text: 'hello', timestamp: '' },
        { speaker: 'CUSTOMER', text: '', timestamp: '' },
        { speaker: 'AGENT', text: 'x', timestamp: '12.5' },
      ],
    });
  });

  it('reads a form into camelCase', async () => {
    const h = await start();
    const result = await h.client().getForm('form-demo');
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.value.sections[0]?.sectionId).toBe('section-compliance');
    expect(result.value.sections[0]?.items.map((i) => i.name)).toEqual([
      'greeting',
      'verification',
      'compliance_disclosure',
      'closing_summary',
    ]);
    expect(result.value.sections[0]?.items[0]).toEqual({
      itemId: 'item-greeting',
      name: 'greeting',
      maxScore: 100,
    });
  });

  it('submits with the Idempotency-Key: a repeat answers the same evaluation, a new key makes another', async () => {
    const h = await start();
    const client = h.client();
    const first = await client.submitEvaluation(evaluation(), 'conv-1:form-demo');
    const again = await client.submitEvaluation(evaluation(), 'conv-1:form-demo');
    expect(first.ok && again.ok).toBe(true);
    if (!first.ok || !again.ok) return;
    expect(again.value.id).toBe(first.value.id);
    expect(first.value.status).toBe('COMPLETED');
    expect(h.sim.evaluationsFor('conv-1')).toHaveLength(1);
    expect(h.sim.callsOf('evaluation').map((e) => e.idempotencyKey)).toEqual([
      'conv-1:form-demo',
      'conv-1:form-demo',
    ]);
    await client.submitEvaluation(evaluation(), 'another-key');
    expect(h.sim.evaluationsFor('conv-1')).toHaveLength(2);
  });

  it('tells an evaluation CXone already had (200 to a repeated key) from a new one (201), with the score it holds', async () => {
    const h = await start();
    const client = h.client();
    const first = await client.submitEvaluation(evaluation({ overall_score: 72.5 }), 'conv-1:form-demo');
    // Another database, or a changed rubric: the same conversation and form, another score.
    const again = await client.submitEvaluation(evaluation({ overall_score: 90 }), 'conv-1:form-demo');
    expect(first).toMatchObject({ ok: true, value: { overallScore: 72.5 } });
    expect(first.ok && first.value.alreadyEvaluated).toBeFalsy();
    expect(again).toMatchObject({ ok: true, value: { alreadyEvaluated: true, overallScore: 72.5 } });
    expect(h.sim.evaluationsFor('conv-1')).toHaveLength(1);
    expect(h.sim.callsOf('evaluation').map((e) => e.status)).toEqual([201, 200]);
  });

  it('an answer lost after the commit is repeated with the same key inside the call: one evaluation', async () => {
    const h = await start();
    const client = h.client();
    h.sim.dropResponseAfterCommitNext(1);
    const submitted = await client.submitEvaluation(evaluation(), 'k-1');
    expect(submitted.ok).toBe(true);
    if (submitted.ok) expect(submitted.value.id).toBe(h.sim.evaluations[0]?.id);
    expect(h.sim.callsOf('evaluation').map((e) => e.idempotencyKey)).toEqual(['k-1', 'k-1']);
    expect(h.sim.evaluationsFor('conv-1')).toHaveLength(1);
  });

  it('without quick repeats, a lost answer is a retryable failure, and repeating with the same key is safe', async () => {
    const h = await start();
    const client = h.client({ transientRetries: 0 });
    h.sim.dropResponseAfterCommitNext(1);
    const lost = await client.submitEvaluation(evaluation(), 'k-1');
    expect(lost).toMatchObject({ ok: false, error: { kind: 'network', retryable: true } });
    expect(h.sim.evaluationsFor('conv-1')).toHaveLength(1);
    const repeat = await client.submitEvaluation(evaluation(), 'k-1');
    expect(repeat.ok).toBe(true);
    if (repeat.ok) expect(repeat.value.id).toBe(h.sim.evaluations[0]?.id);
    expect(h.sim.evaluationsFor('conv-1')).toHaveLength(1);
  });

  it('reuses one keep-alive connection for calls in sequence, error answers included', async () => {
    const h = await start();
    const client = h.client({ transientRetries: 0 });
    await client.getForm('form-demo');
    // A large error body: undici buffers small ones anyway, a big one holds the socket until read.
    h.sim.failNext('form', { status: 500, body: 'x'.repeat(2_000_000) });
    await client.getForm('form-demo');
    await client.submitEvaluation(evaluation({ overall_score: 400 }), 'k-bad');
    h.sim.failNext('transcript', { status: 200, body: '{"transcript": "nope"}' });
    await client.getTranscript('conv-1');
    await client.getTranscript('conv-1');
    const ports = new Set(h.sim.callLog.map((e) => e.remotePort));
    expect(h.sim.callLog).toHaveLength(6);
    // undici may open a second socket while the first is being handed back; a fresh connection
    // per call (bodies left unread) would show six.
    expect(ports.size).toBeLessThanOrEqual(2);
  });

  it('close() aborts calls still waiting', async () => {
    const h = await start();
    const client = h.client({ timeoutMs: 10_000 });
    await client.getForm('form-demo');
    h.sim.hangNext('form');
    const pending = client.getForm('form-demo');
    await waitFor('the second form call', () => h.sim.callsOf('form').length === 2, 3_000, 5);
    await client.close();
    expect(await pending).toMatchObject({ ok: false, error: { kind: 'network' } });
  });
});

describe('the call budget', () => {
  it('never exceeds the budget in any sliding minute, token call included', async () => {
    const clock = new ManualClock(Date.now());
    const h = await start({ clock });
    let inFlight = 0;
    const sentAt: { at: number }[] = [];
    const counting: typeof fetch = async (input, init) => {
      sentAt.push({ at: clock.now() });
      inFlight++;
      try {
        return await fetch(input, init);
      } finally {
        inFlight--;
      }
    };
    const budget = createSlidingWindowBudget({ maxPerMinute: 3, clock });
    const client = h.client({ clock, budget, fetch: counting });
    let done = 0;
    const calls = Array.from({ length: 10 }, (_, i) =>
      (i % 2 ? client.getForm('form-demo') : client.getTranscript('conv-1')).finally(() => done++),
    );
    // Time moves only in steps while nothing is on the wire; each request is stamped when it leaves.
    for (let step = 0; step < 100 && done < calls.length; step++) {
      await waitFor('nothing on the wire', () => inFlight === 0, 3_000, 5);
      await new Promise((r) => setTimeout(r, 2));
      await clock.advance(5_000);
    }
    const results = await Promise.all(calls);
    expect(results.every((r) => r.ok)).toBe(true);
    expect(h.sim.callLog).toHaveLength(11);
    expect(sentAt).toHaveLength(11);
    expect(maxCallsInAnyWindow(sentAt, 60_000)).toBe(3);
  });
});

describe('a 429 after the client has sat out its own waits', () => {
  // The budget is shared by every call (and, in the service, by every process through the
  // database), so the last Retry-After must pause it too, even when this call gives up.
  it('still pauses every further call for its Retry-After', async () => {
    const h = await start();
    const client = h.client();
    // Five short 429s the client sits out itself, then one asking for 2 s.
    h.sim.failNext('form', { status: 429, count: 5, retryAfter: '0.02' });
    h.sim.failNext('form', { status: 429, count: 1, retryAfter: 2 });
    const first = await client.getForm('form-demo');
    expect(first.ok).toBe(false);
    if (!first.ok) expect(first.error.kind).toBe('rate_limited');
    const lastRefusal = h.sim.callsOf('form').at(-1)!;
    expect(lastRefusal.status).toBe(429);

    // Any further call waits until the last Retry-After (2 s) has passed.
    const second = await client.getForm('form-demo');
    expect(second.ok).toBe(true);
    const next = h.sim.callsOf('form').at(-1)!;
    expect(next.at - lastRefusal.at).toBeGreaterThanOrEqual(1_900);
  });
});

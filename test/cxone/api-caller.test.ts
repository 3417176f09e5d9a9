/**
 * The machinery every CXone client is built on (src/cxone/api-caller.ts, token-source.ts), driven
 * through its own interfaces: a scripted HTTP transport, a budget that records pauses, a token source
 * that counts. The tutorial client's behaviour on top of it is in tutorial-client.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { systemClock } from '../../src/clock.js';
import {
  type ApiCallerOptions,
  createApiCaller,
  exponentialBackoff,
  urlOf,
} from '../../src/cxone/api-caller.js';
import { createSlidingWindowBudget } from '../../src/cxone/budget.js';
import type { AccessToken, TokenSource } from '../../src/cxone/token-source.js';
import type { HttpTransport } from '../../src/cxone/transport.js';
import type { RequestBudget } from '../../src/cxone/types.js';

type Answer = { status: number; body?: string; headers?: Record<string, string> };

/** A transport that answers from a script (per URL), recording every request. */
function scripted(script: Record<string, Answer[]>) {
  const requests: { url: string; at: number; headers: Record<string, string>; body?: string }[] = [];
  const transport: HttpTransport = async (url, init) => {
    const entry: (typeof requests)[number] = { url, at: Date.now(), headers: init.headers };
    if (init.body !== undefined) entry.body = init.body;
    requests.push(entry);
    const queue = script[url];
    const answer = (queue && queue.length > 1 ? queue.shift() : queue?.[0]) ?? { status: 404 };
    return new Response(answer.body ?? null, { status: answer.status, headers: answer.headers ?? {} });
  };
  return { transport, requests };
}

/** A real budget that also records every pause with its scope and length. */
function recordingBudget(): RequestBudget & { pauses: { scope: string | undefined; waitMs: number }[] } {
  const inner = createSlidingWindowBudget({ maxPerMinute: 10_000, clock: systemClock });
  const pauses: { scope: string | undefined; waitMs: number }[] = [];
  return {
    pauses,
    acquire: (signal, scope) => inner.acquire(signal, scope),
    pauseUntil(untilMs, scope) {
      pauses.push({ scope, waitMs: untilMs - Date.now() });
      inner.pauseUntil(untilMs, scope);
    },
  };
}

function staticToken(value = 'tok-1'): TokenSource & { invalidated: AccessToken[] } {
  let current: AccessToken = { value };
  let n = 1;
  const invalidated: AccessToken[] = [];
  return {
    invalidated,
    async current() {
      return { ok: true, value: current };
    },
    invalidate(token) {
      invalidated.push(token);
      if (token === current) current = { value: `tok-${++n}` };
    },
  };
}

function caller(transport: HttpTransport, overrides: Partial<ApiCallerOptions> = {}) {
  return createApiCaller({
    timeoutMs: 2_000,
    budget: recordingBudget(),
    clock: systemClock,
    fetch: transport,
    ...overrides,
  });
}

const get = (url: string, scope = 'reporting') => ({
  call: 'getTranscript' as const,
  scope,
  url,
  method: 'GET' as const,
});

describe('429 handling', () => {
  it('without Retry-After: waits rateLimitWaitMs(n) for the n-th 429, pausing that scope only', async () => {
    const { transport, requests } = scripted({
      'http://x/reporting': [{ status: 429 }, { status: 429 }, { status: 200, body: '{}' }],
      'http://x/media': [{ status: 200, body: '{}' }],
    });
    const budget = recordingBudget();
    const api = caller(transport, { budget, rateLimitWaitMs: (n) => n * 400 });
    const slow = api.exchange(get('http://x/reporting'));
    // While reporting is paused, a call to another API goes out at once.
    await new Promise((r) => setTimeout(r, 30));
    const startedOther = Date.now();
    expect((await api.exchange(get('http://x/media', 'media'))).ok).toBe(true);
    expect(Date.now() - startedOther).toBeLessThan(300);
    const result = await slow;
    expect(result).toMatchObject({ ok: true, value: { status: 200 } });
    expect(budget.pauses.map((p) => p.scope)).toEqual(['reporting', 'reporting']);
    expect(budget.pauses[0]!.waitMs).toBeGreaterThan(390);
    expect(budget.pauses[1]!.waitMs).toBeGreaterThan(790);
    const reporting = requests.filter((r) => r.url === 'http://x/reporting').map((r) => r.at);
    expect(reporting[1]! - reporting[0]!).toBeGreaterThanOrEqual(390);
    expect(reporting[2]! - reporting[1]!).toBeGreaterThanOrEqual(790);
    await api.close();
  });

  it('Retry-After, when present, wins over the fallback', async () => {
    const { transport } = scripted({
      'http://x/a': [
        { status: 429, headers: { 'retry-after': '0.2' } },
        { status: 200, body: '{}' },
      ],
    });
    const budget = recordingBudget();
    const api = caller(transport, { budget, rateLimitWaitMs: () => 60_000 });
    expect((await api.exchange(get('http://x/a'))).ok).toBe(true);
    expect(budget.pauses).toHaveLength(1);
    expect(budget.pauses[0]!.waitMs).toBeLessThanOrEqual(200);
    await api.close();
  });

  it('gives up after maxRateLimitWaits with a retryable rate_limited, the last 429 still pausing', async () => {
    const { transport, requests } = scripted({ 'http://x/a': [{ status: 429 }] });
    const budget = recordingBudget();
    const api = caller(transport, { budget, maxRateLimitWaits: 2, rateLimitWaitMs: () => 10 });
    const result = await api.exchange(get('http://x/a'));
    expect(result).toMatchObject({
      ok: false,
      error: { kind: 'rate_limited', retryable: true, call: 'getTranscript' },
    });
    expect(requests).toHaveLength(3);
    expect(budget.pauses).toHaveLength(3);
    await api.close();
  });

  it('the default fallback is exponential backoff with jitter', () => {
    const waits = exponentialBackoff({ baseMs: 1_000, maxMs: 8_000, random: () => 0 });
    expect([1, 2, 3, 4, 5, 6].map(waits)).toEqual([500, 1_000, 2_000, 4_000, 4_000, 4_000]);
    const high = exponentialBackoff({ baseMs: 1_000, maxMs: 8_000, random: () => 0.999_999 });
    expect([1, 2, 3, 4, 5].map(high)).toEqual([1_000, 2_000, 4_000, 8_000, 8_000]);
  });
});

describe('errors as values, mapped per call', () => {
  it('a call maps a status to its own kind and message; otherwise the default mapping', async () => {
    const { transport } = scripted({
      'http://x/transcript': [{ status: 404, body: '{"message":"not analysed yet"}' }],
      'http://x/other': [{ status: 404, body: 'nope' }],
      'http://x/bad': [{ status: 422, body: '{"error":{"code":"E42","reason":"field x"}}' }],
    });
    const api = caller(transport);
    const auth = staticToken();
    const ok = () => ({ ok: true as const, value: 'unused' });
    expect(
      await api.call(
        {
          ...get('http://x/transcript'),
          auth,
          mapError: ({ status }) => (status === 404 ? { kind: 'not_ready' } : undefined),
        },
        ok,
      ),
    ).toMatchObject({
      ok: false,
      error: {
        kind: 'not_ready',
        retryable: true,
        status: 404,
        message: 'getTranscript: HTTP 404: {"message":"not analysed yet"}',
      },
    });
    expect(await api.call({ ...get('http://x/other'), auth }, ok)).toMatchObject({
      ok: false,
      error: { kind: 'not_found', retryable: false, status: 404 },
    });
    // A family's own error body read into the message.
    const reasoned = await api.call(
      {
        ...get('http://x/bad'),
        auth,
        mapError: ({ status, text }) => {
          const reason = (JSON.parse(text) as { error: { reason: string } }).error.reason;
          return { kind: 'rejected', message: `getTranscript: refused (HTTP ${status}): ${reason}` };
        },
      },
      ok,
    );
    expect(reasoned).toMatchObject({
      ok: false,
      error: {
        kind: 'rejected',
        retryable: false,
        status: 422,
        message: 'getTranscript: refused (HTTP 422): field x',
      },
    });
    await api.close();
  });

  it('onOk sees every 2xx, a 204 with no body included', async () => {
    const { transport } = scripted({ 'http://x/none': [{ status: 204 }] });
    const api = caller(transport);
    const result = await api.call({ ...get('http://x/none'), auth: staticToken() }, (answer) => ({
      ok: true,
      value: `${answer.status}:${answer.text.length}`,
    }));
    expect(result).toEqual({ ok: true, value: '204:0' });
    await api.close();
  });

  it('never puts a secret in a message: plain, URL-encoded or JSON-escaped', async () => {
    const secret = 's3cr+t/with "quotes"&more';
    const echo = `client_secret=${encodeURIComponent(secret)}&also=${new URLSearchParams({ s: secret }).toString().slice(2)} json=${JSON.stringify(secret)} plain=${secret}`;
    const { transport } = scripted({ 'http://x/token': [{ status: 500, body: echo }] });
    const api = caller(transport, { secrets: () => [secret] });
    const answer = await api.exchange({ ...get('http://x/token'), call: 'token' });
    expect(answer.ok).toBe(true);
    if (!answer.ok) return;
    const error = api.errorOf('token', answer.value);
    expect(error).toMatchObject({ kind: 'server', retryable: true, status: 500 });
    expect(error.message).toContain('[redacted]');
    for (const form of [
      secret,
      encodeURIComponent(secret),
      JSON.stringify(secret).slice(1, -1),
      's3cr%2Bt',
    ]) {
      expect(error.message).not.toContain(form);
    }
    await api.close();
  });
});

describe('tokens', () => {
  it('a 401 drops the token that drew it and repeats once with the next; a second 401 is unauthorized', async () => {
    const { transport, requests } = scripted({
      'http://x/a': [{ status: 401 }, { status: 200, body: '"fine"' }],
      'http://x/b': [{ status: 401 }],
    });
    const api = caller(transport);
    const auth = staticToken();
    const ok = await api.call({ ...get('http://x/a'), auth }, (a) => ({ ok: true, value: a.text }));
    expect(ok).toEqual({ ok: true, value: '"fine"' });
    expect(auth.invalidated.map((t) => t.value)).toEqual(['tok-1']);
    expect(requests.map((r) => r.headers.authorization)).toEqual(['Bearer tok-1', 'Bearer tok-2']);
    const refused = await api.call({ ...get('http://x/b'), auth }, (a) => ({ ok: true, value: a.text }));
    expect(refused).toMatchObject({
      ok: false,
      error: { kind: 'unauthorized', retryable: false, status: 401 },
    });
    expect(requests.filter((r) => r.url === 'http://x/b')).toHaveLength(2);
    await api.close();
  });

  it('a token failure is the call’s answer, and nothing is sent', async () => {
    const { transport, requests } = scripted({});
    const api = caller(transport);
    const auth: TokenSource = {
      current: async () => ({
        ok: false,
        error: {
          kind: 'unauthorized',
          call: 'token',
          retryable: false,
          message: 'token: credentials refused',
        },
      }),
      invalidate: () => undefined,
    };
    expect(await api.call({ ...get('http://x/a'), auth }, () => ({ ok: true, value: 1 }))).toMatchObject({
      ok: false,
      error: { kind: 'unauthorized', call: 'token' },
    });
    expect(requests).toHaveLength(0);
    await api.close();
  });
});

it('urlOf encodes each parameter as one path segment', () => {
  expect(urlOf('https://h/', '/api/{id}/x', { id: 'a/b?c' })).toBe('https://h/api/a%2Fb%3Fc/x');
});

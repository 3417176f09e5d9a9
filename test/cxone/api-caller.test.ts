/**
 * The machinery every CXone client is built on (src/cxone/api-caller.ts, token-source.ts), driven
 * through its own interfaces: a scripted HTTP transport, a budget that records pauses, a token source
 * that counts. The tutorial client's behaviour on top of it is in tutorial-client.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { systemClock } from '../../src/clock.js';
import {
  type ApiCallerOptions,
  createApiCaller,
  exponentialBackoff,
  hasDotSegment,
  parseJsonBody,
  type RateLimitPause,
  urlFor,
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
    pausedUntil: (scope) => inner.pausedUntil(scope),
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
    // Quick repeats stay on (they are the default) but wait only a moment in tests.
    transientRetryWaitMs: () => 5,
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

  it('a Retry-After of a year pauses for maxRetryAfterMs at most, and says until when', async () => {
    const { transport, requests } = scripted({
      'http://x/a': [
        { status: 429, headers: { 'retry-after': '31536000' } },
        { status: 200, body: '{}' },
      ],
      'http://x/b': [{ status: 429, headers: { 'retry-after': '31536000' } }],
    });
    const budget = recordingBudget();
    const heard: RateLimitPause[] = [];
    const api = caller(transport, {
      budget,
      maxRetryAfterMs: 300,
      maxRateLimitWaits: 1,
      onRateLimited: (p) => heard.push(p),
    });
    const started = Date.now();
    expect((await api.exchange(get('http://x/a'))).ok).toBe(true);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(budget.pauses[0]!.waitMs).toBeLessThanOrEqual(300);
    expect(heard[0]).toMatchObject({
      call: 'getTranscript',
      scope: 'reporting',
      askedMs: 31_536_000_000,
      honouredMs: 300,
    });
    expect(requests[1]!.at - requests[0]!.at).toBeGreaterThanOrEqual(250);

    const gaveUp = await api.exchange(get('http://x/b'));
    expect(gaveUp).toMatchObject({ ok: false, error: { kind: 'rate_limited', retryable: true } });
    if (!gaveUp.ok) {
      const until = new Date(heard.at(-1)!.untilMs).toISOString();
      expect(gaveUp.error.message).toContain(`paused by CXone until ${until}`);
    }
    await api.close();
  });

  it('pausedUntil tells when the pause of a scope in force ends, from the budget', async () => {
    const { transport } = scripted({ 'http://x/a': [{ status: 429, headers: { 'retry-after': '60' } }] });
    const api = caller(transport, { maxRateLimitWaits: 0 });
    expect(api.pausedUntil('reporting')).toBeNull();
    await api.exchange(get('http://x/a'));
    const until = api.pausedUntil('reporting');
    expect(until! - Date.now()).toBeGreaterThan(55_000);
    expect(api.pausedUntil('media')).toBeNull();
    await api.close();
  });

  it('the default fallback is exponential backoff with jitter', () => {
    const waits = exponentialBackoff({ baseMs: 1_000, maxMs: 8_000, random: () => 0 });
    expect([1, 2, 3, 4, 5, 6].map(waits)).toEqual([500, 1_000, 2_000, 4_000, 4_000, 4_000]);
    const high = exponentialBackoff({ baseMs: 1_000, maxMs: 8_000, random: () => 0.999_999 });
    expect([1, 2, 3, 4, 5].map(high)).toEqual([1_000, 2_000, 4_000, 8_000, 8_000]);
  });
});

describe('transient failures are repeated quickly inside the call', () => {
  /** A transport failing the way undici does when the connection breaks or is never made. */
  function broken(code: string, then: Answer) {
    const requests: string[] = [];
    let failures = 0;
    const transport: HttpTransport = async (url, init) => {
      requests.push(`${init.method} ${url}`);
      if (failures++ < 2)
        throw new TypeError('fetch failed', { cause: Object.assign(new Error(code), { code }) });
      return new Response(then.body ?? null, { status: then.status });
    };
    return { transport, requests };
  }

  it('a GET answered 500, 503 then 200 succeeds in one call, each try taking a budget slot', async () => {
    const { transport, requests } = scripted({
      'http://x/a': [{ status: 500 }, { status: 503 }, { status: 200, body: '"ok"' }],
    });
    let slots = 0;
    const inner = recordingBudget();
    const budget: RequestBudget = {
      ...inner,
      acquire: (signal, scope) => {
        slots++;
        return inner.acquire(signal, scope);
      },
    };
    const waits: number[] = [];
    const api = caller(transport, {
      budget,
      transientRetryWaitMs: (n) => {
        waits.push(n);
        return 5;
      },
    });
    const result = await api.call({ ...get('http://x/a'), auth: staticToken() }, (a) => ({
      ok: true,
      value: a.text,
    }));
    expect(result).toEqual({ ok: true, value: '"ok"' });
    expect(requests).toHaveLength(3);
    expect(slots).toBe(3);
    expect(waits).toEqual([1, 2]);
    await api.close();
  });

  it('gives up after transientRetries repeats and answers the last failure', async () => {
    const { transport, requests } = scripted({ 'http://x/a': [{ status: 502 }] });
    const api = caller(transport, { transientRetries: 3 });
    expect(
      await api.call({ ...get('http://x/a'), auth: staticToken() }, () => ({ ok: true, value: 1 })),
    ).toMatchObject({
      ok: false,
      error: { kind: 'server', status: 502, retryable: true },
    });
    expect(requests).toHaveLength(4);
    const none = caller(scripted({ 'http://x/a': [{ status: 502 }] }).transport, { transientRetries: 0 });
    expect((await none.exchange(get('http://x/a'))).ok).toBe(true);
    await api.close();
    await none.close();
  });

  it('a POST is repeated only when the request says it is safe to repeat', async () => {
    const { transport, requests } = scripted({
      'http://x/plain': [{ status: 500 }, { status: 201 }],
      'http://x/keyed': [{ status: 500 }, { status: 201 }],
    });
    const api = caller(transport);
    const post = (url: string) => ({ ...get(url), method: 'POST' as const, body: '{}' });
    expect(await api.exchange(post('http://x/plain'))).toMatchObject({ ok: true, value: { status: 500 } });
    expect(await api.exchange({ ...post('http://x/keyed'), idempotent: true })).toMatchObject({
      ok: true,
      value: { status: 201 },
    });
    expect(requests.map((r) => r.url)).toEqual(['http://x/plain', 'http://x/keyed', 'http://x/keyed']);
    await api.close();
  });

  it('a connection reset is repeated for a GET only; a connection refused for any request', async () => {
    const reset = broken('ECONNRESET', { status: 201 });
    const api = caller(reset.transport);
    const post = { ...get('http://x/a'), method: 'POST' as const, body: '{}' };
    // The POST may have reached the server before the reset: not repeated.
    expect(await api.exchange(post)).toMatchObject({ ok: false, error: { kind: 'network' } });
    expect(reset.requests).toHaveLength(1);
    // Nothing reached the server: repeating is harmless whatever the request.
    const refused = broken('ECONNREFUSED', { status: 201 });
    const api2 = caller(refused.transport);
    expect(await api2.exchange(post)).toMatchObject({ ok: true, value: { status: 201 } });
    expect(refused.requests).toHaveLength(3);
    const resetGet = broken('ECONNRESET', { status: 200 });
    const api3 = caller(resetGet.transport);
    expect(await api3.exchange(get('http://x/a'))).toMatchObject({ ok: true, value: { status: 200 } });
    await Promise.all([api.close(), api2.close(), api3.close()]);
  });

  it('a 5xx whose Retry-After asks for longer than a quick wait is left to the caller', async () => {
    const { transport, requests } = scripted({
      'http://x/a': [{ status: 503, headers: { 'retry-after': '30' } }, { status: 200 }],
    });
    const api = caller(transport);
    expect(await api.exchange(get('http://x/a'))).toMatchObject({ ok: true, value: { status: 503 } });
    expect(requests).toHaveLength(1);
    await api.close();
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

  it('never puts a secret in a message, in any encoding a server could echo it in', async () => {
    const secret = 'S3cr+t/wïth "qu otes"&more~!(x)*Zz09-_.extra-length-for-base64';
    const bytes = Buffer.from(secret, 'utf8');
    const hex2 = (b: number) => b.toString(16).padStart(2, '0');
    const echoes: Record<string, string> = {
      plain: secret,
      'percent-encoded': encodeURIComponent(secret),
      'percent-encoded, lower-case hex': encodeURIComponent(secret).replace(/%[0-9A-F]{2}/g, (m) =>
        m.toLowerCase(),
      ),
      'form-encoded (+ for spaces)': new URLSearchParams({ s: secret }).toString().slice(2),
      'every byte percent-encoded': [...bytes].map((b) => `%${hex2(b).toUpperCase()}`).join(''),
      'double-encoded': encodeURIComponent(encodeURIComponent(secret)),
      'encoded in part': secret.replace('+', '%2b').replace('/', '%2F').replace(' ', '+'),
      'JSON-escaped': JSON.stringify(secret).slice(1, -1),
      'JSON, ASCII only, escaped slash': JSON.stringify(secret)
        .slice(1, -1)
        .replace(/[^\x20-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)
        .replace(/\//g, '\\/'),
      hex: bytes.toString('hex'),
      HEX: bytes.toString('hex').toUpperCase(),
    };
    const api = caller(scripted({}).transport, { secrets: () => [secret] });
    for (const [name, echo] of Object.entries(echoes)) {
      expect(api.redact(`<${echo}>`), name).toBe('<[redacted]>');
    }
    // Base64 at every alignment: alone, after `id:` (an HTTP Basic header), inside a longer body.
    const base64 = {
      base64: bytes.toString('base64'),
      base64url: bytes.toString('base64url'),
      'Basic id:secret': Buffer.from(`client-id:${secret}`).toString('base64'),
      'after 1 byte': Buffer.from(`x${secret}`).toString('base64url'),
      'after 2 bytes': Buffer.from(`xy${secret}`).toString('base64'),
    };
    for (const [name, echo] of Object.entries(base64)) {
      const redacted = api.redact(echo);
      expect(redacted, name).toContain('[redacted]');
      // What is left is the encoding of the bytes around the secret, a few characters at most.
      expect(redacted.replace('[redacted]', '').length, name).toBeLessThanOrEqual(echo.length - bytes.length);
    }
    await api.close();
  });

  it('a secret echoed in an error body is redacted in the message', async () => {
    const secret = 's3cr+t/with "quotes"&more';
    const echo = `{"received":"client_secret=${encodeURIComponent(secret).toLowerCase()}"}`;
    const { transport } = scripted({ 'http://x/a': [{ status: 400, body: echo }] });
    const api = caller(transport, { secrets: () => [secret] });
    const answer = await api.exchange(get('http://x/a'));
    if (!answer.ok) throw new Error(answer.error.message);
    const error = api.errorOf('getTranscript', answer.value);
    expect(error.message).toBe('getTranscript: HTTP 400: {"received":"client_secret=[redacted]"}');
    await api.close();
  });

  it("a token call's answer body never reaches a message, redacted or not", async () => {
    const body = '{"error":"server_error","echo":"client_secret=s3cr%2Bt&client_id=abc"}';
    const { transport } = scripted({
      'http://x/token': [{ status: 500, body }],
      'http://x/grant': [{ status: 502, body }],
    });
    // No secret configured at all: the body is kept out because of what the call is, not by redaction.
    const api = caller(transport, { transientRetries: 0 });
    const token = await api.exchange({ ...get('http://x/token'), call: 'token', method: 'POST' });
    if (!token.ok) throw new Error(token.error.message);
    expect(api.errorOf('token', token.value).message).toBe('token: HTTP 500');
    // Any call can declare itself sensitive (a discovery call that carries credentials, say).
    const grant = await api.exchange({ ...get('http://x/grant'), sensitive: true });
    if (!grant.ok) throw new Error(grant.error.message);
    const seen: string[] = [];
    const error = api.errorOf('getTranscript', grant.value, ({ excerpt }) => {
      seen.push(excerpt);
      return undefined;
    });
    expect(error.message).toBe('getTranscript: HTTP 502');
    expect(seen).toEqual(['']);
    await api.close();
  });
});

describe('answers of the wrong shape or size', () => {
  it('an HTML page or an empty body where JSON was documented is a retryable bad_response', () => {
    const schema = z.object({ id: z.string() });
    for (const text of ['<html><body>502 Bad Gateway</body></html>', '', '  ']) {
      expect(parseJsonBody('getForm', schema, text, (d) => d)).toMatchObject({
        ok: false,
        error: { kind: 'bad_response', retryable: true },
      });
    }
  });

  /** A body of `chunks` chunks of 64 KiB, counting how many were pulled; no Content-Length. */
  function streamed(status: number, chunks: number, headers: Record<string, string> = {}) {
    const pulled = { n: 0 };
    const transport: HttpTransport = async () => ({
      status,
      headers: new Headers(headers),
      text: async () => {
        throw new Error('text() must not be used when there is a body stream');
      },
      body: (async function* () {
        for (let i = 0; i < chunks; i++) {
          pulled.n++;
          yield new Uint8Array(64 * 1024).fill(120);
        }
      })(),
    });
    return { transport, pulled };
  }

  it('a 2xx past maxAnswerBytes is too_large, not retryable, and the rest is never read', async () => {
    const { transport, pulled } = streamed(200, 1_000); // 64 MB on offer
    const api = caller(transport, { maxAnswerBytes: 1024 * 1024 });
    const result = await api.call({ ...get('http://x/t'), auth: staticToken() }, () => ({
      ok: true,
      value: 'read it all',
    }));
    expect(result).toMatchObject({
      ok: false,
      error: { kind: 'too_large', retryable: false, status: 200, call: 'getTranscript' },
    });
    if (!result.ok) expect(result.error.message).toMatch(/larger than 1 MB \(CXONE_MAX_ANSWER_MB\)/);
    expect(pulled.n).toBe(17); // 16 chunks fit exactly; the 17th crosses the limit
    await api.close();
  });

  it('a declared Content-Length past the limit is refused before reading anything', async () => {
    const { transport, pulled } = streamed(200, 10, { 'content-length': String(50 * 1024 * 1024) });
    const api = caller(transport, { maxAnswerBytes: 1024 * 1024 });
    expect(await api.exchange(get('http://x/t'))).toMatchObject({ ok: false, error: { kind: 'too_large' } });
    expect(pulled.n).toBe(0);
    await api.close();
  });

  it('an error answer past the limit keeps its status, its body cut', async () => {
    const { transport } = streamed(404, 100);
    const api = caller(transport, { maxAnswerBytes: 100_000 });
    const answer = await api.exchange(get('http://x/t'));
    expect(answer).toMatchObject({ ok: true, value: { status: 404 } });
    if (answer.ok) expect(answer.value.text).toHaveLength(100_000);
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

describe('URLs', () => {
  it('urlOf encodes each parameter as one path segment', () => {
    expect(urlOf('https://h/', '/api/{id}/x', { id: 'a?b#c%d é' })).toBe(
      'https://h/api/a%3Fb%23c%25d%20%C3%A9/x',
    );
  });

  it('refuses a parameter that cannot be one path segment: dot segments, slashes, lone surrogates', () => {
    for (const id of ['..', '.', '...', 'a/b', 'a\\b', 'poison\ud800-x', 'tab\there', '']) {
      expect(() => urlOf('https://h', '/api/{id}/media', { id }), JSON.stringify(id)).toThrow(RangeError);
      expect(urlFor('getTranscript', 'https://h', '/api/{id}/media', { id })).toMatchObject({
        ok: false,
        error: { kind: 'rejected', retryable: false, call: 'getTranscript' },
      });
    }
    expect(urlFor('getTranscript', 'https://h', '/api/{id}', { id: 'conv-1' })).toEqual({
      ok: true,
      value: 'https://h/api/conv-1',
    });
  });

  it('never sends to a URL whose path holds a dot segment, however it was built', async () => {
    const { transport, requests } = scripted({});
    const api = caller(transport);
    for (const url of [
      'http://x/api/v2/conversations/../media/transcripts',
      'http://x/api/./x',
      'http://x/api/%2e%2E/x',
      'http://x/api/.%2e',
      'http://x/api\\..\\x',
    ]) {
      expect(await api.exchange(get(url)), url).toMatchObject({ ok: false, error: { kind: 'rejected' } });
    }
    expect(requests).toHaveLength(0);
    // Dots inside a segment, or in the query, are ordinary characters.
    expect(hasDotSegment('http://x/api/v1.2/a..b?x=../y')).toBe(false);
    await api.close();
  });
});

describe('onAttempt (metrics)', () => {
  const callOf = (c: ReturnType<typeof caller>, url: string, auth = staticToken()) =>
    c.call({ ...get(url), auth }, (answer) => ({ ok: true, value: answer.status }));

  it('hears every HTTP attempt with its call, scope, status and duration: a 401 repeat and a 429 wait are attempts of their own', async () => {
    const heard: { call: string; scope: string; status: unknown; durationMs: number }[] = [];
    const { transport } = scripted({
      'https://x/a': [{ status: 200, body: '{}' }],
      'https://x/b': [{ status: 401 }, { status: 200, body: '{}' }],
      'https://x/c': [{ status: 429, headers: { 'retry-after': '0' } }, { status: 503 }],
    });
    const c = caller(transport, { onAttempt: (a) => heard.push(a), transientRetryWaitMs: () => 0 });
    await callOf(c, 'https://x/a');
    await callOf(c, 'https://x/b');
    await callOf(c, 'https://x/c');
    expect(heard.map((h) => [h.call, h.scope, h.status])).toEqual([
      ['getTranscript', 'reporting', 200],
      ['getTranscript', 'reporting', 401],
      ['getTranscript', 'reporting', 200],
      ['getTranscript', 'reporting', 429],
      // Each quick repeat of a 5xx inside the call is an attempt of its own too.
      ['getTranscript', 'reporting', 503],
      ['getTranscript', 'reporting', 503],
      ['getTranscript', 'reporting', 503],
    ]);
    for (const h of heard) expect(h.durationMs).toBeGreaterThanOrEqual(0);
  });

  it('an attempt with no answer is a timeout or a network failure; a call the budget never let out is no attempt', async () => {
    const heard: unknown[] = [];
    const hanging: HttpTransport = (_url, init) =>
      new Promise((_resolve, reject) =>
        init.signal?.addEventListener('abort', () => reject(init.signal?.reason)),
      );
    const quick = { transientRetries: 1, transientRetryWaitMs: () => 0 };
    const slow = caller(hanging, { timeoutMs: 50, onAttempt: (a) => heard.push(a.status), ...quick });
    expect((await callOf(slow, 'https://x/slow')).ok).toBe(false);
    const refused = caller(
      async () => {
        throw new TypeError('fetch failed', {
          cause: Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }),
        });
      },
      { onAttempt: (a) => heard.push(a.status), ...quick },
    );
    expect((await callOf(refused, 'https://x/down')).ok).toBe(false);
    expect(heard).toEqual(['timeout', 'timeout', 'network', 'network']);

    const closed = caller(scripted({}).transport, { onAttempt: (a) => heard.push(a.status) });
    await closed.close();
    expect((await callOf(closed, 'https://x/never')).ok).toBe(false);
    expect(heard).toEqual(['timeout', 'timeout', 'network', 'network']);
  });
});

import { afterEach, describe, expect, it } from 'vitest';
import { createAuth } from '../../src/auth/sign-in.js';
import { ResultStore } from '../../src/store/results.js';
import { ReviewStore } from '../../src/store/reviews.js';
import { consoleFixture, FORM, testHasher } from '../support/console.js';

type Fixture = Awaited<ReturnType<typeof consoleFixture>>;
let fx: Fixture | undefined;
afterEach(() => {
  fx?.cleanup();
  fx = undefined;
});

function tokenFor(f: Fixture, role: 'admin' | 'reviewer' | 'viewer'): string {
  return createAuth({
    accounts: f.accounts,
    hasher: testHasher,
    clock: f.clock,
    sessionTtlMs: 1000,
  }).issueToken(f.users[role]!);
}

const bearer = (token: string) => ({ headers: { authorization: `Bearer ${token}` } });

interface Page {
  results: {
    conversation_id: string;
    agent_id: string;
    overall_score: number;
    evaluated_at: string;
    rules: { name: string; outcome: string; score: number | null; evidence: string }[];
    rubric: { name: string; version: string; hash: string };
    reviews: { rule: string; verdict: string; reviewer: string }[];
  }[];
  next_cursor: string | null;
}

describe('GET /api/v1/results', () => {
  it('answers 401 without credentials, and with a wrong token even next to a valid session', async () => {
    fx = await consoleFixture({ count: 3 });
    const none = await fx.request('/api/v1/results');
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toMatch(/^Bearer/);
    expect(await none.json()).toEqual({ error: { code: 'unauthorized', message: expect.any(String) } });
    expect((await fx.request('/api/v1/results.csv')).status).toBe(401);
    const cookie = await fx.signIn('viewer');
    expect(
      (await fx.request('/api/v1/results', { cookie, headers: { authorization: 'Bearer qmt_wrong' } }))
        .status,
    ).toBe(401);
    expect((await fx.request('/api/v1/results', { cookie })).status).toBe(200);
  });

  it('pages newest first with a cursor, with every field the contract names', async () => {
    fx = await consoleFixture({ count: 25 });
    const token = tokenFor(fx, 'viewer');
    // Only the token's hash is stored.
    const stored = fx.store.sqlite.prepare('SELECT token_hash FROM api_tokens').get() as {
      token_hash: string;
    };
    expect(stored.token_hash).not.toContain(token.slice(4));
    const seen: Page['results'] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const res = await fx.request(
        `/api/v1/results?limit=10${cursor ? `&cursor=${cursor}` : ''}`,
        bearer(token),
      );
      expect(res.status).toBe(200);
      const page = (await res.json()) as Page;
      seen.push(...page.results);
      cursor = page.next_cursor;
      pages++;
    } while (cursor);
    expect(pages).toBe(3);
    expect(seen.map((r) => r.conversation_id)).toEqual(fx.seeded.conversations.map((c) => c.id));
    const times = seen.map((r) => Date.parse(r.evaluated_at));
    expect([...times].sort((a, b) => b - a)).toEqual(times);
    const first = seen[0]!;
    expect(first.agent_id).toBe(fx.seeded.conversations[0]!.agentId);
    expect(typeof first.overall_score).toBe('number');
    expect(first.rubric.name).toBe('Collections call QA');
    expect(first.rules.length).toBe(fx.seeded.rubric.rules.length);
    expect(first.rules[0]).toEqual({
      name: 'greeting',
      outcome: expect.any(String),
      score: expect.anything(),
      weight: 1,
      critical: false,
      evidence: expect.any(String),
      comment: expect.stringMatching(/^\[GREETING\] /),
    });
    expect(first.reviews).toEqual([]);
  });

  it('filters by since, until and agent, and carries reviewer verdicts', async () => {
    fx = await consoleFixture({ count: 40 });
    const token = tokenFor(fx, 'viewer');
    const all = fx.seeded.results.list({}, 1000).rows;
    const mid = all[20]!.evaluatedAt;
    const since = new Date(mid).toISOString();
    const res = (await (
      await fx.request(`/api/v1/results?since=${since}&agent=agent-10003&limit=1000`, bearer(token))
    ).json()) as Page;
    expect(res.results.map((r) => r.conversation_id)).toEqual(
      all.filter((r) => r.evaluatedAt >= mid && r.agentId === 'agent-10003').map((r) => r.conversationId),
    );
    const until = (await (
      await fx.request(`/api/v1/results?until=${since}&limit=1000`, bearer(token))
    ).json()) as Page;
    expect(until.results).toHaveLength(all.filter((r) => r.evaluatedAt < mid).length);
    new ReviewStore(fx.store).record(
      all[0]!.id,
      { id: fx.users.reviewer!, name: 'reviewer' },
      [{ rule: 'greeting', verdict: 'agree' }],
      fx.now,
    );
    const reviewed = (await (
      await fx.request('/api/v1/results?reviewed=true', bearer(token))
    ).json()) as Page;
    expect(reviewed.results).toHaveLength(1);
    expect(reviewed.results[0]!.reviews).toEqual([
      expect.objectContaining({ rule: 'greeting', verdict: 'agree', reviewer: 'reviewer' }),
    ]);
  });

  it('carries the stored rules byte for byte (any text), with its headers, and an empty page as JSON', async () => {
    fx = await consoleFixture({ count: 2 });
    const token = tokenFor(fx, 'viewer');
    // Evidence as transcripts bring it: accents, emoji, quotes, a backslash, a line break, a lone
    // surrogate (JSON.stringify escapes it), and text that looks like JSON's own punctuation.
    const evidence = 'Señora Núñez 👋 said "pay\\later"\n},{"x":1] \ud800 end';
    new ResultStore(fx.store).record({
      conversationId: 'conv-ünïcode',
      destination: FORM,
      agentId: 'agent-ü',
      evaluatedAt: fx.now - 1,
      overallScore: 10,
      rubric: { name: 'r', version: '1', hash: 'h' },
      rules: [
        { name: 'greeting', outcome: 'pass', score: 100, weight: 1, critical: false, evidence, comment: 'é' },
      ],
      comment: '',
      delivery: { state: 'not_configured' },
    });
    const res = await fx.request('/api/v1/results?limit=2', bearer(token));
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    const bytes = new Uint8Array(await res.arrayBuffer());
    const page = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes)) as Page;
    expect(page.results).toHaveLength(2);
    expect(page.results[0]!.conversation_id).toBe('conv-ünïcode');
    expect(page.results[0]!.rules).toEqual([
      { name: 'greeting', outcome: 'pass', score: 100, weight: 1, critical: false, evidence, comment: 'é' },
    ]);
    expect(page.results[1]!.rules.length).toBe(fx.seeded.rubric.rules.length);
    expect(page.next_cursor).toEqual(expect.any(String));
    const empty = await fx.request('/api/v1/results?agent=nobody', bearer(token));
    expect(await empty.json()).toEqual({ results: [], next_cursor: null });
  });

  it('a large page goes out in pieces and is the same JSON, every result once, in order', async () => {
    fx = await consoleFixture({ count: 230 });
    const token = tokenFor(fx, 'viewer');
    const all = fx.seeded.results.list({}, 1000).rows;
    new ReviewStore(fx.store).record(
      all[150]!.id,
      { id: fx.users.reviewer!, name: 'reviewer' },
      [{ rule: 'greeting', verdict: 'fail' }],
      fx.now,
    );
    // 200: exactly two pieces of 100, then a cursor; then the remaining 30 in one piece.
    const first = (await (await fx.request('/api/v1/results?limit=200', bearer(token))).json()) as Page;
    expect(first.results.map((r) => r.conversation_id)).toEqual(
      all.slice(0, 200).map((r) => r.conversationId),
    );
    expect(first.results[150]!.reviews).toEqual([
      expect.objectContaining({ rule: 'greeting', verdict: 'fail', reviewer: 'reviewer' }),
    ]);
    expect(first.results.every((r) => r.rules.length === fx!.seeded.rubric.rules.length)).toBe(true);
    const rest = (await (
      await fx.request(`/api/v1/results?limit=1000&cursor=${first.next_cursor}`, bearer(token))
    ).json()) as Page;
    expect(rest.results.map((r) => r.conversation_id)).toEqual(all.slice(200).map((r) => r.conversationId));
    expect(rest.next_cursor).toBeNull();
    const whole = await (await fx.request('/api/v1/results?limit=1000', bearer(token))).text();
    expect((JSON.parse(whole) as Page).results).toHaveLength(230);
  });

  it('answers 400 naming each bad parameter', async () => {
    fx = await consoleFixture({ count: 1 });
    const res = await fx.request(
      '/api/v1/results?since=2024-13-01&limit=0&cursor=abc&reviewed=maybe',
      bearer(tokenFor(fx, 'viewer')),
    );
    expect(res.status).toBe(400);
    const body = (await res.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('invalid_query');
    for (const p of ['since:', 'limit:', 'cursor:', 'reviewed:']) expect(body.error.message).toContain(p);
  });
});

describe('GET /api/v1/results.csv', () => {
  it('streams a header row and one row per result, neutralising spreadsheet formulas', async () => {
    fx = await consoleFixture({ count: 1200 });
    new ResultStore(fx.store).record({
      conversationId: '=HYPERLINK("http://evil.example","click")',
      destination: FORM,
      agentId: '+agent',
      evaluatedAt: fx.now - 1,
      overallScore: 10,
      rubric: { name: '@rubric', version: '1', hash: 'h' },
      rules: [
        {
          name: 'greeting',
          outcome: 'fail',
          score: 0,
          weight: 1,
          critical: false,
          evidence: '-1 "quoted", comma\nnewline',
          comment: '',
        },
      ],
      comment: '',
      delivery: { state: 'not_configured' },
    });
    const res = await fx.request('/api/v1/results.csv', bearer(tokenFor(fx, 'viewer')));
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/csv; charset=utf-8');
    const text = await res.text();
    const lines = text.split('\r\n');
    expect(lines[0]).toMatch(/^conversation_id,destination,agent_id,/);
    expect(lines[0]).toContain('greeting.outcome,greeting.score,greeting.evidence,greeting.reviewer_outcome');
    expect(lines.at(-1)).toBe('');
    // 1,201 results; the injected one's evidence holds a line break inside quotes.
    expect(text.match(/\r\n/g)!.length).toBe(1202);
    const evil = lines[1]!;
    expect(evil.startsWith(`"'=HYPERLINK(""http://evil.example"",""click"")",${FORM},"'+agent",`)).toBe(true);
    expect(evil).toContain(`"'@rubric"`);
    expect(text).toContain(`"'-1 ""quoted"", comma\nnewline"`);
  });

  it('takes the same filters as the JSON API', async () => {
    fx = await consoleFixture({ count: 30 });
    const token = tokenFor(fx, 'viewer');
    const json = (await (
      await fx.request('/api/v1/results?agent=agent-10001&critical=true&limit=1000', bearer(token))
    ).json()) as Page;
    const csv = await (
      await fx.request('/api/v1/results.csv?agent=agent-10001&critical=true', bearer(token))
    ).text();
    const ids = csv
      .trim()
      .split('\r\n')
      .slice(1)
      .map((l) => l.split(',')[0]);
    expect(ids).toEqual(json.results.map((r) => r.conversation_id));
  });
});

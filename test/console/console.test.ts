import Database from 'better-sqlite3';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { createRetention } from '../../src/ops/retention.js';
import { ResultStore } from '../../src/store/results.js';
import { createRetentionBatches } from '../../src/store/retention.js';
import { ReviewStore } from '../../src/store/reviews.js';
import { consoleFixture, csrfOf, FORM, PASSWORD } from '../support/console.js';
import { storedRule } from '../support/results.js';

type Fixture = Awaited<ReturnType<typeof consoleFixture>>;
let fx: Fixture | undefined;
afterEach(() => {
  fx?.cleanup();
  fx = undefined;
});

const PAGES = [
  '/console',
  '/console/conversations',
  '/console/agents',
  '/console/agents/agent-10001',
  '/console/rubric',
  '/console/queue',
  '/console/calibration',
  '/console/no-such-page',
];

describe('signed out', () => {
  it('every page redirects to the sign-in form and shows nothing', async () => {
    fx = await consoleFixture();
    const id = fx.seeded.conversations[0]!.id;
    for (const path of [...PAGES, `/console/conversations/${id}`]) {
      const res = await fx.get(path);
      expect(res.status, path).toBe(303);
      expect(res.headers.get('location'), path).toMatch(/^\/console\/login/);
      expect(await res.text(), path).not.toContain(id);
    }
  });

  it('a state-changing form without a session changes nothing', async () => {
    fx = await consoleFixture();
    const result = fx.seeded.results.forConversation(fx.seeded.conversations[0]!.id)[0]!;
    const res = await fx.post(`/console/conversations/${result.conversationId}/review`, {
      result_id: String(result.id),
      rule_0: result.rules[0]!.name,
      verdict_0: 'fail',
    });
    expect(res.status).toBe(303);
    expect(new ReviewStore(fx.store).reviewers()).toEqual([]);
  });

  it('the sign-in form has the contract fields and posts back to /console/login', async () => {
    fx = await consoleFixture();
    const html = await (await fx.get('/console/login')).text();
    expect(html).toMatch(/<form method="post" action="\/console\/login"/);
    expect(html).toContain('name="username"');
    expect(html).toContain('name="password"');
  });
});

describe('signing in', () => {
  it('sets an HttpOnly, SameSite session cookie and redirects to the console', async () => {
    fx = await consoleFixture();
    const res = await fx.post('/console/login', { username: 'viewer', password: PASSWORD });
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/console');
    const cookie = res.headers.get('set-cookie')!;
    expect(cookie).toMatch(/qm_session=qms_[A-Za-z0-9_-]{43}/);
    expect(cookie).toMatch(/HttpOnly/i);
    expect(cookie).toMatch(/SameSite=Lax/i);
    expect(cookie).not.toMatch(/Secure/i);
    // Only a hash of the token is stored.
    const token = /qm_session=([^;]+)/.exec(cookie)![1]!;
    const stored = fx.store.sqlite.prepare('SELECT id_hash FROM sessions').all() as { id_hash: string }[];
    expect(stored).toHaveLength(1);
    expect(stored[0]!.id_hash).not.toContain(token);
  });

  it('marks the cookie Secure when a proxy says the browser used https', async () => {
    fx = await consoleFixture();
    const res = await fx.post('/console/login', { username: 'viewer', password: PASSWORD }, undefined, {
      origin: 'https://localhost',
      'x-forwarded-proto': 'https',
    });
    expect(res.status).toBe(303);
    expect(res.headers.get('set-cookie')).toMatch(/Secure/i);
  });

  it('goes back to the page that asked for a session, and never off the console', async () => {
    fx = await consoleFixture();
    const to = async (next: string) =>
      (await fx!.post('/console/login', { username: 'viewer', password: PASSWORD, next })).headers.get(
        'location',
      );
    expect(await to('/console/agents?days=7')).toBe('/console/agents?days=7');
    expect(await to('https://evil.example/')).toBe('/console');
    expect(await to('//evil.example/console')).toBe('/console');
    expect(await to('/consolex')).toBe('/console');
  });

  it('answers a wrong password and an unknown user the same way, with the same work', async () => {
    fx = await consoleFixture();
    const wrong = await fx.post('/console/login', { username: 'viewer', password: 'not the password' });
    const unknown = await fx.post('/console/login', { username: 'nobody', password: 'not the password' });
    expect(wrong.status).toBe(401);
    expect(unknown.status).toBe(401);
    const strip = (html: string) => html.replace(/value="[^"]*"/g, '');
    expect(strip(await wrong.text())).toBe(strip(await unknown.text()));
    expect(wrong.headers.get('set-cookie')).toBeNull();
  });

  it('slows down repeated failures for a user name, refusing even the right password while it must wait', async () => {
    fx = await consoleFixture();
    for (let i = 0; i < 5; i++) {
      expect((await fx.post('/console/login', { username: 'viewer', password: `guess ${i}` })).status).toBe(
        401,
      );
    }
    const blocked = await fx.post('/console/login', { username: 'viewer', password: PASSWORD });
    expect(blocked.status).toBe(429);
    expect(Number(blocked.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(blocked.headers.get('set-cookie')).toBeNull();
    // A name that does not exist is slowed down the same way.
    for (let i = 0; i < 5; i++)
      await fx.post('/console/login', { username: 'ghost', password: `guess ${i}` });
    expect((await fx.post('/console/login', { username: 'ghost', password: 'x' })).status).toBe(429);
    fx.clock.advance(2_000);
    expect((await fx.post('/console/login', { username: 'viewer', password: PASSWORD })).status).toBe(303);
  });

  it('slows down many names tried from one address', async () => {
    fx = await consoleFixture();
    for (let i = 0; i < 20; i++) await fx.post('/console/login', { username: `user${i}`, password: 'x' });
    expect((await fx.post('/console/login', { username: 'admin', password: PASSWORD })).status).toBe(429);
  });

  it('refuses a sign-in posted from another site', async () => {
    fx = await consoleFixture();
    const res = await fx.post('/console/login', { username: 'viewer', password: PASSWORD }, undefined, {
      origin: 'https://evil.example',
    });
    expect(res.status).toBe(403);
    expect(res.headers.get('set-cookie')).toBeNull();
  });

  it('signing out ends the session', async () => {
    fx = await consoleFixture();
    const cookie = await fx.signIn('viewer');
    const page = await (await fx.get('/console', cookie)).text();
    const res = await fx.post('/console/logout', { _csrf: csrfOf(page) }, cookie);
    expect(res.status).toBe(303);
    expect((await fx.get('/console', cookie)).status).toBe(303);
  });

  it('a session in use outlives CONSOLE_SESSION_HOURS: the browser keeps the cookie as long as the session lives', async () => {
    fx = await consoleFixture();
    const res = await fx.post('/console/login', { username: 'viewer', password: PASSWORD });
    const setCookie = res.headers.get('set-cookie')!;
    const maxAgeMs = Number(/Max-Age=(\d+)/i.exec(setCookie)![1]) * 1000;
    const cookie = /qm_session=[^;]+/.exec(setCookie)![0];
    const signedInAt = fx.clock.now();
    // A reviewer at work: a page every two hours, for longer than the 12-hour idle lifetime.
    for (let hour = 2; hour <= 16; hour += 2) {
      fx.clock.advance(2 * 3_600_000);
      expect(fx.clock.now() - signedInAt, `browser still sends the cookie at ${hour} h`).toBeLessThan(
        maxAgeMs,
      );
      expect((await fx.get('/console', cookie)).status, `${hour} h`).toBe(200);
    }
  });

  it('a session unused for longer than its lifetime ends', async () => {
    fx = await consoleFixture();
    const cookie = await fx.signIn('viewer');
    fx.clock.advance(13 * 3_600_000);
    expect((await fx.get('/console', cookie)).status).toBe(303);
  });
});

describe('pages', () => {
  it('every page answers a viewer, with security headers', async () => {
    fx = await consoleFixture();
    const cookie = await fx.signIn('viewer');
    for (const path of PAGES.slice(0, -1)) {
      const res = await fx.get(path, cookie);
      expect(res.status, path).toBe(200);
      expect(res.headers.get('content-security-policy'), path).toContain("default-src 'none'");
      expect(res.headers.get('cache-control'), path).toBe('no-store');
      expect(await res.text(), path).toContain('<!doctype html>');
    }
    expect((await fx.get('/console/no-such-page', cookie)).status).toBe(404);
  });

  it("the overview counts the period's conversations and shows every rule", async () => {
    fx = await consoleFixture({ count: 40 });
    const cookie = await fx.signIn('viewer');
    const html = await (await fx.get('/console?days=7', cookie)).text();
    expect(html).toContain('<div class="value">40</div>');
    for (const rule of fx.seeded.rubric.rules) expect(html).toContain(`<th scope="row">${rule.name}</th>`);
    expect(html).toContain('<svg class="chart"');
  });

  it('a conversation shows every rule with its evidence and the transcript with the matched words marked', async () => {
    fx = await consoleFixture();
    const cookie = await fx.signIn('viewer');
    const conv = fx.seeded.conversations[0]!;
    const result = fx.seeded.results.forConversation(conv.id)[0]!;
    const html = await (await fx.get(`/console/conversations/${encodeURIComponent(conv.id)}`, cookie)).text();
    for (const rule of result.rules) expect(html).toContain(rule.name);
    expect(html).toContain(`v${result.rubricVersion}`);
    expect(html).toContain(result.rubricHash.slice(0, 12));
    expect(html).toContain(`as eval-${conv.id}`);
    expect(html).toMatch(/<mark title="matched by [^"]+">/);
    expect(html).not.toContain('name="_csrf" value="" ');
    // Viewers see no review form.
    expect(html).not.toContain('Save review');
  });

  it('escapes transcript text, evidence and ids', async () => {
    fx = await consoleFixture({ count: 1 });
    const results = new ResultStore(fx.store);
    const evil = '<script>alert(1)</script>';
    results.record({
      conversationId: `conv-"><img src=x onerror=alert(1)>`,
      destination: FORM,
      agentId: `agent-${evil}`,
      evaluatedAt: fx.now - 1000,
      overallScore: 50,
      rubric: { name: evil, version: '1', hash: 'a'.repeat(64) },
      rules: [storedRule('greeting', 'pass', { evidence: `Found "${evil}" (AGENT, turn 1)`, comment: evil })],
      comment: evil,
      delivery: { state: 'not_configured' },
      transcript: [{ speaker: evil, text: `hello ${evil}`, timestamp: evil }],
    });
    const cookie = await fx.signIn('viewer');
    const list = await (await fx.get('/console/conversations', cookie)).text();
    const page = await (
      await fx.get(
        `/console/conversations/${encodeURIComponent(`conv-"><img src=x onerror=alert(1)>`)}`,
        cookie,
      )
    ).text();
    for (const html of [list, page]) {
      expect(html).not.toContain('<script>alert');
      expect(html).not.toContain('<img src=x');
    }
    expect(page).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
  });

  it('filters conversations by failed rule, critical failure, agent and score, and pages through all of them', async () => {
    fx = await consoleFixture({ count: 120 });
    const cookie = await fx.signIn('viewer');
    const all = fx.seeded.results.list({}, 1000).rows;
    const ids = (html: string) =>
      [...html.matchAll(/href="\/console\/conversations\/([^"?]+)"/g)].map((m) => decodeURIComponent(m[1]!));

    const failedRule = all.flatMap((r) => r.rules).find((r) => r.outcome === 'fail')!.name;
    const failing = ids(
      await (await fx.get(`/console/conversations?failed_rule=${failedRule}&limit=200`, cookie)).text(),
    );
    expect(failing.sort()).toEqual(
      all
        .filter((r) => r.rules.some((x) => x.name === failedRule && x.outcome === 'fail'))
        .map((r) => r.conversationId)
        .sort(),
    );

    const critical = ids(
      await (await fx.get('/console/conversations?critical=true&limit=200', cookie)).text(),
    );
    expect(critical.sort()).toEqual(
      all
        .filter((r) => !r.passed)
        .map((r) => r.conversationId)
        .sort(),
    );

    const agent = ids(
      await (await fx.get('/console/conversations?agent=agent-10002&min_score=50&limit=200', cookie)).text(),
    );
    expect(agent.sort()).toEqual(
      all
        .filter((r) => r.agentId === 'agent-10002' && r.overallScore >= 50)
        .map((r) => r.conversationId)
        .sort(),
    );

    // Keyset pages of 50: every conversation once, newest first.
    const seen: string[] = [];
    let href: string | null = '/console/conversations';
    while (href) {
      const html: string = await (await fx.get(href.replaceAll('&amp;', '&'), cookie)).text();
      seen.push(...ids(html));
      href = /<a href="([^"]+)" rel="next">/.exec(html)?.[1] ?? null;
    }
    expect(seen).toEqual(all.map((r) => r.conversationId));
  });

  it('names a bad filter instead of failing', async () => {
    fx = await consoleFixture();
    const cookie = await fx.signIn('viewer');
    const res = await fx.get('/console/conversations?since=yesterday&max_score=200&cursor=zzz', cookie);
    expect(res.status).toBe(400);
    const html = await res.text();
    expect(html).toContain('since: must be');
    expect(html).toContain('max_score: must be');
    expect(html).toContain('cursor: not a cursor');
  });
});

describe('reviews and calibration', () => {
  it('a reviewer records verdicts; the page and the agreement figures show them', async () => {
    fx = await consoleFixture();
    const cookie = await fx.signIn('reviewer');
    const conv = fx.seeded.conversations[0]!;
    const result = fx.seeded.results.forConversation(conv.id)[0]!;
    const path = `/console/conversations/${encodeURIComponent(conv.id)}`;
    const page = await (await fx.get(path, cookie)).text();
    expect(page).toContain('Save review');
    const form: Record<string, string> = { _csrf: csrfOf(page), result_id: String(result.id) };
    result.rules.forEach((rule, i) => {
      form[`rule_${i}`] = rule.name;
    });
    // Agree with the first rule, contradict the second, no verdict on the rest.
    form.verdict_0 = 'agree';
    const other = result.rules[1]!.outcome === 'pass' ? 'fail' : 'pass';
    form.verdict_1 = other;
    form.note_1 = 'Said it, but <mumbled>';
    const res = await fx.post(`${path}/review`, form, cookie);
    expect(res.status).toBe(303);
    const after = await (await fx.get(res.headers.get('location')!, cookie)).text();
    expect(after).toContain('Review saved: 2 verdict(s).');
    expect(after).toContain('Said it, but &lt;mumbled&gt;');
    const calibration = await (await fx.get('/console/calibration', cookie)).text();
    expect(calibration).toMatch(/id="overall-agreement">\s*50\.0 %/);
    expect(calibration).toContain('needs 30 verdicts (has 2)');
    const reviewed = await (await fx.get('/console/conversations?reviewed=true', cookie)).text();
    expect(reviewed).toContain(conv.id);
  });

  it('a viewer cannot review, and a form without the session token changes nothing', async () => {
    fx = await consoleFixture();
    const conv = fx.seeded.conversations[0]!;
    const result = fx.seeded.results.forConversation(conv.id)[0]!;
    const path = `/console/conversations/${encodeURIComponent(conv.id)}/review`;
    const viewer = await fx.signIn('viewer');
    const viewerPage = await (await fx.get('/console', viewer)).text();
    const form = { result_id: String(result.id), rule_0: result.rules[0]!.name, verdict_0: 'fail' };
    expect((await fx.post(path, { ...form, _csrf: csrfOf(viewerPage) }, viewer)).status).toBe(403);
    const reviewer = await fx.signIn('reviewer');
    expect((await fx.post(path, form, reviewer)).status).toBe(403);
    expect((await fx.post(path, { ...form, _csrf: csrfOf(viewerPage) }, reviewer)).status).toBe(403);
    const reviewerPage = await (await fx.get('/console', reviewer)).text();
    expect(
      (
        await fx.post(path, { ...form, _csrf: csrfOf(reviewerPage) }, reviewer, {
          origin: 'https://evil.example',
        })
      ).status,
    ).toBe(403);
    expect(new ReviewStore(fx.store).reviewers()).toEqual([]);
    // With everything right it works.
    expect((await fx.post(path, { ...form, _csrf: csrfOf(reviewerPage) }, reviewer)).status).toBe(303);
  });

  it("refuses a verdict on a rule the result does not have, or on another conversation's result", async () => {
    fx = await consoleFixture();
    const cookie = await fx.signIn('reviewer');
    const [a, b] = fx.seeded.conversations;
    const resultB = fx.seeded.results.forConversation(b!.id)[0]!;
    const page = await (await fx.get('/console', cookie)).text();
    const path = `/console/conversations/${encodeURIComponent(a!.id)}/review`;
    const res = await fx.post(
      path,
      { _csrf: csrfOf(page), result_id: String(resultB.id), rule_0: 'greeting', verdict_0: 'fail' },
      cookie,
    );
    expect(res.status).toBe(400);
    const resultA = fx.seeded.results.forConversation(a!.id)[0]!;
    const unknown = await fx.post(
      path,
      { _csrf: csrfOf(page), result_id: String(resultA.id), rule_0: 'no_such_rule', verdict_0: 'fail' },
      cookie,
    );
    expect(unknown.status).toBe(400);
    expect(new ReviewStore(fx.store).reviewers()).toEqual([]);
  });
});

describe('another process holding the database', () => {
  it('a review waits for its lock with timers, and is saved once it is released', async () => {
    fx = await consoleFixture({ count: 3 });
    const cookie = await fx.signIn('reviewer');
    const conv = fx.seeded.conversations[0]!;
    const result = fx.seeded.results.forConversation(conv.id)[0]!;
    const page = await (await fx.get('/console', cookie)).text();
    const other = new Database(fx.path);
    other.exec('BEGIN IMMEDIATE');
    const posting = fx.post(
      `/console/conversations/${conv.id}/review`,
      {
        _csrf: csrfOf(page),
        result_id: String(result.id),
        rule_0: result.rules[0]!.name,
        verdict_0: 'agree',
      },
      cookie,
    );
    // The event loop keeps running meanwhile (the fixture's clock is moved by hand).
    for (let i = 0; i < 10; i++) {
      await new Promise((r) => setTimeout(r, 20));
      fx.clock.advance(50);
    }
    other.exec('COMMIT');
    other.close();
    fx.clock.advance(250);
    expect((await posting).status).toBe(303);
    expect(new ReviewStore(fx.store).reviewers()).toHaveLength(1);
  });

  it('says the database is busy when the lock outlasts the wait', async () => {
    fx = await consoleFixture({ count: 3 });
    const cookie = await fx.signIn('reviewer');
    const conv = fx.seeded.conversations[0]!;
    const result = fx.seeded.results.forConversation(conv.id)[0]!;
    const page = await (await fx.get('/console', cookie)).text();
    const other = new Database(fx.path);
    other.exec('BEGIN IMMEDIATE');
    try {
      const posting = fx.post(
        `/console/conversations/${conv.id}/review`,
        {
          _csrf: csrfOf(page),
          result_id: String(result.id),
          rule_0: result.rules[0]!.name,
          verdict_0: 'agree',
        },
        cookie,
      );
      for (let i = 0; i < 12; i++) {
        await new Promise((r) => setTimeout(r, 10));
        fx.clock.advance(250);
      }
      const res = await posting;
      expect(res.status).toBe(503);
      expect(await res.text()).toContain('The database is busy');
    } finally {
      other.exec('ROLLBACK');
      other.close();
    }
  });
});

describe('after retention', () => {
  const DAY = 86_400_000;

  it('a conversation whose transcript was deleted still shows its scores and reviews, and says why there are no words', async () => {
    fx = await consoleFixture({ count: 3, transcriptRetentionMs: 7 * DAY });
    const conv = fx.seeded.conversations[0]!;
    const result = fx.seeded.results.forConversation(conv.id)[0]!;
    new ReviewStore(fx.store).record(
      result.id,
      { id: null, name: 'rita' },
      [{ rule: 'greeting', verdict: 'agree' }],
      fx.now,
    );
    // Eight days on, the service's retention pass (RETENTION_DAYS=7, results kept a year).
    await fx.clock.advance(8 * DAY);
    const pass = await createRetention({
      batches: createRetentionBatches(fx.store),
      clock: fx.clock,
      log: pino({ level: 'silent' }),
      windows: { raw: 7 * DAY, results: 365 * DAY },
    }).runPass();
    expect(pass.deleted).toMatchObject({ transcripts: 3, results: 0 });
    const cookie = await fx.signIn('viewer');
    const res = await fx.get(`/console/conversations/${encodeURIComponent(conv.id)}`, cookie);
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toContain('The transcript was deleted after 7 days by retention (RETENTION_DAYS)');
    for (const rule of result.rules) expect(html).toContain(rule.name);
    expect(html).toContain('rita');
    expect(html).not.toContain('<ol class="transcript">');
    // Reviewers can still give verdicts on what is left.
    const reviewer = await fx.signIn('reviewer');
    const page = await (
      await fx.get(`/console/conversations/${encodeURIComponent(conv.id)}`, reviewer)
    ).text();
    expect(page).toContain('Save review');
  });

  it('a result scored without a stored transcript is not blamed on retention', async () => {
    fx = await consoleFixture({ count: 1, transcriptRetentionMs: 7 * DAY });
    const conv = fx.seeded.conversations[0]!;
    fx.store.sqlite.prepare('DELETE FROM transcripts').run();
    const res = await fx.get(
      `/console/conversations/${encodeURIComponent(conv.id)}`,
      await fx.signIn('viewer'),
    );
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toContain('The transcript is not stored');
    expect(html).not.toContain('by retention');
  });

  it("the rubric page's backtest skips results without a transcript and says how many", async () => {
    fx = await consoleFixture({ count: 30, spacingMs: 3_600_000 });
    // The oldest 10 (an hour apart) lose their transcripts.
    const oldest = fx.store.sqlite
      .prepare('SELECT evaluated_at FROM results ORDER BY evaluated_at LIMIT 1 OFFSET 10')
      .pluck()
      .get() as number;
    expect(createRetentionBatches(fx.store).deleteBatch('transcripts', oldest, 500)).toBe(10);
    const admin = await fx.signIn('admin');
    const page = await (await fx.get('/console/rubric', admin)).text();
    const form = new FormData();
    form.set('_csrf', csrfOf(page));
    form.set('days', '30');
    const { readFileSync } = await import('node:fs');
    const changed = readFileSync('rubrics/example.yaml', 'utf8').replace('critical: true', 'critical: false');
    form.set('rubric', new File([changed], 'v2.yaml', { type: 'application/yaml' }));
    const res = await fx.post('/console/rubric/backtest', form, admin);
    expect(res.status).toBe(200);
    expect(await res.text()).toContain(
      '20 conversations rescored</strong>, 10 without a stored transcript skipped',
    );
  });
});

describe('queue', () => {
  it('shows failed jobs with their reasons; an admin requeues one, a reviewer cannot', async () => {
    fx = await consoleFixture();
    const now = fx.clock.now();
    fx.jobs.transaction(() => fx!.jobs.onSwept({ conversationId: 'conv-broken', agentId: 'agent-1' }, now));
    fx.store.sqlite
      .prepare(
        "UPDATE jobs SET state = 'failed', reason = 'submitEvaluation: HTTP 422: unknown item', finished_at = ? WHERE conversation_id = 'conv-broken'",
      )
      .run(now);
    const reviewer = await fx.signIn('reviewer');
    const html = await (await fx.get('/console/queue', reviewer)).text();
    expect(html).toContain('HTTP 422: unknown item');
    expect(html).not.toContain('>Requeue<');
    expect(
      (
        await fx.post(
          '/console/queue/requeue',
          { _csrf: csrfOf(html), conversation_id: 'conv-broken' },
          reviewer,
        )
      ).status,
    ).toBe(403);
    const admin = await fx.signIn('admin');
    const adminPage = await (await fx.get('/console/queue', admin)).text();
    expect(adminPage).toContain('Requeue');
    const res = await fx.post(
      '/console/queue/requeue',
      { _csrf: csrfOf(adminPage), conversation_id: 'conv-broken' },
      admin,
    );
    expect(res.headers.get('location')).toBe('/console/queue?requeued=1');
    expect(fx.jobs.get('conv-broken')!.state).toBe('due');
    expect(fx.jobs.get('conv-broken')!.formId).toBe(FORM);
  });
});

describe('rubric', () => {
  it('describes the active rubric in words', async () => {
    fx = await consoleFixture();
    const html = await (await fx.get('/console/rubric', await fx.signIn('viewer'))).text();
    expect(html).toContain('The agent must say “thank you for calling”');
    expect(html).toContain('in the first 30 seconds (the first 4 turns when the transcript has no times)');
    expect(html).toContain('Critical: when it fails');
    expect(html).not.toContain('Run backtest');
  });

  it('an admin backtests an uploaded rubric; a rubric that does not load is a message', async () => {
    fx = await consoleFixture({ count: 30 });
    const admin = await fx.signIn('admin');
    const page = await (await fx.get('/console/rubric', admin)).text();
    expect(page).toContain('Run backtest');
    const upload = (name: string, text: string) => {
      const form = new FormData();
      form.set('_csrf', csrfOf(page));
      form.set('days', '30');
      form.set('rubric', new File([text], name, { type: 'application/yaml' }));
      return fx!.post('/console/rubric/backtest', form, admin);
    };
    const { readFileSync } = await import('node:fs');
    const changed = readFileSync('rubrics/example.yaml', 'utf8').replace('critical: true', 'critical: false');
    const ok = await upload('example-v2.yaml', changed);
    expect(ok.status).toBe(200);
    const report = await ok.text();
    expect(report).toContain('Backtest of example-v2.yaml');
    expect(report).toContain('30 conversations rescored');
    const bad = await upload('broken.yaml', 'rules: [');
    expect(bad.status).toBe(400);
    expect(await bad.text()).toContain('broken.yaml: not valid YAML');
    const viewer = await fx.signIn('viewer');
    const form = new FormData();
    form.set('_csrf', csrfOf(await (await fx.get('/console', viewer)).text()));
    form.set('rubric', new File([changed], 'x.yaml'));
    expect((await fx.post('/console/rubric/backtest', form, viewer)).status).toBe(403);
  });

  it('a file over 512 KiB is refused unread, on a page with the way back', async () => {
    fx = await consoleFixture({ count: 5 });
    const admin = await fx.signIn('admin');
    const form = new FormData();
    form.set('_csrf', csrfOf(await (await fx.get('/console/rubric', admin)).text()));
    form.set('rubric', new File(['#'.repeat(600 * 1024)], 'huge.yaml'));
    const res = await fx.post('/console/rubric/backtest', form, admin);
    expect(res.status).toBe(413);
    const html = await res.text();
    expect(html).toContain('A rubric may be at most 512 KiB.');
    expect(html).toContain('href="/console/rubric"');
  });
});

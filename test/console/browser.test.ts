/**
 * The console in a real browser: Debian's Chromium driven by playwright-core (never a downloaded
 * browser). Skipped, with one line saying so, where /usr/bin/chromium is missing
 * (`apt-get install -y chromium`). `UPDATE_SCREENSHOTS=1 npx vitest run test/console/browser.test.ts`
 * also writes the README's screenshots to docs/.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agreementByRule } from '../../src/calibration/agreement.js';
import { startHttpServer } from '../../src/http/server.js';
import { ReviewStore, type VerdictInput } from '../../src/store/reviews.js';
import { consoleFixture, PASSWORD, SERVICE_DESK_RUBRIC } from '../support/console.js';

const CHROMIUM = '/usr/bin/chromium';
const available = existsSync(CHROMIUM);
const screenshots = process.env.UPDATE_SCREENSHOTS === '1';
if (!available)
  process.stderr.write(`browser tests skipped: ${CHROMIUM} not found (apt-get install -y chromium)\n`);

describe.skipIf(!available)('the console in Chromium', { timeout: 120_000 }, () => {
  let fx: Awaited<ReturnType<typeof consoleFixture>>;
  let server: Awaited<ReturnType<typeof startHttpServer>>;
  let context: BrowserContext;
  let page: Page;
  let profile: string;

  beforeAll(async () => {
    // Four weeks of conversations, every 2.8 hours on average.
    fx = await consoleFixture({ count: 240, rubricPath: SERVICE_DESK_RUBRIC, spacingMs: 2.8 * 3_600_000 });
    seedReviews();
    server = await startHttpServer({ app: fx.app, port: 0, hostname: '127.0.0.1' });
    profile = mkdtempSync(join(tmpdir(), 'qm-chromium-'));
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
      viewport: { width: 1280, height: 900 },
      acceptDownloads: true,
    });
    page = context.pages()[0] ?? (await context.newPage());
  }, 120_000);

  afterAll(async () => {
    await context?.close();
    await server?.close(1000);
    fx?.cleanup();
    if (profile) rmSync(profile, { recursive: true, force: true });
  });

  const url = (path: string) => `${server.url}${path}`;

  /** Two reviewers' earlier verdicts on every fourth conversation: mostly agreeing, as in real life. */
  function seedReviews(): void {
    const reviews = new ReviewStore(fx.store);
    const rows = fx.seeded.results.list({}, 1000).rows.filter((_, i) => i % 4 === 3);
    rows.forEach((row, i) => {
      const reviewer = i % 2 ? { id: null, name: 'maria' } : { id: null, name: 'omar' };
      const verdicts = row.rules.map((rule, j) => ({
        rule: rule.name,
        verdict: (i * 7 + j) % 11 === 0 ? (rule.outcome === 'pass' ? 'fail' : 'pass') : 'agree',
        note: null,
      })) as VerdictInput[];
      reviews.record(row.id, reviewer, verdicts, fx.now - (rows.length - i) * 3_600_000);
    });
  }

  const overallAgreement = () => {
    const { overall } = agreementByRule(new ReviewStore(fx.store).agreementCells());
    return `${(100 * overall.rate!).toFixed(1)} %`;
  };
  const shot = async (name: string) => {
    if (screenshots) await page.screenshot({ path: join('docs', `console-${name}.png`), fullPage: true });
  };
  const signIn = async (name: string) => {
    await context.clearCookies();
    await page.goto(url('/console/login'));
    await page.getByLabel('User name').fill(name);
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByLabel('Password').press('Enter');
    await page.waitForURL(url('/console'));
  };

  it('a signed-out visitor sees only the sign-in form', async () => {
    await context.clearCookies();
    const conversation = fx.seeded.conversations[0]!.id;
    await page.goto(url(`/console/conversations/${conversation}`));
    expect(page.url()).toContain('/console/login?next=');
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('QA console');
    // Only the sign-in form (the page it was asked for is kept in a hidden field, nothing of it shown).
    expect(await page.locator('main').textContent()).not.toContain(conversation);
    expect(await page.content()).not.toContain('eval-');
    const api = await page.request.get(url('/api/v1/results'));
    expect(api.status()).toBe(401);
    await shot('login');
  });

  it('a wrong password is refused; the right one opens the overview', async () => {
    await page.goto(url('/console/login'));
    await page.getByLabel('User name').fill('reviewer');
    await page.getByLabel('Password').fill('not the password');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => page.getByRole('alert').textContent()).toBe('Wrong user name or password.');
    await signIn('reviewer');
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('Overview');
    expect(await page.locator('.kpi .value').first().textContent()).toBe('240');
    expect(await page.locator('svg.chart').count()).toBe(1);
    await shot('overview');
  });

  it('every page is reachable from the navigation, by keyboard too', async () => {
    await signIn('reviewer');
    // The first Tab reaches the skip link.
    await page.keyboard.press('Tab');
    expect(await page.evaluate('document.activeElement && document.activeElement.textContent')).toBe(
      'Skip to content',
    );
    for (const [link, heading] of [
      ['Conversations', 'Conversations'],
      ['Agents', 'Agents'],
      ['Calibration', 'Calibration'],
      ['Rubric', 'Rubric'],
      ['Queue', 'Queue'],
      ['Overview', 'Overview'],
    ] as const) {
      await page
        .getByRole('navigation', { name: 'Console' })
        .getByRole('link', { name: link, exact: true })
        .focus();
      await page.keyboard.press('Enter');
      await page.waitForLoadState();
      expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe(heading);
    }
    await page.getByRole('link', { name: 'Agents', exact: true }).click();
    await shot('agents');
    await page.getByRole('link', { name: 'agent-10001' }).click();
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('Agent agent-10001');
    await page.getByRole('link', { name: 'Rubric', exact: true }).click();
    await shot('rubric');
  });

  it('filters conversations, opens one, and records a review that the agreement figure counts', async () => {
    await signIn('reviewer');
    await page.goto(url('/console/conversations'));
    await page.getByLabel('Failed rule').selectOption('recording_disclosure');
    await page.getByRole('button', { name: 'Filter' }).click();
    expect(page.url()).toContain('failed_rule=recording_disclosure');
    const rows = page.locator('tbody tr');
    expect(await rows.count()).toBeGreaterThan(0);
    for (const text of await rows.locator('td:nth-child(6)').allTextContents())
      expect(text).toContain('recording_disclosure');
    await shot('conversations');
    await rows.first().locator('td:nth-child(2) a').click();
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toMatch(/^Conversation conv-/);
    expect(await page.locator('mark').count()).toBeGreaterThan(0);
    const rule = page.locator('fieldset.verdict').filter({ hasText: 'recording_disclosure' });
    await rule.getByLabel('should be pass').check();
    await page
      .locator('input[name^="note_"]')
      .nth(1)
      .fill('Said it in the first minute; the transcript timing is off.');
    await page
      .locator('fieldset.verdict')
      .filter({ hasText: 'greeting' })
      .getByLabel(/^agree/)
      .check();
    await page.getByRole('button', { name: 'Save review' }).click();
    expect(await page.getByRole('status').textContent()).toBe('Review saved: 2 verdict(s).');
    expect(
      await page.locator('tr').filter({ hasText: 'recording_disclosure' }).first().textContent(),
    ).toContain('would pass it');
    await shot('conversation');
    await page.getByRole('link', { name: 'Calibration', exact: true }).click();
    // The figure counts the new verdicts with the earlier ones.
    expect(await page.locator('#overall-agreement').textContent()).toBe(overallAgreement());
    expect(
      await page.locator('tbody tr').filter({ hasText: 'recording_disclosure' }).first().textContent(),
    ).toMatch(/engine fail, reviewer pass: \d+/);
    await shot('calibration');
  });

  it('exports the filtered conversations as CSV', async () => {
    await signIn('viewer');
    await page.goto(url('/console/conversations?agent=agent-10002'));
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('link', { name: 'Download these as CSV' }).click(),
    ]);
    const file = await download.path();
    const lines = readFileSync(file, 'utf8').trim().split('\r\n');
    expect(lines[0]).toMatch(/^conversation_id,destination,agent_id,/);
    const expected = fx.seeded.conversations.filter((c) => c.agentId === 'agent-10002').length;
    expect(lines.length - 1).toBe(expected);
    for (const line of lines.slice(1)) expect(line.split(',')[2]).toBe('agent-10002');
  });

  it('a viewer sees no review form, and a review posted anyway is refused', async () => {
    await signIn('viewer');
    const conversation = fx.seeded.conversations[1]!;
    await page.goto(url(`/console/conversations/${conversation.id}`));
    expect(await page.getByRole('button', { name: 'Save review' }).count()).toBe(0);
    const csrf = await page.locator('input[name="_csrf"]').first().inputValue();
    const result = fx.seeded.results.forConversation(conversation.id)[0]!;
    const before = result.reviewCount;
    const res = await page.request.post(url(`/console/conversations/${conversation.id}/review`), {
      form: { _csrf: csrf, result_id: String(result.id), rule_0: 'greeting', verdict_0: 'fail' },
      headers: { origin: server.url },
    });
    expect(res.status()).toBe(403);
    expect(fx.seeded.results.byId(result.id)!.reviewCount).toBe(before);
  });

  it('reads on a phone: no sideways scrolling of the page', async () => {
    await signIn('viewer');
    await page.setViewportSize({ width: 390, height: 844 });
    try {
      for (const path of [
        '/console',
        `/console/conversations/${fx.seeded.conversations[0]!.id}`,
        '/console/calibration',
      ]) {
        await page.goto(url(path));
        const overflow = (await page.evaluate(
          'document.documentElement.scrollWidth - window.innerWidth',
        )) as number;
        expect(overflow, path).toBeLessThanOrEqual(0);
      }
      await page.goto(url('/console'));
      // The trend chart spans the page like the cards around it, and its axis labels stay readable
      // once the 720-unit drawing is scaled down to the phone (they were 5 px).
      const chart = (await page.evaluate(`(() => {
        const svg = document.querySelector('svg.chart');
        const box = (e) => e.getBoundingClientRect();
        return {
          figureX: box(svg.closest('figure')).x,
          headingX: box(document.querySelector('main h1')).x,
          labelPx: Math.min(...[...svg.querySelectorAll('text')].map((t) => box(t).height)),
        };
      })()`)) as { figureX: number; headingX: number; labelPx: number };
      expect(chart.figureX).toBeCloseTo(chart.headingX, 0);
      expect(chart.labelPx).toBeGreaterThanOrEqual(9);
      await shot('phone');
    } finally {
      await page.setViewportSize({ width: 1280, height: 900 });
    }
  });
});

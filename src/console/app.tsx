/**
 * The QA console: server-rendered pages under /console (docs/contract.md §8). A Hono sub-app the
 * service mounts wherever it serves people (today next to the webhooks; it assumes nothing about
 * that app). Every route checks the session and the role before it loads anything; pages are
 * functions of what the route loaded through the store; every string is escaped by hono/jsx; no
 * script runs in the browser. State-changing forms carry the session's CSRF token and must come
 * from this host (Origin or Sec-Fetch-Site, through hono/csrf).
 */
import type { Context, MiddlewareHandler } from 'hono';
import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { deleteCookie, setCookie } from 'hono/cookie';
import { csrf } from 'hono/csrf';
import { HTTPException } from 'hono/http-exception';
import type { Child } from 'hono/jsx';
import type { Logger } from 'pino';
import type { Auth } from '../auth/sign-in.js';
import { sameSecret } from '../auth/tokens.js';
import type { BacktestRunner } from '../backtest/run.js';
import { agreementByRule } from '../calibration/agreement.js';
import type { Clock } from '../clock.js';
import type { Rubric } from '../scoring/index.js';
import type { SessionView } from '../store/accounts.js';
import { isBusy, retryWhileBusy } from '../store/db.js';
import type { QueueView } from '../store/queue-view.js';
import type { ResultStats, Totals } from '../store/result-stats.js';
import type { ResultStore } from '../store/results.js';
import type { ReviewStore, VerdictInput } from '../store/reviews.js';
import { type Role, VERDICTS, type Verdict } from '../store/schema.js';
import { encodeCursor, FILTER_PARAMS, parseResultQuery } from '../web/filters.js';
import {
  clientAddress,
  isHttps,
  isSameOrigin,
  roleAtLeast,
  SESSION_COOKIE,
  sessionCookie,
} from '../web/request.js';
import { addDays, daysBetween, startOfDay, timeFormatter } from '../web/time.js';
import { CONSOLE_CSS } from './assets.js';
import type { DayPoint } from './charts.js';
import { BASE, type PageContext } from './layout.js';
import { AgentPage, AgentsPage } from './pages/agents.js';
import { CalibrationPage } from './pages/calibration.js';
import { ConversationPage } from './pages/conversation.js';
import { ConversationsPage } from './pages/conversations.js';
import { ErrorPage } from './pages/error.js';
import { LoginPage } from './pages/login.js';
import { OverviewPage } from './pages/overview.js';
import { PERIODS } from './pages/period.js';
import { QueuePage } from './pages/queue.js';
import { RubricPage } from './pages/rubric.js';
import { describeRubric } from './rubric-words.js';

export interface ConsoleDeps {
  auth: Auth;
  results: ResultStore;
  stats: ResultStats;
  reviews: ReviewStore;
  queue: QueueView;
  /** The service's own queue (its configured destination): what admins may requeue. */
  requeue?: { destination: string; run(ids: string[] | 'all-failed', now: number): number };
  /** The rubric the service scores with. */
  rubric: Rubric;
  /** Runs an uploaded rubric against stored transcripts (dry run); absent: no backtests here. */
  backtest?: BacktestRunner;
  clock: Clock;
  log: Logger;
  /** IANA zone for days and times on the pages (TIME_ZONE). */
  timeZone: string;
  /** TRUST_PROXY: take the client address and host from the reverse proxy's headers. */
  trustProxy: boolean;
  /** RETENTION_DAYS in ms (0: for ever): a conversation page says when its transcript went. */
  transcriptRetentionMs?: number;
}

/** Largest rubric an admin may upload for a backtest. */
export const MAX_RUBRIC_UPLOAD = 512 * 1024;
const MAX_FORM = 256 * 1024;
const MAX_VERDICTS = 200;
const MAX_NOTE = 2000;
const MAX_ID = 500;

type Env = { Variables: { session: SessionView; reqStart: number } };

const CSP =
  "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

function html(c: Context, node: Child, status = 200): Response {
  return c.html(`<!doctype html>${String(node)}`, status as 200);
}

/** Where to go after signing in: only a console path on this host. */
function safeNext(next: unknown): string {
  if (typeof next !== 'string') return BASE;
  return next.startsWith(`${BASE}/`) || next === BASE
    ? next.startsWith('//') || next.includes('\\')
      ? BASE
      : next
    : BASE;
}

function periodOf(c: Context): number {
  const days = Number(c.req.query('days'));
  return (PERIODS as readonly number[]).includes(days) ? days : 30;
}

function sum(rows: Totals[]): Totals {
  const t: Totals = { results: 0, scoreSum: 0, passed: 0, criticalFailed: 0 };
  for (const r of rows) {
    t.results += r.results;
    t.scoreSum += r.scoreSum;
    t.passed += r.passed;
    t.criticalFailed += r.criticalFailed;
  }
  return t;
}

function dayPoints(fromDay: string, toDay: string, rows: (Totals & { day: string })[]): DayPoint[] {
  const byDay = new Map(rows.map((r) => [r.day, r]));
  return daysBetween(fromDay, toDay).map((day) => {
    const r = byDay.get(day);
    return r && r.results > 0
      ? { day, results: r.results, average: r.scoreSum / r.results, passRate: (100 * r.passed) / r.results }
      : { day, results: 0, average: null, passRate: null };
  });
}

export function createConsoleApp(deps: ConsoleDeps): Hono<Env> {
  const { auth, results, stats, reviews, queue, clock, log, timeZone, trustProxy } = deps;
  const app = new Hono<Env>();
  const time = timeFormatter(timeZone);
  let backtestRunning = false;
  // The service's connection waits only milliseconds for a lock; a form's write waits for another
  // process's lock with timers, up to two seconds, before the page says the database is busy.
  const write = <T,>(fn: () => T) => retryWhileBusy(fn, { clock, budgetMs: 2_000 });

  const today = () => time.day(clock.now());
  const range = (days: number) => {
    const toDay = today();
    return { fromDay: addDays(toDay, -(days - 1)), toDay };
  };
  const ctxOf = (c: Context<Env>): PageContext => {
    const session = c.get('session');
    return { user: session.user, csrfToken: session.csrfToken, time, timeZone, now: clock.now() };
  };

  // Every answer: no caching of pages with data, no framing, no scripts, one log line.
  app.use('*', async (c, next) => {
    const started = clock.now();
    // Set before the route answers, so they go into its response as it is made (a route may
    // replace Cache-Control): a header set afterwards makes Hono rebuild the response, and the node
    // adapter then sends the page through a web stream instead of writing it in one go.
    c.header('Content-Security-Policy', CSP);
    c.header('X-Content-Type-Options', 'nosniff');
    c.header('X-Frame-Options', 'DENY');
    c.header('Referrer-Policy', 'same-origin');
    c.header('Cache-Control', 'no-store');
    await next();
    const session = c.get('session');
    log.info(
      {
        method: c.req.method,
        path: c.req.path,
        status: c.res.status,
        durationMs: clock.now() - started,
        user: session?.user.name,
      },
      'console request',
    );
  });

  // State-changing requests must come from our own pages. Compared by host (see isSameOrigin), so
  // it holds behind a TLS-terminating proxy too.
  app.use(
    '*',
    csrf({
      origin: (_origin, c) => isSameOrigin(c, trustProxy),
      secFetchSite: (site) => site === 'same-origin',
    }),
  );

  app.onError((err, c) => {
    // hono/csrf refuses a form from another site by throwing its 403.
    if (err instanceof HTTPException && err.status === 403) {
      return html(
        c,
        <ErrorPage title="Refused" message="This form must be sent from the console's own pages." />,
        403,
      );
    }
    if (isBusy(err)) {
      // Another process held the database's lock for longer than the page waits.
      c.header('Retry-After', '2');
      return html(c, <ErrorPage title="Busy" message="The database is busy. Try again in a moment." />, 503);
    }
    log.error({ err, method: c.req.method, path: c.req.path }, 'console error');
    return html(
      c,
      <ErrorPage
        title="Something went wrong"
        message="The page could not be shown. The error is in the service's log."
      />,
      500,
    );
  });

  /** Signed in with at least `role`, or sent to sign in (pages) / refused (a lower role). */
  const requireRole =
    (role: Role): MiddlewareHandler<Env> =>
    async (c, next) => {
      const session = auth.session(sessionCookie(c));
      if (!session) {
        if (c.req.method !== 'GET' && c.req.method !== 'HEAD') return c.redirect(`${BASE}/login`, 303);
        const url = new URL(c.req.url);
        const next = `${url.pathname}${url.search}`;
        return c.redirect(`${BASE}/login${next !== BASE ? `?next=${encodeURIComponent(next)}` : ''}`, 303);
      }
      c.set('session', session);
      if (!roleAtLeast(session.user.role, role)) {
        return html(
          c,
          <ErrorPage
            ctx={ctxOf(c)}
            title="Not allowed"
            message={`This needs the ${role} role; you are signed in as ${session.user.role}.`}
          />,
          403,
        );
      }
      return next();
    };

  /** The form's `_csrf` must be this session's token (after requireRole). */
  const formOf = async (c: Context<Env>): Promise<Record<string, string | File> | null> => {
    const body = (await c.req.parseBody({ all: false })) as Record<string, string | File>;
    const token = body._csrf;
    return typeof token === 'string' && sameSecret(token, c.get('session').csrfToken) ? body : null;
  };
  const csrfRefused = (c: Context<Env>) =>
    html(
      c,
      <ErrorPage
        ctx={ctxOf(c)}
        title="Form expired"
        message="The form was out of date. Go back, reload the page and try again."
      />,
      403,
    );
  const formLimit = bodyLimit({
    maxSize: MAX_FORM,
    onError: (c) => c.text('form too large', 413),
  });

  app.get('/assets/console.css', (c) => {
    c.header('Cache-Control', 'public, max-age=3600');
    return c.body(CONSOLE_CSS, 200, { 'Content-Type': 'text/css; charset=utf-8' });
  });

  // --- signing in and out ---------------------------------------------------------------------

  app.get('/login', (c) => {
    if (auth.session(sessionCookie(c))) return c.redirect(safeNext(c.req.query('next')), 303);
    return html(c, <LoginPage next={c.req.query('next')} />);
  });

  app.post(
    '/login',
    bodyLimit({ maxSize: 16 * 1024, onError: (c) => c.text('form too large', 413) }),
    async (c) => {
      const body = await c.req.parseBody();
      const username = typeof body.username === 'string' ? body.username : '';
      const password = typeof body.password === 'string' ? body.password : '';
      const next = typeof body.next === 'string' ? body.next : undefined;
      const outcome = await auth.signIn(username, password, clientAddress(c, trustProxy));
      if (outcome.ok) {
        setCookie(c, SESSION_COOKIE, outcome.sessionToken, {
          httpOnly: true,
          sameSite: 'Lax',
          secure: isHttps(c),
          path: '/',
          // The cookie lives as long as a session can (7 days): the server ends an unused one after
          // CONSOLE_SESSION_HOURS and renews it on use, but the cookie is set only here, so a
          // Max-Age of the idle time would sign a reviewer out mid-day however busy they were.
          maxAge: Math.floor(auth.sessionMaxMs / 1000),
        });
        return c.redirect(safeNext(next), 303);
      }
      if (outcome.reason === 'invalid') {
        // The same words whether or not the user exists.
        return html(
          c,
          <LoginPage error="Wrong user name or password." next={next} username={username.slice(0, 200)} />,
          401,
        );
      }
      c.header('Retry-After', String(outcome.retryAfterSeconds));
      const message =
        outcome.reason === 'busy'
          ? 'Too many sign-ins at once. Try again in a moment.'
          : `Too many failed attempts. Try again in ${outcome.retryAfterSeconds} seconds.`;
      return html(
        c,
        <LoginPage error={message} next={next} username={username.slice(0, 200)} />,
        outcome.reason === 'busy' ? 503 : 429,
      );
    },
  );

  app.post('/logout', formLimit, async (c) => {
    const token = sessionCookie(c);
    const session = auth.session(token);
    if (session) {
      c.set('session', session);
      const body = await formOf(c);
      if (!body) return csrfRefused(c);
      await write(() => auth.signOut(token));
    }
    deleteCookie(c, SESSION_COOKIE, { path: '/', secure: isHttps(c) });
    return c.redirect(`${BASE}/login`, 303);
  });

  // --- pages ----------------------------------------------------------------------------------

  app.get('/', requireRole('viewer'), (c) => {
    const days = periodOf(c);
    const r = range(days);
    const byDay = stats.byDay(r);
    const critical = results.listSummaries(
      { criticalOnly: true, since: startOfDay(r.fromDay, timeZone) },
      5,
    ).rows;
    return html(
      c,
      <OverviewPage
        ctx={ctxOf(c)}
        data={{
          days,
          ...r,
          points: dayPoints(r.fromDay, r.toDay, byDay),
          totals: sum(byDay),
          rules: stats.byRule(r),
          critical,
          queue: queue.health(),
        }}
      />,
    );
  });

  app.get('/conversations', requireRole('viewer'), (c) => {
    const values: Record<string, string> = {};
    for (const name of [...FILTER_PARAMS, 'limit', 'cursor']) {
      const v = c.req.query(name);
      if (v !== undefined && v !== '') values[name] = v.slice(0, 300);
    }
    const parsed = parseResultQuery((n) => values[n], {
      timeZone,
      now: clock.now(),
      defaultLimit: 50,
      maxLimit: 200,
    });
    const filterQuery = new URLSearchParams(Object.entries(values).filter(([k]) => k !== 'cursor'));
    const exportQuery = new URLSearchParams(
      Object.entries(values).filter(([k]) => k !== 'cursor' && k !== 'limit'),
    );
    const page = parsed.ok
      ? results.list(parsed.query.filter, parsed.query.limit, parsed.query.cursor)
      : null;
    const nextQuery = new URLSearchParams(filterQuery);
    if (page?.next) nextQuery.set('cursor', encodeCursor(page.next));
    const all = { fromDay: '0000-01-01', toDay: '9999-12-31' };
    return html(
      c,
      <ConversationsPage
        ctx={ctxOf(c)}
        data={{
          values,
          problems: parsed.ok ? [] : parsed.problems,
          rows: page?.rows ?? [],
          ruleNames: stats.ruleNames(all),
          destinations: stats.destinations(),
          nextHref: page?.next ? `${BASE}/conversations?${nextQuery}` : null,
          firstHref: values.cursor
            ? `${BASE}/conversations${filterQuery.size ? `?${filterQuery}` : ''}`
            : null,
          csvHref: `/api/v1/results.csv${exportQuery.size ? `?${exportQuery}` : ''}`,
        }}
      />,
      parsed.ok ? 200 : 400,
    );
  });

  const conversationPage = (
    c: Context<Env>,
    id: string,
    extra: { notice?: string; problems?: string[] },
    status = 200,
  ) => {
    const rows = results.forConversation(id);
    const jobs = queue.jobsOf(id);
    if (rows.length === 0 && jobs.length === 0) {
      return html(
        c,
        <ErrorPage
          ctx={ctxOf(c)}
          title="Not found"
          message="No conversation with this id has reached the service."
        />,
        404,
      );
    }
    const verdicts = reviews.forResults(rows.map((r) => r.id));
    const session = c.get('session');
    return html(
      c,
      <ConversationPage
        ctx={ctxOf(c)}
        data={{
          conversationId: id,
          results: rows.map((row) => ({ row, reviews: verdicts.get(row.id) ?? [] })),
          transcript: results.transcript(id),
          transcriptRetentionMs: deps.transcriptRetentionMs ?? 0,
          jobs,
          deliveries: queue.deliveriesOf(id),
          canReview: roleAtLeast(session.user.role, 'reviewer'),
          ...extra,
        }}
      />,
      status,
    );
  };

  app.get('/conversations/:id', requireRole('viewer'), (c) => {
    const id = c.req.param('id');
    if (id.length > MAX_ID)
      return html(c, <ErrorPage ctx={ctxOf(c)} title="Not found" message="No such conversation." />, 404);
    const saved = Number(c.req.query('saved'));
    return conversationPage(
      c,
      id,
      Number.isInteger(saved) && saved > 0 ? { notice: `Review saved: ${saved} verdict(s).` } : {},
    );
  });

  app.post('/conversations/:id/review', requireRole('reviewer'), formLimit, async (c) => {
    const id = c.req.param('id');
    const body = await formOf(c);
    if (!body) return csrfRefused(c);
    const resultId = Number(body.result_id);
    const result = Number.isSafeInteger(resultId) ? results.byId(resultId) : undefined;
    if (!result || result.conversationId !== id)
      return conversationPage(c, id, { problems: ['That result is not part of this conversation.'] }, 400);
    const verdicts: VerdictInput[] = [];
    const problems: string[] = [];
    for (let i = 0; i < MAX_VERDICTS; i++) {
      const rule = body[`rule_${i}`];
      if (typeof rule !== 'string') break;
      const verdict = body[`verdict_${i}`];
      const note = body[`note_${i}`];
      if (verdict === undefined || verdict === '') continue;
      if (typeof verdict !== 'string' || !(VERDICTS as readonly string[]).includes(verdict)) {
        problems.push(`${rule}: unknown verdict`);
        continue;
      }
      if (typeof note === 'string' && note.length > MAX_NOTE) {
        problems.push(`${rule}: the note is longer than ${MAX_NOTE} characters`);
        continue;
      }
      verdicts.push({ rule, verdict: verdict as Verdict, note: typeof note === 'string' ? note : null });
    }
    if (problems.length > 0) return conversationPage(c, id, { problems }, 400);
    if (verdicts.length === 0)
      return conversationPage(c, id, { problems: ['Choose a verdict for at least one rule.'] }, 400);
    const user = c.get('session').user;
    const saved = await write(() =>
      reviews.record(resultId, { id: user.id, name: user.name }, verdicts, clock.now()),
    );
    if (!saved.ok) {
      return conversationPage(
        c,
        id,
        {
          problems: [
            saved.reason === 'unknown_rule'
              ? `The result has no rule '${saved.rule}'.`
              : 'The result is gone.',
          ],
        },
        400,
      );
    }
    log.info({ user: user.name, resultId, verdicts: saved.written }, 'review recorded');
    return c.redirect(`${BASE}/conversations/${encodeURIComponent(id)}?saved=${saved.written}`, 303);
  });

  app.get('/agents', requireRole('viewer'), (c) => {
    const days = periodOf(c);
    const r = range(days);
    return html(c, <AgentsPage ctx={ctxOf(c)} data={{ days, ...r, agents: stats.byAgent(r) }} />);
  });

  app.get('/agents/:id', requireRole('viewer'), (c) => {
    const agentId = c.req.param('id');
    if (agentId.length > MAX_ID)
      return html(c, <ErrorPage ctx={ctxOf(c)} title="Not found" message="No such agent." />, 404);
    const days = periodOf(c);
    const r = range(days);
    const byDay = stats.agentByDay(agentId, r);
    return html(
      c,
      <AgentPage
        ctx={ctxOf(c)}
        data={{
          agentId,
          days,
          ...r,
          totals: sum(byDay),
          points: dayPoints(r.fromDay, r.toDay, byDay),
          rules: stats.agentByRule(agentId, r),
          teamRules: new Map(stats.byRule(r).map((x) => [x.rule, x])),
        }}
      />,
    );
  });

  const rubricData = (c: Context<Env>) => {
    const r = deps.rubric;
    return {
      rubric: {
        name: r.name,
        version: r.version,
        hash: r.hash,
        shape: r.shape,
        ...(r.formId ? { formId: r.formId } : {}),
      },
      rules: describeRubric(r),
      canBacktest: Boolean(deps.backtest) && roleAtLeast(c.get('session').user.role, 'admin'),
      maxUploadKiB: MAX_RUBRIC_UPLOAD / 1024,
      defaultDays: 7,
    };
  };

  app.get('/rubric', requireRole('viewer'), (c) =>
    html(c, <RubricPage ctx={ctxOf(c)} data={rubricData(c)} />),
  );

  app.post(
    '/rubric/backtest',
    requireRole('admin'),
    bodyLimit({
      maxSize: MAX_RUBRIC_UPLOAD + 16 * 1024,
      // After requireRole: the admin's session is known, so the page keeps the console's navigation.
      onError: (c) =>
        html(
          c,
          <ErrorPage
            ctx={ctxOf(c)}
            title="File too large"
            message={`A rubric may be at most ${MAX_RUBRIC_UPLOAD / 1024} KiB.`}
          />,
          413,
        ),
    }),
    async (c) => {
      const body = await formOf(c);
      if (!body) return csrfRefused(c);
      const file = body.rubric;
      const days = Math.min(365, Math.max(1, Math.floor(Number(body.days)) || 7));
      const fail = (fileName: string, problems: string[], status = 400) =>
        html(
          c,
          <RubricPage
            ctx={ctxOf(c)}
            data={{ ...rubricData(c), backtest: { ok: false, fileName, problems } }}
          />,
          status,
        );
      if (!deps.backtest) return fail('the upload', ['Backtests are not available here.'], 404);
      if (!(file instanceof File) || file.size === 0) return fail('the upload', ['Choose a rubric file.']);
      // Only the base name, and only for messages: the file is never written anywhere.
      const fileName = (file.name.split(/[\\/]/).pop() || 'rubric.yaml').slice(0, 100);
      if (file.size > MAX_RUBRIC_UPLOAD)
        return fail(fileName, [`A rubric may be at most ${MAX_RUBRIC_UPLOAD / 1024} KiB.`], 413);
      let text: string;
      try {
        text = new TextDecoder('utf-8', { fatal: true }).decode(await file.arrayBuffer());
      } catch {
        return fail(fileName, ['The file is not UTF-8 text.']);
      }
      if (backtestRunning) {
        c.header('Retry-After', '10');
        return fail(fileName, ['Another backtest is running. Try again when it has finished.'], 429);
      }
      backtestRunning = true;
      let outcome: Awaited<ReturnType<BacktestRunner>>;
      try {
        outcome = await deps.backtest({
          rubricText: text,
          rubricFile: fileName,
          window: { since: clock.now() - days * 86_400_000 },
        });
      } finally {
        backtestRunning = false;
      }
      if (!outcome.ok) return fail(fileName, outcome.problems);
      log.info(
        {
          user: c.get('session').user.name,
          rubric: outcome.report.rubric.name,
          conversations: outcome.report.tally.conversations,
          durationMs: outcome.report.durationMs,
        },
        'backtest finished',
      );
      return html(
        c,
        <RubricPage
          ctx={ctxOf(c)}
          data={{ ...rubricData(c), backtest: { ok: true, report: outcome.report, fileName, days } }}
        />,
      );
    },
  );

  app.get('/queue', requireRole('viewer'), (c) => {
    const after = parseFailedCursor(c.req.query('after'));
    const failed = queue.failed(50, after ?? undefined);
    const requeued = c.req.query('requeued');
    return html(
      c,
      <QueuePage
        ctx={ctxOf(c)}
        data={{
          health: queue.health(),
          waiting: queue.waiting(100),
          failed: failed.rows,
          nextFailedHref: failed.next ? `${BASE}/queue?after=${encodeFailedCursor(failed.next)}` : null,
          requeueDestination: deps.requeue?.destination ?? null,
          canRequeue: Boolean(deps.requeue) && roleAtLeast(c.get('session').user.role, 'admin'),
          ...(requeued !== undefined && /^\d{1,7}$/.test(requeued)
            ? { notice: `Requeued ${requeued} conversation(s).` }
            : {}),
        }}
      />,
    );
  });

  app.post('/queue/requeue', requireRole('admin'), formLimit, async (c) => {
    const body = await formOf(c);
    if (!body) return csrfRefused(c);
    if (!deps.requeue)
      return html(
        c,
        <ErrorPage ctx={ctxOf(c)} title="Not available" message="This process does not run a queue." />,
        404,
      );
    const id = body.conversation_id;
    const which =
      body.all === 'failed'
        ? 'all-failed'
        : typeof id === 'string' && id && id.length <= MAX_ID
          ? [id]
          : null;
    if (!which)
      return html(
        c,
        <ErrorPage ctx={ctxOf(c)} title="Nothing to requeue" message="Name a conversation." />,
        400,
      );
    const requeue = deps.requeue;
    const changed = await write(() => requeue.run(which, clock.now()));
    log.info(
      { user: c.get('session').user.name, requeued: changed, all: which === 'all-failed' },
      'requeued from the console',
    );
    return c.redirect(`${BASE}/queue?requeued=${changed}`, 303);
  });

  app.get('/calibration', requireRole('viewer'), (c) => {
    // Calibration looks at recent verdicts: how the engine and the team agree now, not last year.
    const days = periodOf(c);
    const since = startOfDay(range(days).fromDay, timeZone);
    const { rules, overall } = agreementByRule(reviews.agreementCells({ since }));
    return html(
      c,
      <CalibrationPage
        ctx={ctxOf(c)}
        data={{
          days,
          rules,
          overall,
          reviewers: reviews.reviewers(since),
          recent: reviews.recent(25, { disagreementsOnly: true }),
        }}
      />,
    );
  });

  // Anything else under /console: signed-out visitors go to sign in, others get a 404 page.
  app.all('*', requireRole('viewer'), (c) =>
    html(
      c,
      <ErrorPage ctx={ctxOf(c)} title="Not found" message="There is no such page in the console." />,
      404,
    ),
  );

  return app;
}

function encodeFailedCursor(cursor: { finishedAt: number; conversationId: string; formId: string }): string {
  return Buffer.from(JSON.stringify([cursor.finishedAt, cursor.conversationId, cursor.formId])).toString(
    'base64url',
  );
}

function parseFailedCursor(
  value: string | undefined,
): { finishedAt: number; conversationId: string; formId: string } | null {
  if (!value || value.length > 2000) return null;
  try {
    const parsed = JSON.parse(Buffer.from(value, 'base64url').toString('utf8')) as unknown;
    if (
      Array.isArray(parsed) &&
      parsed.length === 3 &&
      Number.isSafeInteger(parsed[0]) &&
      typeof parsed[1] === 'string' &&
      typeof parsed[2] === 'string'
    ) {
      return { finishedAt: parsed[0], conversationId: parsed[1], formId: parsed[2] };
    }
  } catch {
    // Not ours: show the first page.
  }
  return null;
}

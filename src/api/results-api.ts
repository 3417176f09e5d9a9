/**
 * The results API (docs/contract.md §8): `GET /results` (JSON, newest first, keyset cursor) and
 * `GET /results.csv` (the same filters, streamed). A Hono sub-app the service mounts under
 * /api/v1. A session cookie or `Authorization: Bearer <API token>` is checked before anything is
 * read; without one the answer is 401.
 */
import type { Context } from 'hono';
import { Hono } from 'hono';
import type { Logger } from 'pino';
import type { Auth } from '../auth/sign-in.js';
import type { Clock } from '../clock.js';
import type { User } from '../store/accounts.js';
import { isBusy } from '../store/db.js';
import type { ResultStats } from '../store/result-stats.js';
import type { ResultRow, ResultStore, ResultWithRawRules } from '../store/results.js';
import type { ReviewRow, ReviewStore } from '../store/reviews.js';
import { encodeCursor, parseResultQuery } from '../web/filters.js';
import { bearerToken, sessionCookie } from '../web/request.js';
import { csvLine } from './csv.js';

export interface ResultsApiDeps {
  auth: Auth;
  results: ResultStore;
  stats: ResultStats;
  reviews: ReviewStore;
  clock: Clock;
  log: Logger;
  timeZone: string;
}

export const DEFAULT_LIMIT = 100;
export const MAX_LIMIT = 1000;
/** Results per piece of a JSON page that goes out in pieces (a piece is ~0.5 MB). */
const ROWS_PER_PIECE = 100;
/** Rows per database read while streaming CSV: each read is short, so the export never holds the database. */
const CSV_CHUNK = 500;

type Env = { Variables: { user: User } };

function apiError(c: Context, status: 400 | 401 | 403 | 500, code: string, message: string): Response {
  return c.json({ error: { code, message } }, status);
}

/**
 * A page of results as the API's JSON answer, as bytes, in pieces of `perPiece` results: each
 * result's head (resultHead) encoded here, its stored rules copied in as the bytes they are stored
 * as, each piece encoded straight into one buffer. A 1,000-result page is ~5 MB: as one string it
 * would be decoded, joined, flattened and encoded to UTF-8 again on its way out; in pieces, the
 * first is on its way to the client while the next are made.
 */
export function* resultsPageJson(
  rows: readonly ResultWithRawRules[],
  verdicts: ReadonlyMap<number, ReviewRow[]>,
  next: string | null,
  perPiece = Number.POSITIVE_INFINITY,
): Generator<Uint8Array<ArrayBuffer>> {
  const open = '{"results":[';
  const tail = `],"next_cursor":${JSON.stringify(next)}}`;
  if (rows.length === 0) {
    yield Buffer.from(`${open}${tail}`);
    return;
  }
  for (let from = 0; from < rows.length; from += perPiece) {
    const to = Math.min(rows.length, from + perPiece);
    // Each result's head closes the one before (its rules are the last member).
    const heads: string[] = [];
    let length = 0;
    for (let i = from; i < to; i++) {
      const row = rows[i]!;
      const head = `${i === 0 ? open : '},'}${resultHead(row, verdicts.get(row.id) ?? [])}`;
      heads.push(head);
      length += Buffer.byteLength(head) + row.rulesJson.byteLength;
    }
    const end = to === rows.length ? `}${tail}` : '';
    length += end.length;
    const out = Buffer.allocUnsafe(length);
    let at = 0;
    for (let i = from; i < to; i++) {
      at += out.write(heads[i - from]!, at);
      at += rows[i]!.rulesJson.copy(out, at);
    }
    out.write(end, at);
    yield out;
  }
}

/** Everything of a result but its rules, as the start of its JSON object, up to `"rules":`. */
function resultHead(row: ResultWithRawRules, verdicts: ReviewRow[]): string {
  const head = JSON.stringify({
    conversation_id: row.conversationId,
    destination: row.destination,
    agent_id: row.agentId,
    media_type: row.mediaType,
    start_time: row.startTime,
    end_time: row.endTime,
    evaluated_at: new Date(row.evaluatedAt).toISOString(),
    overall_score: row.overallScore,
    result: row.passed ? 'pass' : 'fail',
    critical_failure: row.criticalFailure,
    rubric: { name: row.rubricName, version: row.rubricVersion, hash: row.rubricHash },
    delivery: {
      state: row.deliveryState,
      target: row.deliveryTarget,
      id: row.deliveryId,
      at: row.deliveredAt === null ? null : new Date(row.deliveredAt).toISOString(),
      note: row.deliveryNote,
    },
    reviews: verdicts.map((v) => ({
      rule: v.rule,
      reviewer: v.reviewer,
      verdict: v.verdict,
      engine_outcome: v.engineOutcome,
      reviewer_outcome: v.reviewerOutcome,
      note: v.note,
      at: new Date(v.createdAt).toISOString(),
    })),
  });
  return `${head.slice(0, -1)},"rules":`;
}

const FIXED_COLUMNS = [
  'conversation_id',
  'destination',
  'agent_id',
  'media_type',
  'start_time',
  'end_time',
  'evaluated_at',
  'overall_score',
  'result',
  'critical_failure',
  'rubric_name',
  'rubric_version',
  'rubric_hash',
  'delivery_state',
  'delivery_target',
  'delivery_id',
  'delivered_at',
  'review_verdicts',
  'review_disagreements',
];

export function createResultsApi(deps: ResultsApiDeps): Hono<Env> {
  const { auth, results, reviews, stats, clock, log, timeZone } = deps;
  const app = new Hono<Env>();

  app.use('*', async (c, next) => {
    const started = clock.now();
    // A bearer token, when sent, is the credential: a wrong one is 401 even with a session cookie.
    const token = bearerToken(c);
    const user =
      token !== undefined || c.req.header('authorization')
        ? auth.tokenUser(token)
        : auth.session(sessionCookie(c))?.user;
    if (!user) {
      c.header('WWW-Authenticate', 'Bearer realm="results"');
      c.header('Cache-Control', 'no-store');
      return apiError(
        c,
        401,
        'unauthorized',
        'a console session or an API token (Authorization: Bearer ...) is required',
      );
    }
    c.set('user', user);
    // Set before the route answers, so they go into its response as it is made: a header set
    // afterwards makes Hono rebuild the response, and the node adapter then streams a 5 MB page
    // through a web stream instead of writing it in one go.
    c.header('Cache-Control', 'no-store');
    c.header('X-Content-Type-Options', 'nosniff');
    await next();
    log.info(
      {
        method: c.req.method,
        path: c.req.path,
        status: c.res.status,
        durationMs: clock.now() - started,
        user: user.name,
      },
      'api request',
    );
  });

  app.onError((err, c) => {
    if (isBusy(err)) {
      c.header('Retry-After', '2');
      return c.json({ error: { code: 'store_busy', message: 'the database is busy; retry shortly' } }, 503);
    }
    log.error({ err, path: c.req.path }, 'results api error');
    return apiError(c, 500, 'internal_error', 'internal error');
  });

  const parse = (c: Context) =>
    parseResultQuery((name) => c.req.query(name), {
      timeZone,
      now: clock.now(),
      defaultLimit: DEFAULT_LIMIT,
      maxLimit: MAX_LIMIT,
    });

  app.get('/results', (c) => {
    const parsed = parse(c);
    if (!parsed.ok) return apiError(c, 400, 'invalid_query', parsed.problems.join('; '));
    const { filter, limit, cursor } = parsed.query;
    const page = results.listRaw(filter, limit, cursor);
    const verdicts = reviews.forResults(page.rows.filter((r) => r.reviewCount > 0).map((r) => r.id));
    const next = page.next ? encodeCursor(page.next) : null;
    const headers = { 'Content-Type': 'application/json; charset=utf-8' };
    // Everything is read before the first byte goes out, so the answer is never cut short by the
    // database; a large page then goes out in pieces as they are encoded.
    const pieces = resultsPageJson(page.rows, verdicts, next, ROWS_PER_PIECE);
    if (page.rows.length <= ROWS_PER_PIECE) {
      const [whole] = pieces;
      return c.body(whole!, 200, headers);
    }
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        const piece = pieces.next();
        if (piece.done) controller.close();
        else controller.enqueue(piece.value);
      },
    });
    return c.body(stream, 200, headers);
  });

  app.get('/results.csv', (c) => {
    const parsed = parse(c);
    if (!parsed.ok) return apiError(c, 400, 'invalid_query', parsed.problems.join('; '));
    const { filter } = parsed.query;
    let cursor = parsed.query.cursor;
    // One column group per rule the results of the period have: BI tools want a wide table.
    const rules = stats.ruleNames({
      fromDay: '0000-01-01',
      toDay: '9999-12-31',
      ...(filter.destination ? { destination: filter.destination } : {}),
    });
    const header = [
      ...FIXED_COLUMNS,
      ...rules.flatMap((r) => [`${r}.outcome`, `${r}.score`, `${r}.evidence`, `${r}.reviewer_outcome`]),
    ];
    const encoder = new TextEncoder();
    let sentHeader = false;
    let rowsSent = 0;
    let done = false;
    const stream = new ReadableStream<Uint8Array>({
      // Pulled as the client reads: at most one chunk of rows is in memory, however many match.
      pull(controller) {
        if (!sentHeader) {
          sentHeader = true;
          controller.enqueue(encoder.encode(csvLine(header)));
          return;
        }
        if (done) {
          controller.close();
          return;
        }
        try {
          const page = results.list(filter, CSV_CHUNK, cursor);
          const verdicts = reviews.forResults(page.rows.filter((r) => r.reviewCount > 0).map((r) => r.id));
          let text = '';
          for (const row of page.rows) text += csvLine(csvRow(row, verdicts.get(row.id) ?? [], rules));
          rowsSent += page.rows.length;
          cursor = page.next;
          done = page.next === null;
          controller.enqueue(encoder.encode(text));
          if (done) {
            log.info({ rows: rowsSent }, 'csv export finished');
          }
        } catch (error) {
          log.error({ err: error }, 'csv export failed');
          controller.error(error);
        }
      },
    });
    return c.body(stream, 200, {
      'Content-Type': 'text/csv; charset=utf-8',
      'Content-Disposition': 'attachment; filename="results.csv"',
    });
  });

  return app;
}

function csvRow(row: ResultRow, verdicts: ReviewRow[], rules: string[]): (string | number | null)[] {
  const byRule = new Map(row.rules.map((r) => [r.name, r]));
  const reviewerOutcomes = new Map<string, string[]>();
  for (const v of verdicts)
    reviewerOutcomes.set(v.rule, [...(reviewerOutcomes.get(v.rule) ?? []), v.reviewerOutcome]);
  return [
    row.conversationId,
    row.destination,
    row.agentId,
    row.mediaType,
    row.startTime,
    row.endTime,
    new Date(row.evaluatedAt).toISOString(),
    row.overallScore,
    row.passed ? 'pass' : 'fail',
    row.criticalFailure,
    row.rubricName,
    row.rubricVersion,
    row.rubricHash,
    row.deliveryState,
    row.deliveryTarget,
    row.deliveryId,
    row.deliveredAt === null ? null : new Date(row.deliveredAt).toISOString(),
    verdicts.length,
    verdicts.filter((v) => v.reviewerOutcome !== v.engineOutcome).length,
    ...rules.flatMap((name) => {
      const r = byRule.get(name);
      return r
        ? [r.outcome, r.score, r.evidence, (reviewerOutcomes.get(name) ?? []).join('|')]
        : [null, null, null, null];
    }),
  ];
}

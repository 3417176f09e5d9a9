import { createHash, timingSafeEqual } from 'node:crypto';
import type { Hono } from 'hono';
import type { Logger } from 'pino';
import type { Clock } from '../clock.js';
import { createResponder } from './respond.js';

/** What GET /metrics serves: the text exposition of a registry (src/ops/metrics.ts makes one). */
export interface MetricsSource {
  readonly contentType: string;
  render(): Promise<string>;
}

export interface MetricsRouteOptions {
  metrics: MetricsSource;
  /** Bearer tokens accepted (METRICS_TOKEN, space-separated for rotation); empty = no token asked. */
  tokens: string[];
  clock: Clock;
  log: Logger;
}

const digest = (text: string) => createHash('sha256').update(text, 'utf8').digest();

/**
 * GET /metrics in Prometheus' text format. With tokens, a request must carry `Authorization: Bearer
 * <one of them>`: compared as SHA-256 digests with timingSafeEqual, so neither the comparison's time
 * nor a length check tells a guesser how much of a token was right.
 */
export function addMetricsRoute(app: Hono, options: MetricsRouteOptions): void {
  const { metrics, clock, log } = options;
  const expected = options.tokens.map(digest);
  const r = createResponder(clock, log);

  const authorized = (header: string | undefined): boolean => {
    if (expected.length === 0) return true;
    const match = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header ?? '');
    if (!match) return false;
    const given = digest(match[1]!);
    // Every token is compared, so the time taken does not say which one (if any) was close.
    let ok = false;
    for (const token of expected) ok = timingSafeEqual(given, token) || ok;
    return ok;
  };

  app.get('/metrics', async (c) => {
    const state = r.begin();
    if (!authorized(c.req.header('authorization'))) {
      return r.fail(c, state, 'invalid_token', 'GET /metrics needs Authorization: Bearer <METRICS_TOKEN>', {
        'www-authenticate': 'Bearer realm="metrics"',
      });
    }
    const body = await metrics.render();
    // Scrapes are frequent and say nothing an operator needs line by line: logged at debug only.
    log.debug({ reqId: state.reqId, path: '/metrics', status: 200 }, 'request finished');
    return c.body(body, 200, { 'content-type': metrics.contentType });
  });
}

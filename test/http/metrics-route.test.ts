import { Hono } from 'hono';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { addMetricsRoute } from '../../src/http/metrics-route.js';
import { createMetrics } from '../../src/ops/metrics.js';

function app(tokens: string[]) {
  const clock = new ManualClock();
  const metrics = createMetrics({ clock, defaultMetrics: false });
  metrics.webhookAnswered('accepted');
  const hono = new Hono();
  addMetricsRoute(hono, { metrics, tokens, clock, log: pino({ level: 'silent' }) });
  return (authorization?: string) =>
    hono.request('/metrics', authorization ? { headers: { authorization } } : {});
}

describe('GET /metrics', () => {
  it('without METRICS_TOKEN: the text exposition, in its content type', async () => {
    const res = await app([])();
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(await res.text()).toContain('qm_webhooks_total{outcome="accepted"} 1');
  });

  it('with METRICS_TOKEN: 401 without the bearer token or with a wrong one, 200 with any of the tokens (rotation)', async () => {
    const get = app(['s3cret-metrics-token', 'next-token-during-rotation']);
    for (const auth of [
      undefined,
      'Bearer wrong',
      'Bearer s3cret-metrics-tokenX',
      'Basic czNjcmV0',
      'Bearer ',
    ]) {
      const res = await get(auth);
      expect(res.status, String(auth)).toBe(401);
      expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/);
      const body = await res.text();
      expect(body).toContain('"invalid_token"');
      expect(body).not.toContain('qm_webhooks_total');
    }
    for (const auth of ['Bearer s3cret-metrics-token', 'bearer next-token-during-rotation']) {
      const res = await get(auth);
      expect(res.status, auth).toBe(200);
      expect(await res.text()).toContain('qm_webhooks_total');
    }
  });
});

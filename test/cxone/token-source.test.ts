import { expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import {
  clampTokenLifetimeMs,
  createCachedTokenSource,
  DEFAULT_TOKEN_LIFETIME_MS,
  MAX_TOKEN_LIFETIME_MS,
  MIN_TOKEN_LIFETIME_MS,
  refreshTimeOf,
} from '../../src/cxone/token-source.js';
import type { CxoneResult } from '../../src/cxone/types.js';

// Caching, refresh timing and single flight through a real client are in tutorial-client.test.ts.

it('refreshes at the earlier of a minute before expiry and 90% of the lifetime', () => {
  expect(refreshTimeOf(0, 3_600_000)).toBe(3_240_000);
  expect(refreshTimeOf(0, 300_000)).toBe(240_000);
  expect(refreshTimeOf(0, 30_000)).toBe(0);
});

it('the cached source keeps a still-valid token when an early refresh fails with a retryable error', async () => {
  const clock = new ManualClock(1_000_000);
  const answers: CxoneResult<{ value: string; lifetimeMs: number }>[] = [
    { ok: true, value: { value: 'first', lifetimeMs: 600_000 } },
    { ok: false, error: { kind: 'server', call: 'token', retryable: true, message: 'token: HTTP 503' } },
    {
      ok: false,
      error: { kind: 'unauthorized', call: 'token', retryable: false, message: 'token: refused' },
    },
  ];
  let grants = 0;
  const source = createCachedTokenSource({ clock, grant: async () => answers[grants++]! });
  expect(await source.current()).toMatchObject({ ok: true, value: { value: 'first' } });
  await clock.advance(550_000); // past the refresh time (540 s), before expiry (600 s)
  expect(await source.current()).toMatchObject({ ok: true, value: { value: 'first' } });
  // A refusal is not papered over, even with the old token still valid.
  expect(await source.current()).toMatchObject({ ok: false, error: { kind: 'unauthorized' } });
  expect(grants).toBe(3);
});

it('clamps the lifetime an issuer states to sane bounds, and caches by the clamped one', async () => {
  expect(clampTokenLifetimeMs(0)).toBe(MIN_TOKEN_LIFETIME_MS);
  expect(clampTokenLifetimeMs(-5_000)).toBe(MIN_TOKEN_LIFETIME_MS);
  expect(clampTokenLifetimeMs(Number.NaN)).toBe(DEFAULT_TOKEN_LIFETIME_MS);
  expect(clampTokenLifetimeMs(Number.POSITIVE_INFINITY)).toBe(MAX_TOKEN_LIFETIME_MS);
  expect(clampTokenLifetimeMs(1e300)).toBe(MAX_TOKEN_LIFETIME_MS);
  expect(clampTokenLifetimeMs(3_600_000)).toBe(3_600_000);

  for (const [stated, refreshAfter] of [
    [0, 60_000], // clamped to 2 min: refreshed after one
    [Number.NaN, 0.9 * 15 * 60_000], // unknown: 15 min, refreshed at 90 %
    [1e300, 0.9 * 24 * 3_600_000], // a day at most
  ] as const) {
    const clock = new ManualClock(1_000_000);
    let grants = 0;
    const source = createCachedTokenSource({
      clock,
      grant: async () => ({ ok: true, value: { value: `t${++grants}`, lifetimeMs: stated } }),
    });
    await source.current();
    await clock.advance(refreshAfter - 1);
    await source.current();
    expect(grants, `stated ${stated}`).toBe(1);
    await clock.advance(1);
    await source.current();
    expect(grants, `stated ${stated}`).toBe(2);
  }
});

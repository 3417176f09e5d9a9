import { createHmac, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { parseWebhookSecrets, signWebhook, verifyWebhookSignature } from '../../src/http/signature.js';

// The worked example of the Standard Webhooks specification (also Svix's documentation).
const SPEC = {
  secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
  webhookId: 'msg_p5jXN8AQM9LWM0D4loKWxJek',
  timestamp: 1614265330,
  body: '{"test": 2432232314}',
  signature: 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=',
};

function keysOf(raw: string): Buffer[] {
  const parsed = parseWebhookSecrets(raw);
  if (!parsed.ok) throw new Error(parsed.message);
  return parsed.keys;
}

function verify(overrides: Partial<Parameters<typeof verifyWebhookSignature>[0]> = {}) {
  return verifyWebhookSignature({
    keys: keysOf(SPEC.secret),
    webhookId: SPEC.webhookId,
    timestamp: String(SPEC.timestamp),
    signatureHeader: SPEC.signature,
    rawBody: Buffer.from(SPEC.body),
    nowSeconds: SPEC.timestamp,
    ...overrides,
  });
}

describe('parseWebhookSecrets', () => {
  it('accepts a secret with or without the whsec_ prefix, to the same key', () => {
    const withPrefix = keysOf('whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw');
    const without = keysOf('MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw');
    expect(withPrefix).toHaveLength(1);
    expect(withPrefix[0]!.equals(without[0]!)).toBe(true);
    expect(withPrefix[0]!.equals(Buffer.from('MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', 'base64'))).toBe(true);
  });

  const A24 = 'A'.repeat(32); // 24 bytes
  const B24 = 'B'.repeat(32);
  const C24 = 'C'.repeat(32);

  it('splits several secrets on whitespace, for rotation', () => {
    expect(keysOf(`  whsec_${A24}  ${B24}\t${C24} `)).toHaveLength(3);
  });

  // Standard Webhooks: "random, at least 24 bytes (192 bits, 512 maximum)".
  it('accepts secrets of 24 and of 64 bytes', () => {
    expect(keysOf(`whsec_${randomBytes(24).toString('base64')}`)[0]).toHaveLength(24);
    expect(keysOf(`whsec_${randomBytes(64).toString('base64')}`)[0]).toHaveLength(64);
  });

  it.each([
    ['', 'no secret given'],
    ['   ', 'no secret given'],
    ['whsec_', 'empty'],
    ['not*base64!', 'not valid base64'],
    [`whsec_${A24} whsec_AB$C`, 'secret #2 is not valid base64'],
    ['ABCDE', 'not valid base64'],
    // A 1-byte secret used to be accepted: anyone could forge a signature after 256 guesses.
    ['whsec_AQ==', 'secret is 1 byte after base64 decoding; Standard Webhooks secrets are 24 to 64 bytes'],
    [`whsec_${randomBytes(23).toString('base64')}`, 'secret is 23 bytes'],
    [`whsec_${randomBytes(65).toString('base64')}`, 'secret is 65 bytes'],
    [`${A24} whsec_AAAA`, 'secret #2 is 3 bytes'],
  ])('refuses %j with a message that does not echo the secret', (raw, message) => {
    const parsed = parseWebhookSecrets(raw);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) {
      expect(parsed.message).toContain(message);
      const material = raw.split(/\s+/).map((part) => part.replace(/^whsec_/, ''));
      for (const secret of material.filter((m) => m.length > 0)) expect(parsed.message).not.toContain(secret);
    }
  });
});

describe('signWebhook', () => {
  it('matches the Standard Webhooks worked example', () => {
    expect(signWebhook(SPEC)).toBe(SPEC.signature);
    expect(signWebhook({ ...SPEC, secret: keysOf(SPEC.secret)[0]! })).toBe(SPEC.signature);
  });
});

describe('verifyWebhookSignature', () => {
  it('accepts the worked example', () => {
    expect(verify()).toEqual({ ok: true });
  });

  it.each(['webhookId', 'timestamp', 'signatureHeader'] as const)('refuses a missing %s', (field) => {
    expect(verify({ [field]: undefined })).toEqual({ ok: false, reason: 'missing_headers' });
    expect(verify({ [field]: '' })).toEqual({ ok: false, reason: 'missing_headers' });
  });

  it.each(['abc', '1614265330.5', '-1614265330', '1e9', ' 1614265330'])('refuses timestamp %j', (ts) => {
    expect(verify({ timestamp: ts })).toEqual({ ok: false, reason: 'bad_timestamp' });
  });

  it('accepts exactly 300 s either way and refuses 301 s', () => {
    expect(verify({ nowSeconds: SPEC.timestamp + 300 })).toEqual({ ok: true });
    expect(verify({ nowSeconds: SPEC.timestamp - 300 })).toEqual({ ok: true });
    expect(verify({ nowSeconds: SPEC.timestamp + 301 })).toEqual({ ok: false, reason: 'stale' });
    expect(verify({ nowSeconds: SPEC.timestamp - 301 })).toEqual({ ok: false, reason: 'future' });
  });

  it('honours a custom tolerance', () => {
    expect(verify({ nowSeconds: SPEC.timestamp + 11, toleranceSeconds: 10 })).toEqual({
      ok: false,
      reason: 'stale',
    });
  });

  it('refuses a body changed by one byte, another id, another timestamp', () => {
    const tampered = Buffer.from(SPEC.body);
    tampered[tampered.length - 2] = tampered[tampered.length - 2]! ^ 1;
    expect(verify({ rawBody: tampered })).toEqual({ ok: false, reason: 'no_match' });
    expect(verify({ webhookId: 'msg_other' })).toEqual({ ok: false, reason: 'no_match' });
    expect(verify({ timestamp: String(SPEC.timestamp + 1) })).toEqual({ ok: false, reason: 'no_match' });
  });

  it('refuses a signature made with another secret', () => {
    expect(verify({ keys: keysOf('whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA') })).toEqual({
      ok: false,
      reason: 'no_match',
    });
  });

  it('accepts when any of several signatures matches', () => {
    const wrong = `v1,${Buffer.alloc(32, 7).toString('base64')}`;
    expect(verify({ signatureHeader: `${wrong} ${SPEC.signature}` })).toEqual({ ok: true });
    expect(verify({ signatureHeader: `v1a,xyz ${SPEC.signature} ${wrong}` })).toEqual({ ok: true });
  });

  it('ignores versions other than v1', () => {
    const body = SPEC.signature.slice(3);
    expect(verify({ signatureHeader: `v2,${body}` })).toEqual({ ok: false, reason: 'no_match' });
    expect(verify({ signatureHeader: `v1a,${body}` })).toEqual({ ok: false, reason: 'no_match' });
  });

  it('refuses truncated, empty and wrong-length signatures without throwing', () => {
    for (const header of ['v1,', 'v1,AAAA', `${SPEC.signature.slice(0, -4)}`, 'v1', 'garbage']) {
      expect(verify({ signatureHeader: header })).toEqual({ ok: false, reason: 'no_match' });
    }
  });

  it('accepts any key matching any signature (rotation)', () => {
    const keys = keysOf(`whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA ${SPEC.secret}`);
    expect(verify({ keys })).toEqual({ ok: true });
    expect(verify({ keys: [...keys].reverse() })).toEqual({ ok: true });
  });

  it('signs the exact bytes, not a re-serialisation', () => {
    const body = Buffer.from('{ "a" :\n "\\u00e9" }', 'utf8');
    const key = keysOf(SPEC.secret)[0]!;
    const expected = createHmac('sha256', key)
      .update(Buffer.concat([Buffer.from('id.1.'), body]))
      .digest('base64');
    const header = signWebhook({ secret: key, webhookId: 'id', timestamp: 1, body });
    expect(header).toBe(`v1,${expected}`);
    const common = { keys: [key], webhookId: 'id', timestamp: '1', signatureHeader: header, nowSeconds: 1 };
    expect(verifyWebhookSignature({ ...common, rawBody: body })).toEqual({ ok: true });
    const reserialised = Buffer.from(JSON.stringify(JSON.parse(body.toString('utf8'))));
    expect(verifyWebhookSignature({ ...common, rawBody: reserialised })).toEqual({
      ok: false,
      reason: 'no_match',
    });
  });
});

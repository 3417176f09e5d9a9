import { describe, expect, it } from 'vitest';
import { parseStudioBody, parseStudioTokens, verifyStudioBearer } from '../../src/http/studio.js';

const A = 'a'.repeat(32);
const B = `${'b'.repeat(40)}-rotated`;

describe('STUDIO_WEBHOOK_TOKEN', () => {
  it('takes several tokens for rotation and refuses short or odd ones', () => {
    expect(parseStudioTokens(`${A} ${B}`)).toMatchObject({ ok: true });
    expect(parseStudioTokens('short')).toEqual({
      ok: false,
      message: 'the token must be at least 32 characters',
    });
    expect(parseStudioTokens(`${A} ${'é'.repeat(40)}`)).toEqual({
      ok: false,
      message: 'token 2 must be visible ASCII',
    });
    expect(parseStudioTokens('  ')).toMatchObject({ ok: false });
  });

  it('accepts a bearer carrying any configured token, and nothing else', () => {
    const parsed = parseStudioTokens(`${A} ${B}`);
    if (!parsed.ok) throw new Error('tokens');
    expect(verifyStudioBearer(`Bearer ${A}`, parsed.tokens)).toBe(true);
    expect(verifyStudioBearer(`bearer ${B}`, parsed.tokens)).toBe(true);
    for (const bad of [
      undefined,
      '',
      A,
      `Bearer ${A}x`,
      `Bearer ${A.slice(1)}`,
      `Basic ${A}`,
      'Bearer ',
      `Bearer ${A} ${B}`,
    ])
      expect(verifyStudioBearer(bad, parsed.tokens), String(bad)).toBe(false);
  });
});

describe('Studio body', () => {
  it('reads ids as numbers or digit strings; other fields are ignored', () => {
    expect(parseStudioBody({ contactId: 123456, agentId: 789, mediaType: 'Call', skill: 'x' })).toEqual({
      ok: true,
      call: { contactId: '123456', agentId: '789', mediaType: 'Call' },
    });
    expect(parseStudioBody({ contactId: '9007199254740993', agentId: '0' })).toEqual({
      ok: true,
      call: { contactId: '9007199254740993', agentId: null, mediaType: null },
    });
  });
  it('names the field that is wrong', () => {
    expect(parseStudioBody([])).toMatchObject({ ok: false, reason: expect.stringMatching(/^body/) });
    for (const contactId of [undefined, '..', 'abc', -1, 1.5, '12 34', '\ud800'])
      expect(parseStudioBody({ contactId })).toMatchObject({
        ok: false,
        reason: expect.stringMatching(/^contactId/),
      });
    expect(parseStudioBody({ contactId: 1, agentId: 'x' })).toMatchObject({
      reason: expect.stringMatching(/^agentId/),
    });
    expect(parseStudioBody({ contactId: 1, mediaType: 5 })).toMatchObject({
      reason: expect.stringMatching(/^mediaType/),
    });
  });
});

import { describe, expect, it } from 'vitest';
import {
  parseAgentId,
  parseContactId,
  pathSegment,
  pathSegmentProblem,
} from '../../../src/cxone/platform/ids.js';
import { parseJsonKeepingBigIntegers, quoteUnsafeIntegers } from '../../../src/cxone/platform/json.js';
import { describeErrorBody } from '../../../src/cxone/platform/schemas.js';

describe('parseJsonKeepingBigIntegers', () => {
  it('keeps int64 ids past 2^53 exact, as digit strings', () => {
    const parsed = parseJsonKeepingBigIntegers(
      '{"contactId": 9007199254740993, "agentId": 42, "neg": -9223372036854775807, "small": 9007199254740991}',
    ) as Record<string, unknown>;
    expect(parsed.contactId).toBe('9007199254740993');
    expect(parsed.agentId).toBe(42);
    expect(parsed.neg).toBe('-9223372036854775807');
    expect(parsed.small).toBe(9007199254740991);
  });

  it('leaves strings, fractions and exponents alone', () => {
    const text =
      '{"t":"id 90071992547409931234 \\" 12345678901234567890","f":12345678901234567890.5,"e":1234567890123456789e2}';
    expect(quoteUnsafeIntegers(text)).toBe(text);
    const parsed = parseJsonKeepingBigIntegers(text) as Record<string, unknown>;
    expect(parsed.t).toBe('id 90071992547409931234 " 12345678901234567890');
  });

  it('handles arrays and nesting, and throws on what is not JSON', () => {
    expect(parseJsonKeepingBigIntegers('[18446744073709551615,{"a":[1,99999999999999999]}]')).toEqual([
      '18446744073709551615',
      { a: [1, '99999999999999999'] },
    ]);
    expect(() => parseJsonKeepingBigIntegers('<html>')).toThrow();
  });
});

describe('contact and agent ids', () => {
  it('accepts positive int64 as numbers or digit strings, canonical', () => {
    expect(parseContactId(123456)).toBe('123456');
    expect(parseContactId('000123')).toBe('123');
    expect(parseContactId(' 9223372036854775807 ')).toBe('9223372036854775807');
  });

  it('refuses everything else', () => {
    for (const bad of [
      0,
      -1,
      1.5,
      Number.NaN,
      2 ** 60,
      '9223372036854775808',
      '',
      '12a',
      '..',
      '-5',
      null,
      {},
      '1e5',
    ])
      expect(parseContactId(bad), String(bad)).toBeNull();
  });

  it('reads agent 0 as no agent', () => {
    expect(parseAgentId(0)).toBeNull();
    expect(parseAgentId('0')).toBeNull();
    expect(parseAgentId(undefined)).toBeNull();
    expect(parseAgentId(789)).toBe('789');
  });

  it('path segments are encoded, and dot segments, slashes and broken Unicode are refused', () => {
    expect(pathSegment('a b?c#d')).toBe('a%20b%3Fc%23d');
    expect(pathSegment('3f2a..b')).toBe('3f2a..b');
    for (const bad of ['', '.', '..', '...', 'a/b', 'a\\b', 'poison\ud800-x', 'a\u0000b', 'x'.repeat(201)]) {
      expect(pathSegmentProblem(bad), JSON.stringify(bad)).not.toBeNull();
      expect(() => pathSegment(bad)).toThrow();
    }
    expect(pathSegmentProblem('emoji-\ud83d\ude00')).toBeNull();
  });
});

describe('describeErrorBody: each family its own body', () => {
  it('reads auth/Reporting {error, error_description}', () => {
    expect(
      describeErrorBody('auth', '{"error":"invalid_grant","error_description":"Invalid access key"}'),
    ).toBe('invalid_grant: Invalid access key');
  });
  it('reads IA {statusCode, timestamp, message} and its 404 {error, path, status}', () => {
    expect(
      describeErrorBody(
        'interactionAnalytics',
        '{"statusCode":429,"timestamp":"2026-01-01T00:00:00Z","message":"Slow down"}',
      ),
    ).toBe('Slow down');
    expect(describeErrorBody('interactionAnalytics', '{"error":"Not Found","path":"/x","status":404}')).toBe(
      'Not Found',
    );
  });
  it('reads Media Playback {internalCode, message} and its 429 {message, route}', () => {
    expect(
      describeErrorBody(
        'mediaPlayback',
        '{"message":"Too Many Requests","route":"/media-playback/v1/contacts"}',
      ),
    ).toBe('Too Many Requests: route /media-playback/v1/contacts');
  });
  it('names the Business Data field that was refused', () => {
    const body = JSON.stringify({
      code: '400',
      details: 'Validation failed',
      errors: {
        businessDataName: { errorCode: 'UNKNOWN_FIELD', message: "Business data 'QA_Scor' is not defined" },
      },
    });
    expect(describeErrorBody('businessData', body)).toBe(
      "400: Validation failed: businessDataName: UNKNOWN_FIELD Business data 'QA_Scor' is not defined",
    );
  });
  it('falls back to the common fields, then to the text, cut short', () => {
    expect(describeErrorBody('businessData', '{"message":"gateway timeout"}')).toBe('gateway timeout');
    expect(describeErrorBody('reporting', `<html>${'x'.repeat(1000)}</html>`)).toHaveLength(300);
  });
});

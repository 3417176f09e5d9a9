import { describe, expect, it } from 'vitest';
import { parseJsonKeepingBigIntegers, quoteUnsafeIntegers } from '../../../src/cxone/platform/json.js';

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

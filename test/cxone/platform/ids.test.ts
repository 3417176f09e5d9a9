import { describe, expect, it } from 'vitest';
import {
  parseAgentId,
  parseContactId,
  pathSegment,
  pathSegmentProblem,
} from '../../../src/cxone/platform/ids.js';

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

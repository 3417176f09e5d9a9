import { describe, expect, it } from 'vitest';
import { idProblem, MAX_ID_CHARS, pathSegmentProblem, printable, textProblem } from '../../src/domain/ids.js';

describe('idProblem', () => {
  it.each([
    ['conv-12345'],
    ['3f2b9a4e-5c1d-4e8f-9a7b-1c2d3e4f5a6b'],
    ['9223372036854775807'],
    ['a.b'],
    ['..a'],
    ['x y'],
    ['Kundengespräch-ß'],
    ['emoji-😀'], // a surrogate pair is well-formed
    ['%2e%2e'], // not a dot segment once encoded: %252e%252e
    ['i'.repeat(MAX_ID_CHARS)],
  ])('accepts %j', (id) => {
    expect(idProblem(id)).toBeNull();
  });

  it.each([
    ['', /empty/],
    ['poison\ud800-x', /well-formed Unicode/],
    ['trailing-high\udbff', /well-formed Unicode/],
    ['\udc00leading-low', /well-formed Unicode/],
    ['.', /dot segment/],
    ['..', /dot segment/],
    ['...', /dot segment/],
    ['a/b', /slash/],
    ['a\\b', /slash/],
    ['nul\u0000', /control/],
    ['new\nline', /control/],
    ['del\u007f', /control/],
    ['c1\u0085', /control/],
    ['line\u2028sep', /control/],
    ['rtl\u202eoverride', /invisible/],
    ['zero\u200bwidth', /invisible/],
    ['\ufeffbom', /invisible/],
    ['non\uffffchar', /invisible/],
    [' padded', /whitespace/],
    ['padded\u00a0', /whitespace/],
    ['i'.repeat(MAX_ID_CHARS + 1), /at most 200/],
  ])('refuses %j', (id, why) => {
    expect(idProblem(id)).toMatch(why);
  });
});

it('pathSegmentProblem refuses only what cannot be one URL path segment', () => {
  expect(pathSegmentProblem('a'.repeat(5_000))).toBeNull();
  expect(pathSegmentProblem(' spaced ')).toBeNull();
  for (const bad of ['', '.', '..', 'a/b', 'a\\b', '\ud800', 'a\tb'])
    expect(pathSegmentProblem(bad)).not.toBeNull();
});

it('textProblem bounds stored text and refuses what does not read back', () => {
  expect(textProblem('2024-05-10T14:35:22Z', 100)).toBeNull();
  expect(textProblem('', 100)).toBeNull();
  expect(textProblem('x'.repeat(101), 100)).toMatch(/at most 100/);
  expect(textProblem('voice\ud800', 100)).toMatch(/well-formed/);
  expect(textProblem('voice\r\n', 100)).toMatch(/control/);
});

it('printable escapes everything outside printable ASCII and cuts long values', () => {
  expect(printable('poison\ud800-x')).toBe('"poison\\ud800-x"');
  expect(printable('a"b\\c\n')).toBe('"a\\"b\\\\c\\u000a"');
  expect(printable('x'.repeat(100), 10)).toBe(`"${'x'.repeat(10)}"…`);
  // The output is plain ASCII: safe in any log line or terminal.
  expect(printable('\u202e\u0000é😀')).toMatch(/^[\x20-\x7e]*$/);
});

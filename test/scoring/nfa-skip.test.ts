import { expect, it } from 'vitest';
import { compilePattern } from '../../src/scoring/regex/index.js';

/**
 * The NFA jumps to the next character a match can start with when no attempt is alive. That must
 * never change an answer: compared here with JavaScript's own engine on ASCII text, where its \b, \w,
 * \d and case folding mean what Python's do.
 */

const PATTERNS: [string, boolean][] = [
  ['\\b(Mr|Mrs|Ms|Miss|Dr)\\.? \\w+', false],
  ['\\b(mr|dr)\\.? \\w+', true],
  ['a+b', false],
  ['hel+o', true],
  ['\\d+ dollars', false],
  ['[a-c]+d', true],
  ['(x|yz)+!', false],
  ['\\bz\\w*', true],
];

const ALPHABET = [
  'a',
  'b',
  'c',
  'd',
  'x',
  'y',
  'z',
  'Z',
  'M',
  'm',
  'r',
  's',
  'D',
  'h',
  'e',
  'l',
  'L',
  'o',
  '!',
  '.',
  ' ',
  ' ',
  '1',
  '7',
  'dollars',
  'Mr. Smith',
  'Dr Who',
  '\n',
];

it.each(PATTERNS)('%s finds exactly what a backtracking engine finds', (pattern, ignoreCase) => {
  const matcher = compilePattern(pattern, ignoreCase);
  expect(matcher.engine).toBe('nfa');
  const reference = new RegExp(pattern, ignoreCase ? 'gi' : 'g');
  let seed = pattern.length * 31 + 7;
  const random = () => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed / 2 ** 31;
  };
  for (let i = 0; i < 400; i++) {
    let text = '';
    const pieces = 1 + Math.floor(random() * 60);
    for (let k = 0; k < pieces; k++) text += ALPHABET[Math.floor(random() * ALPHABET.length)]!;
    const from = Math.floor(random() * 4);
    reference.lastIndex = from;
    const m = reference.exec(text);
    const expected = m ? { start: m.index, end: m.index + m[0].length } : null;
    expect(matcher.find(text, from), `${pattern} in ${JSON.stringify(text)} from ${from}`).toEqual(expected);
  }
});

import { describe, expect, it } from 'vitest';
import { compilePattern, PatternError } from '../../src/scoring/regex/index.js';

const find = (pattern: string, text: string, ignoreCase = true) => {
  const m = compilePattern(pattern, ignoreCase).find(text, 0);
  return m ? text.slice(m.start, m.end) : null;
};

describe('Python dialect', () => {
  // Expected values are what Python 3.11's re.search(pattern, text, re.I).group(0) returns.
  it.each([
    ['\\b(hi|hello|welcome)\\b', 'oh hello there', 'hello'],
    ['\\b(hi|hello|welcome)\\b', 'chiming hellos', null],
    ['\\bcaf\\b', 'un café noir', null],
    ['café', 'UN CAFÉ', 'CAFÉ'],
    ['\\w+', 'über', 'über'],
    ['a+b', 'xxaaab', 'aaab'],
    ['colou?r', 'Colour', 'Colour'],
    ['\\d{3}-\\d{4}', 'call 555-1234 now', '555-1234'],
    ['(?i)HELLO', 'hello', 'hello'],
    ['(?P<x>ab)c', 'zabc', 'abc'],
    ['x$', 'ax\n', 'x'],
    ['^a', 'ba', null],
    ['[^a-z ]+', 'abc DEF', null],
    ['(a|b)*c', 'ababac', 'ababac'],
    ['\\bstraße\\b', 'die Straße hier', 'Straße'],
    ['[\\w.]+@\\w+', 'mail jo.e@x now', 'jo.e@x'],
    ['a{2,3}', 'caaaat', 'aaa'],
    ['recorded.*quality', 'this is recorded for quality', 'recorded for quality'],
    ['\\s+$', 'end   ', '   '],
    ['\\bnão\\b', 'eu não sei', 'não'],
    ['x{,2}y', 'xxxy', 'xxy'],
    ['a{', 'a{', 'a{'],
    ['(?x) hel  lo # comment', 'HELLO', 'HELLO'],
    ['(?-i:A)b', 'aB', null],
    ['(?-i:A)b', 'AB', 'AB'],
  ])('/%s/ on %j finds %j', (pattern, text, expected) => {
    expect(find(pattern, text)).toBe(expected);
  });

  it('is case-sensitive when asked', () => {
    expect(find('Hello', 'hello', false)).toBeNull();
    expect(find('Hello', 'Hello', false)).toBe('Hello');
  });

  it.each([
    ['(a)\\1', 'backreferences'],
    ['(?P<n>a)(?P=n)', 'backreferences'],
    ['a(?=b)', 'lookahead'],
    ['(?<!a)b', 'lookahead and lookbehind'],
    ['(?>a+)', 'atomic'],
    ['a++', 'possessive'],
    ['(a', 'missing )'],
    ['a)', 'unbalanced'],
    ['[a', 'unterminated'],
    ['*a', 'nothing to repeat'],
    ['a**', 'multiple repeat'],
    ['\\q', 'bad escape'],
    ['a(?i)b', 'global flags'],
    ['a{5,2}', 'min repeat greater'],
  ])('refuses /%s/ (%s)', (pattern, reason) => {
    expect(() => compilePattern(pattern, true)).toThrow(PatternError);
    expect(() => compilePattern(pattern, true)).toThrow(reason);
  });
});

describe('linear time on pathological patterns', () => {
  const MB = 'a'.repeat(1_000_000);
  // Each of these takes exponential (or high polynomial) time in a backtracking engine on this input;
  // without the protection the test would not finish. The timeout is a hang detector, not a target.
  it.each([
    ['(a+)+$', `${MB}!`, false],
    ['(a|a)*b', MB, false],
    ['(a|aa)+$', `${MB}!`, false],
    ['(.*a){20}', MB, true],
    ['(.*a){20}x', MB, false],
    ['\\s+$', `${' '.repeat(1_000_000)}x`, false],
    ['(\\w+\\s?)+$', `${'word '.repeat(200_000)}!`, false],
  ])('/%s/ over 1 MB', { timeout: 60_000 }, (pattern, text, matches) => {
    const m = compilePattern(pattern, true);
    expect(m.engine).toBe('nfa');
    expect(m.find(text, 0) !== null).toBe(matches);
  });

  it('runs patterns with bounded backtracking on the native engine', () => {
    expect(compilePattern('\\b(hi|hello|good morning)\\b', true).engine).toBe('native');
    expect(compilePattern('\\d{3}-\\d{4}', true).engine).toBe('native');
    // Many ways to match: over the budget, so the automaton.
    expect(compilePattern('(a|a)(a|a)(a|a)(a|a)(a|a)(a|a)(a|a)(a|a)(a|a)(a|a)(a|a)(a|a)', true).engine).toBe(
      'nfa',
    );
  });

  it('refuses counted repetition that would make the automaton huge', () => {
    expect(() => compilePattern('((a{1000}){1000}){1000}', true)).toThrow(PatternError);
  });
});

describe('the automaton skipping to where a match can start', () => {
  // When no attempt is alive the NFA jumps to the next character a match can start with. That must
  // never change an answer: compared here with JavaScript's own engine on ASCII text, where its \b,
  // \w, \d and case folding mean what Python's do.
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
      expect(matcher.find(text, from), `${pattern} in ${JSON.stringify(text)} from ${from}`).toEqual(
        expected,
      );
    }
  });
});

describe('escapes Python reads', () => {
  it('reads \\101 as the octal escape for "A", as Python does', () => {
    expect(compilePattern('\\101', true).find('xAy', 0)).toEqual({ start: 1, end: 2 });
  });

  // Known gap, documented in docs/rubrics.md section 4: named characters need Unicode's name table,
  // which is not available here; rubric authors write the character itself.
  it.fails('known gap: \\N{EM DASH} is refused although Python accepts it', () => {
    expect(() => compilePattern('\\N{EM DASH}', true)).not.toThrow();
  });
});

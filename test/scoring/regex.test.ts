import { describe, expect, it } from 'vitest';
import { parsePattern } from '../../src/scoring/regex/ast.js';
import { candidatesOf, setTest } from '../../src/scoring/regex/chars.js';
import { automatonStates, backtrackWork } from '../../src/scoring/regex/cost.js';
import {
  BACKTRACK_BUDGET,
  compilePattern,
  MAX_AUTOMATON_STATES,
  PatternError,
} from '../../src/scoring/regex/index.js';
import { NfaMatcher } from '../../src/scoring/regex/nfa.js';

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

// Issue 10 item 4: the cost model behind the refusals (test/scoring/rubric.test.ts has the messages).
describe('the cost of a pattern, computed from its parse', () => {
  it('multiplies counted repetitions out arithmetically, without building anything', () => {
    // 10^9 copies: refused at once (building it would take the process down).
    expect(() => compilePattern('((a{1000}){1000}){1000}', true)).toThrow(
      /1,000,000,001 places .* could take days/,
    );
    expect(() => compilePattern('(?:(?:x?){1000}){1000}', true)).toThrow(PatternError);
  });

  it.each([
    'a',
    '(.*a){20}',
    '(a|bc|)+x?',
    'x{3,7}y{,2}z{2}',
    '(?:a|b){2,5}?c*?',
    '\\bword\\b(?:\\s+\\w+){0,3}',
    '(?i:ab)(?-i:c)+',
    '()',
    '(?:)|a',
  ])('predicts the automaton the engine builds for /%s/ exactly', (pattern) => {
    const parsed = parsePattern(pattern, true);
    expect(automatonStates(parsed.node)).toBe(new NfaMatcher(parsed.node, parsed.flags).states);
  });

  it('runs patterns with little to try per position on V8, everything else on the bounded automaton', () => {
    // Word lists are what rubrics are made of: their work is the sum of the words, not words x longest.
    const words = Array.from({ length: 150 }, (_, i) => `word${i}`).join('|');
    expect(backtrackWork(parsePattern(`\\b(?:${words})\\b`, true).node)).toBeLessThanOrEqual(
      BACKTRACK_BUDGET,
    );
    expect(compilePattern(`\\b(?:${words})\\b`, true).engine).toBe('native');
    // Many ways to match the same text: too much to try per position, so the automaton.
    expect(compilePattern('(?:a|a){12}', true).engine).toBe('nfa');
    expect(compilePattern('(?:a|a){12}', true).cost).toBeLessThanOrEqual(MAX_AUTOMATON_STATES);
    expect(compilePattern('\\s+$', true).engine).toBe('nfa');
  });
});

describe('first-character candidates (what lets a skipper be built without asking about every code point)', () => {
  // Case-insensitive sets meet letters through Python's equivalences: Kelvin sign, long s, dotless i,
  // final sigma, micro sign... The candidates must include every code point the set's test accepts.
  it.each([
    ['k', true],
    ['s', true],
    ['i', true],
    ['σ', true],
    ['µ', true],
    ['ß', true],
    ['a-f', false],
    ['0-9', true],
  ])('[%s] (case-insensitive: %s) misses nothing its test accepts', (members, ci) => {
    const set = {
      ranges: members.includes('-')
        ? [members.codePointAt(0)!, members.codePointAt(2)!]
        : [members.codePointAt(0)!, members.codePointAt(0)!],
      escapes: [] as never[],
      negated: false,
    };
    const test = setTest(set, ci, false, false);
    const candidates = new Set(candidatesOf(set, ci, false, 4096)!);
    const missed: number[] = [];
    for (let cp = 0; cp <= 0xffff; cp++) if (test(cp) && !candidates.has(cp)) missed.push(cp);
    expect(missed).toEqual([]);
  });

  it('covers \\d and \\s, and gives up on sets too broad to list', () => {
    const digits = { ranges: [], escapes: ['d' as const], negated: false };
    const test = setTest(digits, false, false, false);
    const candidates = new Set(candidatesOf(digits, false, false, 4096)!);
    for (let cp = 0; cp <= 0xffff; cp++) if (test(cp)) expect(candidates.has(cp)).toBe(true);
    expect(candidatesOf({ ranges: [], escapes: ['w'], negated: false }, true, false, 4096)).toBeNull();
    expect(candidatesOf({ ranges: [97, 97], escapes: [], negated: true }, true, false, 4096)).toBeNull();
  });
});

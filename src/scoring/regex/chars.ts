/**
 * Character predicates with Python 3's meaning for str patterns: `\w` is any letter, number or `_`
 * (str.isalnum), `\d` any decimal digit, `\s` Unicode whitespace. Results are cached per code point.
 */
import type { CharSet, ClassEscape } from './ast.js';

const WORD = /^[\p{L}\p{N}_]$/u;
const DIGIT = /^\p{Nd}$/u;
// Python's str.isspace also counts the information separators U+001C-U+001F and U+0085.
// biome-ignore lint/suspicious/noControlCharactersInRegex: these control characters are whitespace to Python
const SPACE = /^[\s\u001c-\u001f\u0085]$/u;

function cached(test: (s: string) => boolean): (cp: number) => boolean {
  const cache = new Int8Array(0x10000);
  return (cp) => {
    if (cp > 0xffff) return test(String.fromCodePoint(cp));
    let v = cache[cp]!;
    if (v === 0) {
      v = test(String.fromCharCode(cp)) ? 1 : -1;
      cache[cp] = v;
    }
    return v === 1;
  };
}

export const isWordChar = cached((s) => WORD.test(s));
const isDigit = cached((s) => DIGIT.test(s));
const isSpace = cached((s) => SPACE.test(s));

const isAsciiWord = (cp: number) =>
  (cp >= 48 && cp <= 57) || (cp >= 65 && cp <= 90) || (cp >= 97 && cp <= 122) || cp === 95;

export function wordTest(ascii: boolean): (cp: number) => boolean {
  return ascii ? isAsciiWord : isWordChar;
}

function escapeTest(e: ClassEscape, cp: number, ascii: boolean): boolean {
  switch (e) {
    case 'w':
      return ascii ? isAsciiWord(cp) : isWordChar(cp);
    case 'W':
      return !(ascii ? isAsciiWord(cp) : isWordChar(cp));
    case 'd':
      return ascii ? cp >= 48 && cp <= 57 : isDigit(cp);
    case 'D':
      return !(ascii ? cp >= 48 && cp <= 57 : isDigit(cp));
    case 's':
      return ascii ? cp === 32 || (cp >= 9 && cp <= 13) : isSpace(cp);
    case 'S':
      return !(ascii ? cp === 32 || (cp >= 9 && cp <= 13) : isSpace(cp));
  }
}

function inSet(set: CharSet, cp: number, dotAll: boolean, ascii: boolean): boolean {
  if (set.any) return dotAll || cp !== 10;
  let hit = false;
  const r = set.ranges;
  for (let i = 0; i < r.length && !hit; i += 2) hit = cp >= r[i]! && cp <= r[i + 1]!;
  for (let i = 0; i < set.escapes.length && !hit; i++) hit = escapeTest(set.escapes[i]!, cp, ascii);
  return hit !== set.negated;
}

const lowerCache = new Map<number, number>();
const upperCache = new Map<number, number>();

/** Simple (one code point to one) case mapping, as Python's IGNORECASE uses. */
function simpleCase(cp: number, cache: Map<number, number>, upper: boolean): number {
  let v = cache.get(cp);
  if (v === undefined) {
    const s = String.fromCodePoint(cp);
    const mapped = upper ? s.toUpperCase() : s.toLowerCase();
    const first = mapped.codePointAt(0)!;
    v = mapped.length === String.fromCodePoint(first).length ? first : cp;
    // BMP only: the cache stays bounded whatever text comes by.
    if (cp <= 0xffff) cache.set(cp, v);
  }
  return v;
}

/** Identifies a set with its matching options: equal keys, equal membership tests. */
export function setKey(set: CharSet, ci: boolean, dotAll: boolean, ascii: boolean): string {
  const options = `${ci ? 'i' : ''}${dotAll ? 's' : ''}${ascii ? 'a' : ''}`;
  if (set.any) return `any:${dotAll ? 's' : ''}`;
  return `${options}${set.negated ? '^' : ''}${set.escapes.join('')}:${set.ranges.join(',')}`;
}

// Tests by setKey. A rubric repeats the same few sets (its letters) thousands of times; building a
// case-insensitive test costs 128 case lookups, so building each once keeps loading linear with a
// small constant. Bounded: cleared when full (a cache, never a source of truth).
const testCache = new Map<string, (cp: number) => boolean>();
const TEST_CACHE_LIMIT = 20_000;

/** A compiled membership test for one set of the pattern. */
export function setTest(set: CharSet, ci: boolean, dotAll: boolean, ascii: boolean): (cp: number) => boolean {
  const key = setKey(set, ci, dotAll, ascii);
  let test = testCache.get(key);
  if (test) return test;
  if (!ci) test = (cp) => inSet(set, cp, dotAll, ascii);
  else {
    const asciiTable = new Uint8Array(128);
    for (let c = 0; c < 128; c++) {
      asciiTable[c] = caseInsensitiveTest(set, c, dotAll, ascii) ? 1 : 0;
    }
    test = (cp) => (cp < 128 ? asciiTable[cp] === 1 : caseInsensitiveTest(set, cp, dotAll, ascii));
  }
  if (testCache.size >= TEST_CACHE_LIMIT) testCache.clear();
  testCache.set(key, test);
  return test;
}

/**
 * Every BMP code point a set's test can accept, without asking the test about all 65,536 of them:
 * the set's own members, plus (case-insensitive) every code point whose case variants are members.
 * A superset of what the test accepts, or null when that is more than `limit` code points (the set
 * is too broad to be worth listing: `.`, negated sets, `\w`, `\W`, `\D`, `\S`).
 */
export function candidatesOf(set: CharSet, ci: boolean, ascii: boolean, limit: number): number[] | null {
  if (set.any || set.negated) return null;
  const members: number[] = [];
  for (let i = 0; i < set.ranges.length; i += 2) {
    const lo = set.ranges[i]!;
    const hi = Math.min(set.ranges[i + 1]!, 0xffff);
    if (hi - lo + 1 + members.length > limit) return null;
    for (let c = lo; c <= hi; c++) members.push(c);
  }
  for (const e of set.escapes) {
    const list = e === 'd' ? (ascii ? ASCII_DIGITS : bmpMembers('d')) : e === 's' ? bmpMembers('s') : null;
    if (list === null || list.length + members.length > limit) return null;
    members.push(...list);
  }
  if (!ci) return members;
  const preimages = casePreimages(ascii);
  const out = new Set(members);
  for (const m of members) for (const c of preimages.get(m) ?? []) out.add(c);
  return [...out];
}

const ASCII_DIGITS = [48, 49, 50, 51, 52, 53, 54, 55, 56, 57];
const bmpLists = new Map<string, number[]>();

/** The BMP members of `\d` or `\s` (Unicode meaning), computed once. */
function bmpMembers(e: 'd' | 's'): number[] {
  let list = bmpLists.get(e);
  if (!list) {
    list = bmpMatching(e === 'd' ? /\p{Nd}/gu : SPACES);
    bmpLists.set(e, list);
  }
  return list;
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: these control characters are whitespace to Python
const SPACES = /[\s\u001c-\u001f\u0085]/gu;

let bmpText: string | undefined;

/** The BMP code points a global regex matches, found at native speed in a string of all of them. */
function bmpMatching(re: RegExp): number[] {
  if (bmpText === undefined) {
    const parts: string[] = [];
    for (let c = 0; c <= 0xffff; c += 4096)
      parts.push(String.fromCharCode(...Array.from({ length: 4096 }, (_, i) => c + i)));
    bmpText = parts.join('');
  }
  const out: number[] = [];
  for (const m of bmpText.matchAll(re)) out.push(m[0].codePointAt(0)!);
  return out;
}

const preimageTables: (Map<number, number[]> | undefined)[] = [undefined, undefined];

/**
 * For each code point p, the other BMP code points c whose case-insensitive test looks p up (see
 * caseProbes): c matches a set containing p. Built once per thread (one pass over the BMP).
 */
function casePreimages(ascii: boolean): Map<number, number[]> {
  const slot = ascii ? 1 : 0;
  let table = preimageTables[slot];
  if (!table) {
    table = new Map();
    // Only code points with a case mapping (or an extra equivalence) probe anything but themselves.
    const cased = new Set([...bmpMatching(/\p{Changes_When_Casemapped}/gu), ...EXTRA_CASES.keys()]);
    for (const c of cased) {
      if (c > 0xffff) continue;
      for (const p of computeProbes(c, ascii)) {
        if (p === c) continue;
        const list = table.get(p);
        if (list) list.push(c);
        else table.set(p, [c]);
      }
    }
    preimageTables[slot] = table;
  }
  return table;
}

/**
 * Python's extra case equivalences (re._casefix._EXTRA_CASES, CPython 3.11): lower-case forms that
 * simple case mapping does not relate, such as final sigma and sigma, micro sign and mu, dotless i and i.
 */
const EXTRA_CASES = new Map<number, number[]>([
  [0x69, [0x131]],
  [0x73, [0x17f]],
  [0xb5, [0x3bc]],
  [0x131, [0x69]],
  [0x17f, [0x73]],
  [0x345, [0x3b9, 0x1fbe]],
  [0x390, [0x1fd3]],
  [0x3b0, [0x1fe3]],
  [0x3b2, [0x3d0]],
  [0x3b5, [0x3f5]],
  [0x3b8, [0x3d1]],
  [0x3b9, [0x345, 0x1fbe]],
  [0x3ba, [0x3f0]],
  [0x3bc, [0xb5]],
  [0x3c0, [0x3d6]],
  [0x3c1, [0x3f1]],
  [0x3c2, [0x3c3]],
  [0x3c3, [0x3c2]],
  [0x3c6, [0x3d5]],
  [0x3d0, [0x3b2]],
  [0x3d1, [0x3b8]],
  [0x3d5, [0x3c6]],
  [0x3d6, [0x3c0]],
  [0x3f0, [0x3ba]],
  [0x3f1, [0x3c1]],
  [0x3f5, [0x3b5]],
  [0x432, [0x1c80]],
  [0x434, [0x1c81]],
  [0x43e, [0x1c82]],
  [0x441, [0x1c83]],
  [0x442, [0x1c84, 0x1c85]],
  [0x44a, [0x1c86]],
  [0x463, [0x1c87]],
  [0x1c80, [0x432]],
  [0x1c81, [0x434]],
  [0x1c82, [0x43e]],
  [0x1c83, [0x441]],
  [0x1c84, [0x442, 0x1c85]],
  [0x1c85, [0x442, 0x1c84]],
  [0x1c86, [0x44a]],
  [0x1c87, [0x463]],
  [0x1c88, [0xa64b]],
  [0x1e61, [0x1e9b]],
  [0x1e9b, [0x1e61]],
  [0x1fbe, [0x345, 0x3b9]],
  [0x1fd3, [0x390]],
  [0x1fe3, [0x3b0]],
  [0xa64b, [0x1c88]],
  [0xfb05, [0xfb06]],
  [0xfb06, [0xfb05]],
]);

// Per BMP code point (astral ones are rare and not cached, so the cache stays bounded).
const probeCache: (Int32Array | undefined)[][] = [[], []];

function caseProbes(cp: number, ascii: boolean): Int32Array {
  if (cp > 0xffff) return computeProbes(cp, ascii);
  const cache = probeCache[ascii ? 1 : 0]!;
  let probes = cache[cp];
  if (!probes) {
    probes = computeProbes(cp, ascii);
    cache[cp] = probes;
  }
  return probes;
}

/**
 * The code points a case-insensitive test looks up for `cp`: `cp` matches a case-insensitive set
 * when any of them is in the set (as Python: a character is in such a set when any of its case
 * variants is). One definition for the test and for casePreimages, so the two always agree.
 */
function computeProbes(cp: number, ascii: boolean): Int32Array {
  // U+0130 (İ) is the one letter whose full lower case is two characters; its simple one is 'i'.
  const lo = cp === 0x130 ? 0x69 : simpleCase(cp, lowerCache, false);
  const up = simpleCase(cp, upperCache, true);
  // Characters whose lower case is another's, e.g. 'K' (Kelvin sign) and 'k', meet through the upper case's lower.
  const upLo = simpleCase(up, lowerCache, false);
  // Python compares simple lower cases: the Kelvin sign's is 'k', so it matches a 'K' in the pattern.
  const loUp = simpleCase(lo, upperCache, true);
  const list = new Set([cp, lo, up, upLo, loUp]);
  if (!ascii) {
    for (const extra of EXTRA_CASES.get(lo) ?? EXTRA_CASES.get(upLo) ?? []) {
      list.add(extra);
      list.add(simpleCase(extra, upperCache, true));
    }
  }
  return Int32Array.from(list);
}

function caseInsensitiveTest(set: CharSet, cp: number, dotAll: boolean, ascii: boolean): boolean {
  if (set.any) return inSet(set, cp, dotAll, ascii);
  // Negation applies to the case-insensitive membership, last.
  const positive: CharSet = { ranges: set.ranges, escapes: set.escapes, negated: false };
  let hit = false;
  for (const p of caseProbes(cp, ascii)) {
    if (inSet(positive, p, dotAll, ascii)) {
      hit = true;
      break;
    }
  }
  return hit !== set.negated;
}

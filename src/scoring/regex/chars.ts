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
    cache.set(cp, v);
  }
  return v;
}

/** A compiled membership test for one set of the pattern. */
export function setTest(set: CharSet, ci: boolean, dotAll: boolean, ascii: boolean): (cp: number) => boolean {
  if (!ci) return (cp) => inSet(set, cp, dotAll, ascii);
  const asciiTable = new Uint8Array(128);
  for (let c = 0; c < 128; c++) {
    asciiTable[c] = caseInsensitiveTest(set, c, dotAll, ascii) ? 1 : 0;
  }
  return (cp) => (cp < 128 ? asciiTable[cp] === 1 : caseInsensitiveTest(set, cp, dotAll, ascii));
}

function caseInsensitiveTest(set: CharSet, cp: number, dotAll: boolean, ascii: boolean): boolean {
  if (set.any) return inSet(set, cp, dotAll, ascii);
  // As Python: a character is in a case-insensitive set when any of its case variants is; negation comes last.
  const positive: CharSet = { ranges: set.ranges, escapes: set.escapes, negated: false };
  let hit = inSet(positive, cp, dotAll, ascii);
  const lo = simpleCase(cp, lowerCache, false);
  const up = simpleCase(cp, upperCache, true);
  // Characters whose lower case is another's, e.g. 'K' (Kelvin sign) and 'k', meet through the upper case's lower.
  const upLo = simpleCase(up, lowerCache, false);
  hit ||=
    (lo !== cp && inSet(positive, lo, dotAll, ascii)) || (up !== cp && inSet(positive, up, dotAll, ascii));
  hit ||= upLo !== cp && upLo !== lo && inSet(positive, upLo, dotAll, ascii);
  return hit !== set.negated;
}

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

function caseInsensitiveTest(set: CharSet, cp: number, dotAll: boolean, ascii: boolean): boolean {
  if (set.any) return inSet(set, cp, dotAll, ascii);
  // As Python: a character is in a case-insensitive set when any of its case variants is; negation comes last.
  const positive: CharSet = { ranges: set.ranges, escapes: set.escapes, negated: false };
  let hit = inSet(positive, cp, dotAll, ascii);
  // U+0130 (İ) is the one letter whose full lower case is two characters; its simple one is 'i'.
  const lo = cp === 0x130 ? 0x69 : simpleCase(cp, lowerCache, false);
  const up = simpleCase(cp, upperCache, true);
  // Characters whose lower case is another's, e.g. 'K' (Kelvin sign) and 'k', meet through the upper case's lower.
  const upLo = simpleCase(up, lowerCache, false);
  hit ||=
    (lo !== cp && inSet(positive, lo, dotAll, ascii)) || (up !== cp && inSet(positive, up, dotAll, ascii));
  hit ||= upLo !== cp && upLo !== lo && inSet(positive, upLo, dotAll, ascii);
  // Python compares simple lower cases: the Kelvin sign's is 'k', so it matches a 'K' in the pattern.
  const loUp = simpleCase(lo, upperCache, true);
  hit ||= loUp !== cp && loUp !== up && inSet(positive, loUp, dotAll, ascii);
  if (!hit && !ascii) {
    for (const extra of EXTRA_CASES.get(lo) ?? EXTRA_CASES.get(upLo) ?? []) {
      if (
        inSet(positive, extra, dotAll, ascii) ||
        inSet(positive, simpleCase(extra, upperCache, true), dotAll, ascii)
      ) {
        hit = true;
        break;
      }
    }
  }
  return hit !== set.negated;
}

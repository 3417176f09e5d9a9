/**
 * Compiles a rubric pattern (Python `re` dialect) into a matcher whose running time is linear in the
 * text, whatever the pattern.
 *
 * Two engines, chosen per pattern at load:
 * - Patterns with no unbounded repetition and few ways to match (most rubric patterns: alternations of
 *   words and phrases, `\d{4}`, `colou?r`) run on V8's own regex engine. A backtracking engine tries at
 *   most `paths(pattern)` ways at each start position, each no longer than `maxLength(pattern)`, so the
 *   work per position is bounded by a constant we check (`BACKTRACK_BUDGET`) and the search is linear.
 * - Every other pattern runs on the Thompson NFA in nfa.ts, which never backtracks.
 * Constructs neither can run in linear time (backreferences, lookarounds) are refused at load.
 */
import { type CharSet, type Flags, type Node, parsePattern } from './ast.js';
import { wordTest } from './chars.js';
import { NfaMatcher, type Span } from './nfa.js';

export { PatternError } from './ast.js';
export type { Span } from './nfa.js';

/** Bound on paths x length for the native engine: at most this many steps per start position. */
export const BACKTRACK_BUDGET = 2_000;

export interface Matcher {
  readonly source: string;
  /** 'native' (bounded backtracking, V8) or 'nfa' (lock-step automaton). */
  readonly engine: 'native' | 'nfa';
  /** First match at or after `from`; `ascii` may say whether the text is ASCII-only (asked only when it helps). */
  find(text: string, from: number, ascii?: () => boolean): Span | null;
}

/** Throws PatternError with a reason when the pattern is invalid or cannot run in linear time. */
export function compilePattern(source: string, ignoreCase: boolean): Matcher {
  const parsed = parsePattern(source, ignoreCase);
  const cost = parsed.scopedFlags ? null : backtrackCost(parsed.node);
  if (cost !== null && cost.paths * (cost.maxLen + 1) <= BACKTRACK_BUDGET) {
    const native = nativeMatcher(source, parsed.node, parsed.flags);
    if (native) return native;
  }
  const nfa = new NfaMatcher(parsed.node, parsed.flags);
  return { source, engine: 'nfa', find: (text, from) => nfa.find(text, from) };
}

interface Cost {
  paths: number;
  maxLen: number;
}

/** Ways to match and longest match of a pattern without unbounded repetition; null if it has one. */
function backtrackCost(node: Node): Cost | null {
  switch (node.t) {
    case 'set':
      return { paths: 1, maxLen: 1 };
    case 'assert':
      return { paths: 1, maxLen: 0 };
    case 'seq': {
      let paths = 1;
      let maxLen = 0;
      for (const item of node.items) {
        const c = backtrackCost(item);
        if (!c) return null;
        paths = Math.min(paths * c.paths, 1e9);
        maxLen += c.maxLen;
      }
      return { paths, maxLen };
    }
    case 'alt': {
      let paths = 0;
      let maxLen = 0;
      for (const alt of node.alts) {
        const c = backtrackCost(alt);
        if (!c) return null;
        paths = Math.min(paths + c.paths, 1e9);
        maxLen = Math.max(maxLen, c.maxLen);
      }
      return { paths, maxLen };
    }
    case 'repeat': {
      if (!Number.isFinite(node.max)) return null;
      const c = backtrackCost(node.node);
      if (!c) return null;
      let paths = 0;
      for (let k = node.min; k <= node.max && paths < 1e9; k++) paths += c.paths ** k;
      return { paths: Math.min(paths, 1e9), maxLen: c.maxLen * node.max };
    }
  }
}

const WORD_U = '\\p{L}\\p{N}_';
const WORD_A = 'A-Za-z0-9_';
const PY_SPACE = '\\s\\x1c-\\x1f\\x85';

/**
 * Translates the AST to JavaScript regex source. Two variants: `unicode` gives Python 3's Unicode `\w`,
 * `\b`, `\d` (JS's are ASCII-only even with the u flag); the ASCII one uses JS's own, identical on ASCII
 * text and several times faster. Returns null for the few sets JS cannot express (e.g. `[\W\d]`).
 */
function toJsSource(node: Node, flags: Flags, unicode: boolean): string | null {
  const word = unicode && !flags.ascii ? WORD_U : WORD_A;
  const cp = (c: number): string =>
    unicode
      ? `\\u{${c.toString(16)}}`
      : c > 0xffff
        ? escapeUtf16(c)
        : `\\u${c.toString(16).padStart(4, '0')}`;
  const shorthand = (e: string, inClass: boolean): string | null => {
    // Python's \s also takes \x1c-\x1f (ASCII!) and \x85, which JS's does not.
    if (e === 's') return inClass ? PY_SPACE : `[${PY_SPACE}]`;
    if (e === 'S') return inClass ? null : `[^${PY_SPACE}]`;
    // On ASCII text JS's other shorthands mean what Python's do.
    if (!unicode) return `\\${e}`;
    switch (e) {
      case 'w':
        return inClass ? word : `[${word}]`;
      case 'W':
        return inClass ? null : `[^${word}]`;
      case 'd':
        return flags.ascii ? (inClass ? '0-9' : '[0-9]') : '\\p{Nd}';
      case 'D':
        return flags.ascii ? (inClass ? null : '[^0-9]') : '\\P{Nd}';
      default:
        return `\\${e}`;
    }
  };
  const set = (s: CharSet): string | null => {
    if (s.any) return flags.dotAll ? '[\\s\\S]' : '[^\\n]';
    const parts: string[] = [];
    for (let i = 0; i < s.ranges.length; i += 2) {
      const lo = s.ranges[i]!;
      const hi = s.ranges[i + 1]!;
      if (!unicode && (lo > 0xffff || hi > 0xffff)) return null;
      parts.push(lo === hi ? cp(lo) : `${cp(lo)}-${cp(hi)}`);
    }
    for (const e of s.escapes) {
      const p = shorthand(e, true);
      if (p === null) return null;
      parts.push(p);
    }
    if (!s.negated && parts.length === 1 && s.ranges.length === 2 && s.ranges[0] === s.ranges[1])
      return parts[0]!;
    if (!s.negated && s.ranges.length === 0 && s.escapes.length === 1) return shorthand(s.escapes[0]!, false);
    return `[${s.negated ? '^' : ''}${parts.join('')}]`;
  };
  const walk = (n: Node): string | null => {
    switch (n.t) {
      case 'set':
        return set(n.set);
      case 'assert':
        switch (n.kind) {
          case 'begin':
            return '(?<![\\s\\S])';
          case 'end':
            return '(?![\\s\\S])';
          case 'endOrFinalNewline':
            return '(?=\\n?(?![\\s\\S]))';
          case 'lineStart':
            return '(?<![^\\n])';
          case 'lineEnd':
            return '(?![^\\n])';
          case 'word':
            return unicode ? `(?:(?<=[${word}])(?![${word}])|(?<![${word}])(?=[${word}]))` : '\\b';
          case 'notWord':
            return unicode ? `(?:(?<=[${word}])(?=[${word}])|(?<![${word}])(?![${word}]))` : '\\B';
        }
        break;
      case 'seq': {
        const parts = n.items.map((item, k) => {
          // `\b` next to a word character is a one-sided test; written so, V8 keeps its fast literal
          // prefilter, which the two-sided lookaround form defeats (several times slower).
          if (unicode && item.t === 'assert' && item.kind === 'word') {
            const next = n.items[k + 1];
            const prev = n.items[k - 1];
            if (next && edgeIsWord(next, 'first', flags.ascii)) return `(?<![${word}])`;
            if (prev && edgeIsWord(prev, 'last', flags.ascii)) return `(?![${word}])`;
          }
          return walk(item);
        });
        return parts.includes(null) ? null : `(?:${parts.join('')})`;
      }
      case 'alt': {
        const parts = n.alts.map(walk);
        return parts.includes(null) ? null : `(?:${parts.join('|')})`;
      }
      case 'repeat': {
        const inner = walk(n.node);
        if (inner === null) return null;
        return `(?:${inner}){${n.min},${Number.isFinite(n.max) ? n.max : ''}}${n.lazy ? '?' : ''}`;
      }
    }
  };
  return walk(node);
}

/** Whether every string `node` matches starts (or ends) with a word character. */
function edgeIsWord(node: Node, edge: 'first' | 'last', ascii: boolean): boolean {
  const isWord = wordTest(ascii);
  switch (node.t) {
    case 'set': {
      const s = node.set;
      if (s.any || s.negated) return false;
      if (s.escapes.some((e) => e !== 'w' && !(e === 'd' && !ascii))) return false;
      for (let i = 0; i < s.ranges.length; i += 2) {
        if (s.ranges[i + 1]! - s.ranges[i]! > 512) return false;
        for (let c = s.ranges[i]!; c <= s.ranges[i + 1]!; c++) if (!isWord(c)) return false;
      }
      return true;
    }
    case 'assert':
      return false;
    case 'seq': {
      const item = edge === 'first' ? node.items[0] : node.items[node.items.length - 1];
      return item !== undefined && edgeIsWord(item, edge, ascii);
    }
    case 'alt':
      return node.alts.every((a) => edgeIsWord(a, edge, ascii));
    case 'repeat':
      return node.min >= 1 && edgeIsWord(node.node, edge, ascii);
  }
}

function escapeUtf16(c: number): string {
  const s = String.fromCodePoint(c);
  return `\\u${s.charCodeAt(0).toString(16)}\\u${s.charCodeAt(1).toString(16)}`;
}

function nativeMatcher(source: string, node: Node, flags: Flags): Matcher | null {
  const asciiSrc = toJsSource(node, flags, false);
  const uniSrc = toJsSource(node, flags, true);
  if (asciiSrc === null || uniSrc === null) return null;
  const ci = flags.ignoreCase ? 'i' : '';
  const asciiRe = new RegExp(asciiSrc, `g${ci}`);
  const uniRe = new RegExp(uniSrc, `gu${ci}`);
  // When every \b became a one-sided test, the Unicode variant is as fast as the ASCII one: skip the check.
  const uniFast = !uniSrc.includes('|(?<![');
  return {
    source,
    engine: 'native',
    find(text, from, ascii) {
      const re = uniFast ? uniRe : (ascii ? ascii() : isAscii(text)) ? asciiRe : uniRe;
      re.lastIndex = from;
      const m = re.exec(text);
      return m ? { start: m.index, end: m.index + m[0].length } : null;
    },
  };
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: the ASCII range starts at U+0000
const NON_ASCII = /[^\u0000-\u007f]/;

export function isAscii(text: string): boolean {
  return !NON_ASCII.test(text);
}

/**
 * Compiles a rubric pattern (Python `re` dialect) into a matcher whose running time is linear in the
 * text, whatever the pattern.
 *
 * Two engines, chosen per pattern at load (cost.ts computes both measures from the AST):
 * - Patterns with no unbounded repetition and little to try at each position (most rubric patterns:
 *   alternations of words and phrases, `\d{4}`, `colou?r`) run on V8's own regex engine. A
 *   backtracking engine takes at most `backtrackWork(pattern)` steps at each start position, a
 *   constant we check (`BACKTRACK_BUDGET`), so the search is linear with a small constant.
 * - Every other pattern runs on the Thompson NFA in nfa.ts, which never backtracks and visits each of
 *   its states at most once per character: its cost per character is its number of states, which we
 *   bound (`MAX_AUTOMATON_STATES`), refusing the pattern at load above it.
 * Constructs neither can run in linear time (backreferences, lookarounds) are refused at load.
 */
import { type CharSet, type Flags, type Node, PatternError, parsePattern } from './ast.js';
import { wordTest } from './chars.js';
import { automatonStates, backtrackWork } from './cost.js';
import { NfaMatcher, type Span } from './nfa.js';

export { PatternError } from './ast.js';
export type { Span } from './nfa.js';

/** Bound on the native engine's work: at most this many backtracking steps per start position. */
export const BACKTRACK_BUDGET = 2_000;

/**
 * Bound on the automaton's states, i.e. on its steps per character of text. At the automaton's
 * worst-case speed (every state alive at every character: 20-30 ns per state per character on the
 * benchmark machine, which bench/scoring.ts measures) a pattern at the limit searches a 2-hour call
 * (~100,000 characters) in 2-3 s, on a worker thread (src/scoring-pool). Rubric patterns need far
 * fewer: `(.*a){20}` has 61 states, `\b(mr|mrs|dr)\.? \w+` 17. Why not higher: the 38 s the
 * finding measured came from 18,000 states; why not lower: a pattern at 1,000 already means nested
 * counted repetition, which no rubric seen needs.
 */
export const MAX_AUTOMATON_STATES = 1_000;

/** Rough worst-case nanoseconds per automaton state per character, for the refusal message only. */
const NS_PER_STATE_CHAR = 20;

export interface Matcher {
  readonly source: string;
  /** 'native' (bounded backtracking, V8) or 'nfa' (lock-step automaton). */
  readonly engine: 'native' | 'nfa';
  /**
   * Worst-case work per character of text for one search: backtracking steps per start position
   * ('native'), automaton states ('nfa'). A search that continues after a match (the next occurrence)
   * may re-read text the automaton already read: callers that search one text many times multiply.
   */
  readonly cost: number;
  /** First match at or after `from`; `ascii` may say whether the text is ASCII-only (asked only when it helps). */
  find(text: string, from: number, ascii?: () => boolean): Span | null;
}

/** Throws PatternError with a reason when the pattern is invalid or cannot run in linear time. */
export function compilePattern(source: string, ignoreCase: boolean): Matcher {
  const parsed = parsePattern(source, ignoreCase);
  const work = parsed.scopedFlags ? null : backtrackWork(parsed.node);
  if (work !== null && work <= BACKTRACK_BUDGET) {
    const native = nativeMatcher(source, parsed.node, parsed.flags, work);
    if (native) return native;
  }
  const states = automatonStates(parsed.node);
  if (states > MAX_AUTOMATON_STATES) throw new PatternError(tooSlow(states, 1));
  const nfa = new NfaMatcher(parsed.node, parsed.flags);
  return { source, engine: 'nfa', cost: states, find: (text, from) => nfa.find(text, from) };
}

/**
 * Why a pattern is refused as too slow, for a QA manager: what it would cost on a long call, the
 * limit, and what to change. `searches` > 1 when a rule searches each turn that many times (min_count).
 */
export function tooSlow(states: number, searches: number): string {
  const total = states * searches;
  const seconds = (total * 100_000 * NS_PER_STATE_CHAR) / 1e9;
  const limitSeconds = (MAX_AUTOMATON_STATES * 100_000 * NS_PER_STATE_CHAR) / 1e9;
  const per =
    searches > 1
      ? `it tracks up to ${fmt(states)} places in the pattern at every character, and min_count ${searches} searches each turn up to ${searches} times (${fmt(total)} in all)`
      : `it tracks up to ${states >= 1e15 ? 'billions of' : fmt(states)} places in the pattern at every character of a transcript`;
  return (
    `too complex to search quickly: ${per}, so a 2-hour call (~100,000 characters) could take ${about(seconds)}; ` +
    `the limit is ${fmt(MAX_AUTOMATON_STATES)} (${about(limitSeconds)}). ` +
    (searches > 1
      ? 'Lower min_count or simplify the pattern (smaller counts in {...}, fewer nested repetitions)'
      : 'Use smaller counts in {...}, fewer nested repetitions, or several simpler patterns')
  );
}

function fmt(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

function about(seconds: number): string {
  if (seconds >= 3600 * 24) return 'days';
  if (seconds >= 3600) return `about ${Math.round(seconds / 3600)} h`;
  if (seconds >= 120) return `about ${Math.round(seconds / 60)} min`;
  return `about ${Math.max(1, Math.round(seconds))} s`;
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

function nativeMatcher(source: string, node: Node, flags: Flags, cost: number): Matcher | null {
  const asciiSrc = toJsSource(node, flags, false);
  const uniSrc = toJsSource(node, flags, true);
  if (asciiSrc === null || uniSrc === null) return null;
  const ci = flags.ignoreCase ? 'i' : '';
  const asciiRe = new RegExp(asciiSrc, `g${ci}`);
  // Built on first use: V8 expands `\p{L}` with its case closure when it constructs a regex, about a
  // millisecond each, which made loading a rubric of many patterns slow for nothing when its
  // transcripts are ASCII.
  let uniRe: RegExp | undefined;
  // When every \b became a one-sided test, the Unicode variant is as fast as the ASCII one: skip the check.
  const uniFast = !uniSrc.includes('|(?<![');
  return {
    source,
    engine: 'native',
    cost,
    find(text, from, ascii) {
      let re = asciiRe;
      if (uniFast || !(ascii ? ascii() : isAscii(text))) {
        uniRe ??= new RegExp(uniSrc, `gu${ci}`);
        re = uniRe;
      }
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

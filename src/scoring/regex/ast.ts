/**
 * A parser for the regular expressions rubric authors write, in Python's `re` dialect (the tutorial's),
 * into a small AST. Only the constructs a linear-time engine can run are accepted: backreferences,
 * lookarounds, atomic groups, possessive quantifiers and conditionals are refused with a reason.
 */

export type ClassEscape = 'w' | 'W' | 'd' | 'D' | 's' | 'S';

/** A set of code points: explicit ranges plus shorthand classes, optionally negated. */
export interface CharSet {
  /** Flat list of inclusive [lo, hi] pairs. */
  ranges: number[];
  escapes: ClassEscape[];
  negated: boolean;
  /** `.`: any character (but newline unless dotAll). */
  any?: boolean;
}

export type AssertKind = 'begin' | 'end' | 'endOrFinalNewline' | 'lineStart' | 'lineEnd' | 'word' | 'notWord';

export type Node =
  | { t: 'set'; set: CharSet; ci: boolean }
  | { t: 'seq'; items: Node[] }
  | { t: 'alt'; alts: Node[] }
  | { t: 'repeat'; node: Node; min: number; max: number; lazy: boolean }
  | { t: 'assert'; kind: AssertKind };

export interface Flags {
  ignoreCase: boolean;
  multiline: boolean;
  dotAll: boolean;
  verbose: boolean;
  ascii: boolean;
}

export interface ParsedPattern {
  node: Node;
  flags: Flags;
  /** True when a flag was switched on for part of the pattern only, e.g. `(?i:...)`. */
  scopedFlags: boolean;
}

export class PatternError extends Error {}

const MAX_REPEAT = 1000;

// Sticky (`y`): each matches exactly at the parser's position (see Parser.at).
const GLOBAL_FLAGS = /\(\?([aiLmsux]+)\)/y;
const COUNTED = /\{(\d*)(,?)(\d*)\}/y;
const QUANTIFIER_ALONE = /\{(\d+,?\d*|,\d*)\}/y;
const LOOKAROUND = /\(\?(=|!|<=|<!)/y;
const NAMED_GROUP = /\(\?P<([A-Za-z_]\w*)>/y;
const SCOPED_FLAGS = /\(\?([aimsux]*)(?:-([imsx]+))?:/y;
const TWO_OCTAL = /[0-7]{2}/y;
const UP_TO_TWO_OCTAL = /[0-7]{0,2}/y;
const HEX_DIGITS = /^[0-9a-fA-F]*$/;

export function parsePattern(source: string, ignoreCase: boolean): ParsedPattern {
  return new Parser(source, ignoreCase).parse();
}

class Parser {
  private pos = 0;
  private flags: Flags;
  private scopedFlags = false;
  private readonly groupNames = new Set<string>();
  private ci: boolean;

  constructor(
    private readonly src: string,
    ignoreCase: boolean,
  ) {
    this.flags = { ignoreCase, multiline: false, dotAll: false, verbose: false, ascii: false };
    this.ci = ignoreCase;
  }

  parse(): ParsedPattern {
    this.readGlobalFlags();
    const node = this.parseAlt();
    if (this.pos < this.src.length) throw this.fail('unbalanced parenthesis');
    return { node, flags: this.flags, scopedFlags: this.scopedFlags };
  }

  private fail(message: string): PatternError {
    return new PatternError(`${message} at position ${this.pos}`);
  }

  /**
   * Matches `re` (a sticky regex) at the current position. Every look-ahead goes through here, not
   * through `src.slice(pos)`: a copy of the rest per group made parsing quadratic in the pattern.
   */
  private at(re: RegExp): RegExpExecArray | null {
    re.lastIndex = this.pos;
    return re.exec(this.src);
  }

  /** Python only allows global inline flags such as `(?i)` at the start of the pattern. */
  private readGlobalFlags(): void {
    for (;;) {
      const m = this.at(GLOBAL_FLAGS);
      if (!m) return;
      for (const f of m[1]!) this.applyFlag(f, this.flags);
      this.ci = this.flags.ignoreCase;
      this.pos += m[0].length;
    }
  }

  private applyFlag(f: string, flags: Flags): void {
    if (f === 'i') flags.ignoreCase = true;
    else if (f === 'm') flags.multiline = true;
    else if (f === 's') flags.dotAll = true;
    else if (f === 'x') flags.verbose = true;
    else if (f === 'a') flags.ascii = true;
    else if (f === 'L') throw this.fail('the locale flag (?L) is not supported');
    // 'u' is Python 3's default for str patterns.
  }

  private peek(): string | undefined {
    return this.src[this.pos];
  }

  private skipVerbose(): void {
    if (!this.flags.verbose) return;
    for (;;) {
      const c = this.src[this.pos];
      if (c === undefined) return;
      if (/\s/.test(c)) this.pos++;
      else if (c === '#') {
        while (this.pos < this.src.length && this.src[this.pos] !== '\n') this.pos++;
      } else return;
    }
  }

  private parseAlt(): Node {
    const alts: Node[] = [this.parseSeq()];
    while (this.peek() === '|') {
      this.pos++;
      alts.push(this.parseSeq());
    }
    return alts.length === 1 ? alts[0]! : { t: 'alt', alts };
  }

  private parseSeq(): Node {
    const items: Node[] = [];
    for (;;) {
      this.skipVerbose();
      const c = this.peek();
      if (c === undefined || c === '|' || c === ')') break;
      const atom = this.parseAtom();
      if (atom) items.push(this.parseQuantifiers(atom));
    }
    return items.length === 1 ? items[0]! : { t: 'seq', items };
  }

  private parseQuantifiers(atom: Node): Node {
    let node = atom;
    for (;;) {
      this.skipVerbose();
      const c = this.peek();
      let min: number;
      let max: number;
      if (c === '*') [min, max] = [0, Number.POSITIVE_INFINITY];
      else if (c === '+') [min, max] = [1, Number.POSITIVE_INFINITY];
      else if (c === '?') [min, max] = [0, 1];
      else if (c === '{') {
        const m = this.at(COUNTED);
        if (!m || (m[1] === '' && m[2] === '')) return node; // Python reads a stray `{` as a literal.
        min = m[1] === '' ? 0 : Number(m[1]);
        max = m[2] === '' ? min : m[3] === '' ? Number.POSITIVE_INFINITY : Number(m[3]);
        if (max < min) throw this.fail('min repeat greater than max repeat');
        if (min > MAX_REPEAT || (Number.isFinite(max) && max > MAX_REPEAT)) {
          throw this.fail(`repeat counts above ${MAX_REPEAT} are not supported`);
        }
        this.pos += m[0].length - 1;
      } else return node;
      this.pos++;
      if (node.t === 'assert') throw this.fail('nothing to repeat');
      if (node.t === 'repeat') throw this.fail('multiple repeat');
      const next = this.peek();
      if (next === '+')
        throw this.fail(
          'possessive quantifiers are not supported (they are not needed: matching never backtracks)',
        );
      const lazy = next === '?';
      if (lazy) this.pos++;
      node = { t: 'repeat', node, min, max, lazy };
    }
  }

  private parseAtom(): Node | null {
    const c = this.src[this.pos]!;
    if (c === '(') return this.parseGroup();
    if (c === '[') return this.parseClass();
    if (c === '*' || c === '+' || c === '?') throw this.fail('nothing to repeat');
    // `{2}` with nothing before it is a quantifier of nothing to Python; a stray `{` is a literal.
    if (c === '{' && this.at(QUANTIFIER_ALONE)) throw this.fail('nothing to repeat');
    this.pos++;
    if (c === '.')
      return { t: 'set', set: { ranges: [], escapes: [], negated: false, any: true }, ci: false };
    if (c === '^') return { t: 'assert', kind: this.flags.multiline ? 'lineStart' : 'begin' };
    if (c === '$') return { t: 'assert', kind: this.flags.multiline ? 'lineEnd' : 'endOrFinalNewline' };
    if (c === '\\') return this.parseEscape();
    const cp = this.src.codePointAt(this.pos - 1)!;
    if (cp > 0xffff) this.pos++;
    return this.literal(cp);
  }

  private literal(cp: number): Node {
    return { t: 'set', set: { ranges: [cp, cp], escapes: [], negated: false }, ci: this.ci };
  }

  private parseGroup(): Node | null {
    const src = this.src;
    const pos = this.pos;
    let savedCi: boolean | undefined;
    if (src.startsWith('(?#', pos)) {
      const end = this.src.indexOf(')', this.pos);
      if (end < 0) throw this.fail('missing ), unterminated comment');
      this.pos = end + 1;
      return null;
    }
    if (this.at(LOOKAROUND)) {
      throw this.fail(
        'lookahead and lookbehind assertions are not supported (they cannot run in linear time)',
      );
    }
    if (src.startsWith('(?>', pos))
      throw this.fail('atomic groups are not supported (matching never backtracks)');
    if (src.startsWith('(?P=', pos))
      throw this.fail('backreferences are not supported (they cannot run in linear time)');
    if (src.startsWith('(?(', pos)) throw this.fail('conditional groups are not supported');
    // Python's named group is (?P<name>...); JavaScript's (?<name>...) is an error there.
    const named = this.at(NAMED_GROUP);
    if (named) {
      if (this.groupNames.has(named[1]!)) throw this.fail(`redefinition of group name '${named[1]}'`);
      this.groupNames.add(named[1]!);
    }
    const scoped = this.at(SCOPED_FLAGS);
    if (src.startsWith('(?:', pos)) this.pos += 3;
    else if (named) this.pos += named[0].length;
    else if (scoped) {
      const m = scoped;
      // Scoped flags, e.g. (?i:...) or (?-i:...). Only case-insensitivity changes matching inside a group here.
      const on = m[1] ?? '';
      const off = m[2] ?? '';
      if ([...off].some((f) => on.includes(f))) throw this.fail('bad inline flags: flag turned on and off');
      if (/[msxa]/.test(on + off)) throw this.fail('scoped flags other than i are not supported');
      savedCi = this.ci;
      if (on.includes('i')) this.ci = true;
      if (off.includes('i')) this.ci = false;
      this.scopedFlags = true;
      this.pos += m[0].length;
    } else if (src.startsWith('(?', pos)) {
      throw this.fail(
        this.at(GLOBAL_FLAGS) ? 'global flags not at the start of the expression' : 'unknown extension',
      );
    } else this.pos++;
    const node = this.parseAlt();
    if (this.peek() !== ')') throw this.fail('missing ), unterminated subpattern');
    this.pos++;
    if (savedCi !== undefined) this.ci = savedCi;
    // Wrapped so that a quantifier after the group applies to the group, e.g. (a+)+.
    return { t: 'seq', items: [node] };
  }

  private parseEscape(): Node {
    const c = this.src[this.pos];
    if (c === undefined) throw this.fail('bad escape (end of pattern)');
    this.pos++;
    switch (c) {
      case 'b':
        return { t: 'assert', kind: 'word' };
      case 'B':
        return { t: 'assert', kind: 'notWord' };
      case 'A':
        return { t: 'assert', kind: 'begin' };
      case 'Z':
        return { t: 'assert', kind: 'end' };
      case 'w':
      case 'W':
      case 'd':
      case 'D':
      case 's':
      case 'S':
        return { t: 'set', set: { ranges: [], escapes: [c], negated: false }, ci: false };
    }
    if (/[1-9]/.test(c)) {
      // As Python: three octal digits are a character (\101 is 'A'); anything else is a group reference.
      const octal = this.at(TWO_OCTAL);
      if (/[0-7]/.test(c) && octal) {
        const value = Number.parseInt(c + octal[0], 8);
        if (value > 0o377) throw this.fail(`octal escape value \\${c}${octal[0]} outside of range 0-0o377`);
        this.pos += 2;
        return this.literal(value);
      }
      throw this.fail('backreferences are not supported (they cannot run in linear time)');
    }
    return this.literal(this.escapedCodePoint(c));
  }

  /** The code point of an escape such as \n, \x41, \u00e9 or \.; `c` is the character after the backslash. */
  private escapedCodePoint(c: string): number {
    const simple: Record<string, number> = { n: 10, t: 9, r: 13, f: 12, v: 11, a: 7, '0': 0 };
    if (c in simple) {
      if (c === '0') {
        const m = this.at(UP_TO_TWO_OCTAL)![0];
        this.pos += m.length;
        return Number.parseInt(`0${m}`, 8);
      }
      return simple[c]!;
    }
    const hexLen = c === 'x' ? 2 : c === 'u' ? 4 : c === 'U' ? 8 : 0;
    if (hexLen > 0) {
      const hex = this.src.slice(this.pos, this.pos + hexLen);
      if (hex.length !== hexLen || !HEX_DIGITS.test(hex)) throw this.fail(`incomplete escape \\${c}${hex}`);
      this.pos += hexLen;
      const cp = Number.parseInt(hex, 16);
      if (cp > 0x10ffff) throw this.fail(`bad escape \\${c}${hex}`);
      return cp;
    }
    if (/[A-Za-z0-9]/.test(c)) throw this.fail(`bad escape \\${c}`);
    const cp = this.src.codePointAt(this.pos - 1)!;
    if (cp > 0xffff) this.pos++;
    return cp;
  }

  private parseClass(): Node {
    this.pos++;
    const set: CharSet = { ranges: [], escapes: [], negated: false };
    if (this.peek() === '^') {
      set.negated = true;
      this.pos++;
    }
    let first = true;
    for (;;) {
      const c = this.peek();
      if (c === undefined) throw this.fail('unterminated character set');
      if (c === ']' && !first) {
        this.pos++;
        break;
      }
      first = false;
      const lo = this.classAtom(set);
      if (lo === null) {
        // `[\d-z]`: a shorthand cannot start a range.
        if (this.peek() === '-' && this.src[this.pos + 1] !== ']' && this.src[this.pos + 1] !== undefined)
          throw this.fail('bad character range');
        continue;
      }
      if (this.peek() === '-' && this.src[this.pos + 1] !== ']' && this.src[this.pos + 1] !== undefined) {
        this.pos++;
        const hi = this.classAtom(set);
        if (hi === null) throw this.fail('bad character range');
        if (hi < lo) throw this.fail('bad character range');
        set.ranges.push(lo, hi);
      } else set.ranges.push(lo, lo);
    }
    return { t: 'set', set, ci: this.ci };
  }

  /** One member of a class: a code point, or null when it was a shorthand such as \w (added to `set`). */
  private classAtom(set: CharSet): number | null {
    const c = this.src[this.pos]!;
    if (c !== '\\') {
      const cp = this.src.codePointAt(this.pos)!;
      this.pos += cp > 0xffff ? 2 : 1;
      return cp;
    }
    this.pos++;
    const e = this.src[this.pos];
    if (e === undefined) throw this.fail('bad escape (end of pattern)');
    this.pos++;
    if ('wWdDsS'.includes(e)) {
      set.escapes.push(e as ClassEscape);
      return null;
    }
    if (e === 'b') return 8;
    if (/[1-9]/.test(e)) throw this.fail('octal escapes in a character set are not supported');
    return this.escapedCodePoint(e);
  }
}

/**
 * A Thompson-NFA matcher (Pike VM without submatches). It advances every live state in lock step, one
 * character at a time, and visits each state at most once per position, so a search costs
 * O(text length x program size) whatever the pattern: there is no backtracking to blow up. The
 * program size is bounded before it is built (cost.ts, MAX_AUTOMATON_STATES in index.ts).
 */
import type { AssertKind, CharSet, Flags, Node } from './ast.js';
import { candidatesOf, setKey, setTest, wordTest } from './chars.js';

const CHAR = 0;
const SPLIT = 1;
const JMP = 2;
const ASSERT = 3;
const MATCH = 4;

// Assertion kinds as numbers, for the inner loop.
const BEGIN = 0;
const END = 1;
const END_OR_FINAL_NEWLINE = 2;
const LINE_START = 3;
const LINE_END = 4;
const WORD = 5;
const NOT_WORD = 6;
const ASSERT_CODE: Record<AssertKind, number> = {
  begin: BEGIN,
  end: END,
  endOrFinalNewline: END_OR_FINAL_NEWLINE,
  lineStart: LINE_START,
  lineEnd: LINE_END,
  word: WORD,
  notWord: NOT_WORD,
};

export interface Span {
  start: number;
  end: number;
}

export class NfaMatcher {
  /** Instructions in the program: the automaton's states (what cost.ts's automatonStates predicts). */
  readonly states: number;
  private readonly op: Int32Array;
  private readonly x: Int32Array;
  private readonly y: Int32Array;
  /** Membership tests, one per distinct set; `x` of a CHAR is its index here. */
  private readonly tests: ((cp: number) => boolean)[];
  /** `asciiOk[test * 128 + c]`: the tests' answers for ASCII, read without a call. */
  private readonly asciiOk: Uint8Array;
  private readonly isWord: (cp: number) => boolean;
  private readonly entry: number;
  // Work lists, allocated once per pattern: a rubric searches every line of every transcript, and
  // allocating them per search was most of the matcher's cost. `find` is synchronous, so one set is
  // enough; `onList` marks states with a generation number that only grows, so it needs no clearing.
  private readonly lists: [Int32Array, Int32Array, Int32Array, Int32Array];
  private readonly onList: Int32Array;
  private readonly stack: Int32Array;
  private generation = 0;
  /** Finds the next position where a match could start, when no attempt is alive (see find). */
  private readonly skip: RegExp | null;

  constructor(node: Node, flags: Flags) {
    const b = new Builder(flags);
    // Entry is the program's first instruction in the simulation.
    this.entry = b.emit(node, b.add(MATCH, 0, 0));
    const n = b.ops.length;
    this.states = n;
    this.op = Int32Array.from(b.ops);
    this.x = Int32Array.from(b.xs);
    this.y = Int32Array.from(b.ys);
    this.tests = b.tests;
    this.asciiOk = new Uint8Array(b.tests.length * 128);
    b.tests.forEach((test, t) => {
      for (let c = 0; c < 128; c++) this.asciiOk[t * 128 + c] = test(c) ? 1 : 0;
    });
    this.isWord = wordTest(flags.ascii);
    this.skip = firstCharSkipper(this.entry, this.op, this.x, this.y, this.tests, b.sets, flags.ascii);
    this.lists = [new Int32Array(n), new Int32Array(n), new Int32Array(n), new Int32Array(n)];
    this.onList = new Int32Array(n).fill(-1);
    this.stack = new Int32Array(n * 2 + 2);
  }

  /** The first match at or after `from`, as Python would report it (leftmost, then by priority), or null. */
  find(text: string, from: number): Span | null {
    const { onList, op, x, y, tests, asciiOk } = this;
    let [clist, cstart, nlist, nstart] = this.lists;
    if (this.generation > 0x3fffffff) {
      onList.fill(-1);
      this.generation = 0;
    }
    let ccount = 0;
    let ncount = 0;
    const len = text.length;
    let pos = from;
    let prev = pos > 0 ? codePointBefore(text, pos) : -1;
    let gen = ++this.generation;
    let matched: Span | null = null;

    for (;;) {
      if (ccount === 0 && matched === null && this.skip) {
        // No attempt alive: jump (at native speed) to the next character a match can start with.
        this.skip.lastIndex = pos;
        const found = this.skip.exec(text);
        if (!found) {
          this.generation = gen;
          return null;
        }
        if (found.index > pos) {
          pos = found.index;
          prev = codePointBefore(text, pos);
        }
      }
      const next = pos < len ? text.codePointAt(pos)! : -1;
      // A new attempt starts at every position, after (so with lower priority than) the older ones.
      if (matched === null)
        ccount = this.add(clist, cstart, ccount, this.entry, pos, pos, prev, next, text, gen);
      else if (ccount === 0) {
        this.generation = gen;
        return matched;
      }
      const width = next > 0xffff ? 2 : 1;
      gen++;
      ncount = 0;
      const nextPos = pos + width;
      const after = nextPos < len ? text.codePointAt(nextPos)! : -1;
      const ascii = next >= 0 && next < 128;
      for (let i = 0; i < ccount; i++) {
        const pc = clist[i]!;
        if (op[pc] === MATCH) {
          // Threads after this one have lower priority (later start, or a less preferred path): drop them.
          matched = { start: cstart[i]!, end: pos };
          break;
        }
        if (next < 0) continue;
        const t = x[pc]!;
        if (ascii ? asciiOk[t * 128 + next] === 1 : tests[t]!(next)) {
          // Closure at the next position, where the character before is `next`.
          ncount = this.add(nlist, nstart, ncount, y[pc]!, cstart[i]!, nextPos, next, after, text, gen);
        }
      }
      if (next < 0) {
        this.generation = gen;
        return matched;
      }
      prev = next;
      pos = nextPos;
      [clist, nlist] = [nlist, clist];
      [cstart, nstart] = [nstart, cstart];
      ccount = ncount;
    }
  }

  /**
   * Adds `pc0` and everything reachable from it without consuming a character, in priority order.
   * `at`/`before`/`next`: the position the states are added at, and the characters around it; `gen`:
   * the generation that marks a state as on the list. A method, not a closure made per search: a
   * rubric searches every turn of every transcript.
   */
  private add(
    list: Int32Array,
    starts: Int32Array,
    count: number,
    pc0: number,
    start: number,
    at: number,
    before: number,
    next: number,
    text: string,
    gen: number,
  ): number {
    const { onList, stack, op, x, y } = this;
    let sp = 0;
    stack[sp++] = pc0;
    while (sp > 0) {
      const pc = stack[--sp]!;
      if (onList[pc] === gen) continue;
      onList[pc] = gen;
      const o = op[pc]!;
      if (o === JMP) stack[sp++] = x[pc]!;
      else if (o === SPLIT) {
        stack[sp++] = y[pc]!;
        stack[sp++] = x[pc]!;
      } else if (o === ASSERT) {
        if (this.holds(x[pc]!, text, at, before, next)) stack[sp++] = y[pc]!;
      } else {
        list[count] = pc;
        starts[count] = start;
        count++;
      }
    }
    return count;
  }

  private holds(kind: number, text: string, pos: number, prev: number, next: number): boolean {
    switch (kind) {
      case BEGIN:
        return pos === 0;
      case END:
        return next < 0;
      case END_OR_FINAL_NEWLINE:
        return next < 0 || (next === 10 && pos === text.length - 1);
      case LINE_START:
        return prev < 0 || prev === 10;
      case LINE_END:
        return next < 0 || next === 10;
      default: {
        const a = prev >= 0 && this.isWord(prev);
        const b = next >= 0 && this.isWord(next);
        return (a !== b) === (kind === WORD);
      }
    }
  }
}

/**
 * A regex for the characters a match can start with, or null when that does not narrow much (or the
 * pattern can match the empty string, which can start anywhere). It accepts exactly what the
 * matcher's own first-character tests accept in the BMP (their candidates, checked one by one with
 * the tests themselves) and every astral character, to be safe: skipping to its next hit never skips
 * a possible match. The work is proportional to the candidates, not to the 65,536 BMP code points
 * per test: asking every test about every code point made loading a rubric of many patterns slow.
 */
function firstCharSkipper(
  entry: number,
  op: Int32Array,
  x: Int32Array,
  y: Int32Array,
  tests: ((cp: number) => boolean)[],
  sets: { set: CharSet; ci: boolean }[],
  ascii: boolean,
): RegExp | null {
  const first = new Set<number>();
  const seen = new Set<number>();
  const stack = [entry];
  while (stack.length > 0) {
    const pc = stack.pop()!;
    if (seen.has(pc)) continue;
    seen.add(pc);
    const o = op[pc]!;
    if (o === MATCH) return null;
    if (o === CHAR) first.add(x[pc]!);
    else if (o === JMP) stack.push(x[pc]!);
    else if (o === SPLIT) stack.push(x[pc]!, y[pc]!);
    // An assertion is zero-width: look through it (being generous only costs a little skipping).
    else if (o === ASSERT) stack.push(y[pc]!);
  }
  const LIMIT = 4096;
  const accepted = new Set<number>();
  for (const t of first) {
    const candidates = candidatesOf(sets[t]!.set, sets[t]!.ci, ascii, LIMIT);
    if (candidates === null) return null; // not selective enough to pay off
    const test = tests[t]!;
    for (const c of candidates) if (test(c)) accepted.add(c);
    if (accepted.size > LIMIT) return null;
  }
  const sorted = [...accepted].sort((a, b) => a - b);
  const ranges: string[] = [];
  for (let i = 0; i < sorted.length; ) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j]! + 1) j++;
    const lo = sorted[i]!;
    const hi = sorted[j]!;
    ranges.push(lo === hi ? `\\u{${lo.toString(16)}}` : `\\u{${lo.toString(16)}}-\\u{${hi.toString(16)}}`);
    if (ranges.length > 64) return null;
    i = j + 1;
  }
  ranges.push('\\u{10000}-\\u{10ffff}');
  return new RegExp(`[${ranges.join('')}]`, 'gu');
}

function codePointBefore(text: string, pos: number): number {
  const c = text.charCodeAt(pos - 1);
  if (c >= 0xdc00 && c <= 0xdfff && pos >= 2) {
    const h = text.charCodeAt(pos - 2);
    if (h >= 0xd800 && h <= 0xdbff) return (h - 0xd800) * 0x400 + (c - 0xdc00) + 0x10000;
  }
  return c;
}

/** Emits instructions back to front: `emit(node, next)` returns the entry of code that continues at `next`. */
class Builder {
  ops: number[] = [];
  xs: number[] = [];
  ys: number[] = [];
  tests: ((cp: number) => boolean)[] = [];
  /** The set behind each test, for firstCharSkipper. */
  sets: { set: CharSet; ci: boolean }[] = [];
  private readonly testIndex = new Map<string, number>();

  constructor(private readonly flags: Flags) {}

  add(op: number, x: number, y: number): number {
    this.ops.push(op);
    this.xs.push(x);
    this.ys.push(y);
    return this.ops.length - 1;
  }

  /** One test per distinct set: `(.*a){20}` has 20 copies of each of its two sets. */
  private testFor(set: CharSet, ci: boolean): number {
    const { dotAll, ascii } = this.flags;
    const key = setKey(set, ci, dotAll, ascii);
    let index = this.testIndex.get(key);
    if (index === undefined) {
      index = this.tests.length;
      this.tests.push(setTest(set, ci, dotAll, ascii));
      this.sets.push({ set, ci });
      this.testIndex.set(key, index);
    }
    return index;
  }

  emit(node: Node, next: number): number {
    switch (node.t) {
      case 'set':
        return this.add(CHAR, this.testFor(node.set, node.ci), next);
      case 'assert':
        return this.add(ASSERT, ASSERT_CODE[node.kind], next);
      case 'seq': {
        let pc = next;
        for (let i = node.items.length - 1; i >= 0; i--) pc = this.emit(node.items[i]!, pc);
        return pc === next && node.items.length === 0 ? this.add(JMP, next, 0) : pc;
      }
      case 'alt': {
        // Each alternative continues at `next`; a chain of splits tries them in order.
        let pc = this.emit(node.alts[node.alts.length - 1]!, next);
        for (let i = node.alts.length - 2; i >= 0; i--)
          pc = this.add(SPLIT, this.emit(node.alts[i]!, next), pc);
        return pc;
      }
      case 'repeat': {
        let pc = next;
        if (Number.isFinite(node.max)) {
          for (let i = node.min; i < node.max; i++) {
            const body = this.emit(node.node, pc);
            pc = node.lazy ? this.add(SPLIT, next, body) : this.add(SPLIT, body, next);
          }
          // Optional copies nest: x{1,3} = x(x(x)?)?; each split may skip straight to `next`.
        } else {
          const loop = this.add(SPLIT, 0, next);
          const body = this.emit(node.node, loop);
          if (node.lazy) {
            this.xs[loop] = next;
            this.ys[loop] = body;
          } else this.xs[loop] = body;
          pc = loop;
        }
        for (let i = 0; i < node.min; i++) pc = this.emit(node.node, pc);
        return pc;
      }
    }
  }
}

/**
 * A Thompson-NFA matcher (Pike VM without submatches). It advances every live state in lock step, one
 * character at a time, and visits each state at most once per position, so a search costs
 * O(text length x program size) whatever the pattern: there is no backtracking to blow up.
 */
import type { AssertKind, Flags, Node } from './ast.js';
import { PatternError } from './ast.js';
import { setTest, wordTest } from './chars.js';

const CHAR = 0;
const SPLIT = 1;
const JMP = 2;
const ASSERT = 3;
const MATCH = 4;

/** Upper bound on program size, reached by large counted repetitions such as `(.*a){900}`. */
const MAX_PROGRAM = 20_000;

export interface Span {
  start: number;
  end: number;
}

export class NfaMatcher {
  private readonly op: Int32Array;
  private readonly x: Int32Array;
  private readonly y: Int32Array;
  private readonly tests: ((cp: number) => boolean)[];
  private readonly asserts: AssertKind[];
  private readonly isWord: (cp: number) => boolean;
  private readonly size: number;

  constructor(node: Node, flags: Flags) {
    const b = new Builder(flags);
    const entry = b.emit(node, b.add(MATCH, 0, 0));
    // Entry is the program's first instruction in the simulation.
    this.size = b.ops.length;
    this.op = Int32Array.from(b.ops);
    this.x = Int32Array.from(b.xs);
    this.y = Int32Array.from(b.ys);
    this.tests = b.tests;
    this.asserts = b.asserts;
    this.entry = entry;
    this.isWord = wordTest(flags.ascii);
    this.skip = firstCharSkipper(this.entry, this.op, this.x, this.y, this.tests);
    const n = this.size;
    this.buffers = {
      lists: [new Int32Array(n), new Int32Array(n), new Int32Array(n), new Int32Array(n)],
      onList: new Int32Array(n).fill(-1),
      stack: new Int32Array(n * 2 + 2),
    };
  }

  private readonly entry: number;
  // Work lists, allocated once per pattern: a rubric searches every line of every transcript, and
  // allocating them per search was most of the matcher's cost. `find` is synchronous, so one set is
  // enough; `onList` marks states with a generation number that only grows, so it needs no clearing.
  private readonly buffers: { lists: Int32Array[]; onList: Int32Array; stack: Int32Array };
  private generation = 0;
  /** Finds the next position where a match could start, when no attempt is alive (see below). */
  private readonly skip: RegExp | null;

  /** The first match at or after `from`, as Python would report it (leftmost, then by priority), or null. */
  find(text: string, from: number): Span | null {
    const { lists, onList, stack } = this.buffers;
    let [clist, cstart, nlist, nstart] = lists as [Int32Array, Int32Array, Int32Array, Int32Array];
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

    // Adds `pc` and everything reachable from it without consuming a character, in priority order.
    const add = (
      list: Int32Array,
      starts: Int32Array,
      count: number,
      pc0: number,
      start: number,
      next: number,
    ) => {
      let sp = 0;
      stack[sp++] = pc0;
      while (sp > 0) {
        const pc = stack[--sp]!;
        if (onList[pc] === gen) continue;
        onList[pc] = gen;
        const o = this.op[pc]!;
        if (o === JMP) stack[sp++] = this.x[pc]!;
        else if (o === SPLIT) {
          stack[sp++] = this.y[pc]!;
          stack[sp++] = this.x[pc]!;
        } else if (o === ASSERT) {
          if (this.holds(this.asserts[this.x[pc]!]!, text, pos, prev, next)) stack[sp++] = this.y[pc]!;
        } else {
          list[count] = pc;
          starts[count] = start;
          count++;
        }
      }
      return count;
    };

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
      if (matched === null) ccount = add(clist, cstart, ccount, this.entry, pos, next);
      else if (ccount === 0) {
        this.generation = gen;
        return matched;
      }
      const width = next > 0xffff ? 2 : 1;
      gen++;
      ncount = 0;
      const nextPos = pos + width;
      const after = nextPos < len ? text.codePointAt(nextPos)! : -1;
      for (let i = 0; i < ccount; i++) {
        const pc = clist[i]!;
        const o = this.op[pc]!;
        if (o === MATCH) {
          // Threads after this one have lower priority (later start, or a less preferred path): drop them.
          matched = { start: cstart[i]!, end: pos };
          break;
        }
        if (next >= 0 && this.tests[this.x[pc]!]!(next)) {
          // Closure at the next position: `prev` there is `next`, so shift the context for assertions.
          const savedPrev = prev;
          const savedPos = pos;
          prev = next;
          pos = nextPos;
          ncount = add(nlist, nstart, ncount, this.y[pc]!, cstart[i]!, after);
          prev = savedPrev;
          pos = savedPos;
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

  private holds(kind: AssertKind, text: string, pos: number, prev: number, next: number): boolean {
    switch (kind) {
      case 'begin':
        return pos === 0;
      case 'end':
        return next < 0;
      case 'endOrFinalNewline':
        return next < 0 || (next === 10 && pos === text.length - 1);
      case 'lineStart':
        return prev < 0 || prev === 10;
      case 'lineEnd':
        return next < 0 || next === 10;
      case 'word':
      case 'notWord': {
        const a = prev >= 0 && this.isWord(prev);
        const b = next >= 0 && this.isWord(next);
        return (a !== b) === (kind === 'word');
      }
    }
  }
}

/**
 * A regex for the characters a match can start with, or null when that does not narrow much (or the
 * pattern can match the empty string, which can start anywhere). Built by asking the matcher's own
 * first-character tests about every BMP code point, so it accepts exactly what they accept there (and
 * every astral character, to be safe): skipping to its next hit never skips a possible match.
 */
function firstCharSkipper(
  entry: number,
  op: Int32Array,
  x: Int32Array,
  y: Int32Array,
  tests: ((cp: number) => boolean)[],
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
  const checks = [...first].map((i) => tests[i]!);
  const ranges: string[] = [];
  let accepted = 0;
  for (let cp = 0; cp <= 0xffff; cp++) {
    if (!checks.some((t) => t(cp))) continue;
    let end = cp;
    while (end < 0xffff && checks.some((t) => t(end + 1))) end++;
    accepted += end - cp + 1;
    ranges.push(end === cp ? `\\u{${cp.toString(16)}}` : `\\u{${cp.toString(16)}}-\\u{${end.toString(16)}}`);
    cp = end;
    if (ranges.length > 64 || accepted > 4096) return null; // not selective enough to pay off
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
  asserts: AssertKind[] = [];

  constructor(private readonly flags: Flags) {}

  add(op: number, x: number, y: number): number {
    if (this.ops.length >= MAX_PROGRAM) {
      throw new PatternError('pattern is too large once its counted repetitions are expanded');
    }
    this.ops.push(op);
    this.xs.push(x);
    this.ys.push(y);
    return this.ops.length - 1;
  }

  emit(node: Node, next: number): number {
    switch (node.t) {
      case 'set': {
        this.tests.push(setTest(node.set, node.ci, this.flags.dotAll, this.flags.ascii));
        return this.add(CHAR, this.tests.length - 1, next);
      }
      case 'assert':
        this.asserts.push(node.kind);
        return this.add(ASSERT, this.asserts.length - 1, next);
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

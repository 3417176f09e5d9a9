/**
 * What a pattern costs to search, computed from its AST before anything is built, so that a pattern
 * too expensive to run is refused at load in time linear in the pattern (counted repetitions are
 * multiplied out arithmetically, never expanded).
 *
 * Two measures, one per engine (see index.ts):
 * - `backtrackWork`: for a pattern without unbounded repetition, an upper bound on the steps a
 *   backtracking engine (V8's) takes at one start position to try every way the pattern can match
 *   there. Trying a sequence `A B` costs trying A, plus trying B once per way A matched; an
 *   alternation costs the sum of its branches; a character or an assertion costs one step.
 * - `automatonStates`: the size of the Thompson automaton nfa.ts builds (instructions, exactly as its
 *   Builder emits them). The automaton visits each state at most once per character of text, so this
 *   bounds its work per character.
 */
import type { Node } from './ast.js';

/** Saturation value: "more than any limit". Keeps the arithmetic finite and exact below it. */
const HUGE = 1e15;

const cap = (n: number) => Math.min(n, HUGE);

interface Work {
  /** Ways the node can match at one position (paths through it). */
  ways: number;
  /** Steps to try all of them. */
  steps: number;
}

/** Steps a backtracking engine may take per start position; null when the pattern repeats without bound. */
export function backtrackWork(node: Node): number | null {
  const w = work(node);
  return w === null ? null : w.steps;
}

function work(node: Node): Work | null {
  switch (node.t) {
    case 'set':
    case 'assert':
      return { ways: 1, steps: 1 };
    case 'seq': {
      let acc: Work = { ways: 1, steps: 0 };
      for (const item of node.items) {
        const w = work(item);
        if (!w) return null;
        acc = then(acc, w);
      }
      return acc;
    }
    case 'alt': {
      let ways = 0;
      let steps = 0;
      for (const alt of node.alts) {
        const w = work(alt);
        if (!w) return null;
        ways = cap(ways + w.ways);
        steps = cap(steps + w.steps);
      }
      return { ways, steps };
    }
    case 'repeat': {
      if (!Number.isFinite(node.max)) return null;
      const body = work(node.node);
      if (!body) return null;
      // x{m,n} = m copies of x, then (x(x(...)?)?)? nested n-m deep: each optional copy is one more
      // choice (take it or stop). Built inside out; saturated values stop changing, so stop early.
      let optional: Work = { ways: 1, steps: 0 };
      for (let i = node.min; i < node.max && optional.steps < HUGE; i++) {
        const taken = then(body, optional);
        optional = { ways: cap(taken.ways + 1), steps: cap(taken.steps + 1) };
      }
      let acc: Work = { ways: 1, steps: 0 };
      for (let i = 0; i < node.min && acc.steps < HUGE; i++) acc = then(acc, body);
      return then(acc, optional);
    }
  }
}

/** `a` followed by `b`: every way `a` matches goes on to try all of `b`. */
function then(a: Work, b: Work): Work {
  return { ways: cap(a.ways * b.ways), steps: cap(a.steps + a.ways * b.steps) };
}

/** Instructions of the automaton nfa.ts builds for `node`, its final MATCH included. */
export function automatonStates(node: Node): number {
  return cap(states(node) + 1);
}

function states(node: Node): number {
  switch (node.t) {
    case 'set':
    case 'assert':
      return 1;
    case 'seq': {
      if (node.items.length === 0) return 1; // a JMP
      let n = 0;
      for (const item of node.items) n = cap(n + states(item));
      return n;
    }
    case 'alt': {
      // Each alternative, plus one SPLIT between every two.
      let n = node.alts.length - 1;
      for (const alt of node.alts) n = cap(n + states(alt));
      return n;
    }
    case 'repeat': {
      const body = states(node.node);
      // min mandatory copies; then either a loop (one SPLIT around one copy) or one SPLIT per
      // optional copy.
      const tail = Number.isFinite(node.max) ? cap((node.max - node.min) * (body + 1)) : body + 1;
      return cap(node.min * body + tail);
    }
  }
}

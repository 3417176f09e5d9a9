/**
 * scoreTranscript and evaluationComment: a compiled rubric and a transcript in, every rule's outcome,
 * score and evidence out. Pure.
 */

import { isAscii } from './regex/index.js';
import type { Finder, NativeCheck, Rubric, Rule, TutorialCheck, Window } from './rubric.js';
import { findPhrase, formatTime, quote, TranscriptContext } from './transcript.js';
import type { RuleResult, ScoreResult, TranscriptLine } from './types.js';

const MAX_COMMENT = 500;

/** One place a rule's needle was found: line index and span in the line's original text. */
interface Occurrence {
  turn: number;
  start: number;
  end: number;
  needle: number;
}

interface Scan {
  count: number;
  first: Occurrence | null;
  needlesFound: Set<number>;
  /** Which turns were searched, for "not found" evidence. */
  where: string;
  turnsSearched: number;
}

export function scoreTranscript(rubric: Rubric, lines: TranscriptLine[]): ScoreResult {
  const ctx = new TranscriptContext(lines);
  const joined = rubric.shape === 'tutorial' ? joinLines(lines) : null;
  const results: RuleResult[] = [];
  let weighted = 0;
  let totalWeight = 0;
  const criticalFailures: string[] = [];
  for (const rule of rubric.rules) {
    const r =
      rule.check.kind === 'tutorial'
        ? scoreTutorialRule(rule, rule.check, ctx, joined!)
        : scoreNativeRule(rule, rule.check, ctx, rubric);
    results.push(r);
    if (r.outcome === 'na' || r.score === null) continue;
    // Same order of operations as the tutorial's Python, so the float result is identical.
    totalWeight += rule.weight;
    weighted += r.score * rule.weight;
    if (rule.critical && r.outcome === 'fail') criticalFailures.push(`'${rule.name}' (${r.evidence})`);
  }
  const result: ScoreResult = { overallScore: totalWeight > 0 ? weighted / totalWeight : 0, rules: results };
  if (criticalFailures.length > 0) {
    result.overallScore = 0;
    result.criticalFailure = truncate(`critical rule failed: ${criticalFailures.join('; ')}`, 400);
  }
  return result;
}

/** Python's `f"{x:.2f}"`: round half to even on the exact binary value (JS's toFixed rounds ties up). */
export function formatScore(x: number): string {
  const fixed = x.toFixed(2);
  // A tie at the third decimal is only possible when x is an exact multiple of 1/8 (binary fractions).
  if (Number.isInteger(x * 8) && !Number.isInteger(x * 4)) {
    const cents = Math.floor(x * 100);
    const down = (cents / 100).toFixed(2);
    return cents % 2 === 0 ? down : fixed;
  }
  return fixed;
}

export function evaluationComment(rubric: Rubric, result: ScoreResult): string {
  const parts = [
    `Automated compliance evaluation. Composite score: ${formatScore(result.overallScore)}.`,
    `Rubric: ${rubric.name} v${rubric.version} (sha256 ${rubric.hash.slice(0, 12)}).`,
  ];
  if (result.criticalFailure) parts.push(`Score set to 0: ${result.criticalFailure}.`);
  const na = result.rules.filter((r) => r.outcome === 'na').map((r) => r.name);
  if (na.length > 0) parts.push(`Not applicable (not scored): ${na.join(', ')}.`);
  return parts.join(' ');
}

interface Joined {
  text: string;
  offsets: number[];
  ascii: () => boolean;
}

function joinLines(lines: TranscriptLine[]): Joined {
  const offsets: number[] = [];
  let pos = 0;
  const texts = lines.map((l) => {
    const t = String(l.text ?? '');
    offsets.push(pos);
    pos += t.length + 1;
    return t;
  });
  const text = texts.join(' ');
  let ascii: boolean | undefined;
  return { text, offsets, ascii: () => (ascii ??= isAscii(text)) };
}

/** Index of the line containing joined-text position `pos` (binary search over line starts). */
function lineAt(offsets: number[], pos: number): number {
  let lo = 0;
  let hi = offsets.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (offsets[mid]! <= pos) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

function where(ctx: TranscriptContext, turn: number): string {
  const speaker = String(ctx.lines[turn]!.speaker ?? '') || 'unknown speaker';
  const seconds = ctx.ownTimeOf(turn);
  const time = seconds !== null ? `${formatTime(seconds)}, ` : '';
  return `${speaker}, ${time}turn ${turn + 1}`;
}

function itemComment(rule: Rule, comment: string, evidence: string): string {
  return truncate(`[${rule.name.toUpperCase()}] ${comment}. ${evidence}`, MAX_COMMENT);
}

function truncate(s: string, max: number): string {
  return s.length > max ? `${s.slice(0, max - 1)}…` : s;
}

/** The tutorial's semantics: one search over all lines joined by single spaces. */
function scoreTutorialRule(
  rule: Rule,
  check: TutorialCheck,
  ctx: TranscriptContext,
  joined: Joined,
): RuleResult {
  const m = check.matcher.find(joined.text, 0, joined.ascii);
  const score = m ? check.scoreIfPresent : check.scoreIfAbsent;
  const outcome = score >= Math.max(check.scoreIfPresent, check.scoreIfAbsent) ? 'pass' : 'fail';
  let evidence: string;
  if (m && ctx.lines.length === 0) {
    // Python's re.search matches a pattern such as `(hello)?` in the empty text too.
    evidence = 'Matched the empty text (the transcript has no turns)';
  } else if (m) {
    const first = lineAt(joined.offsets, m.start);
    const last = lineAt(joined.offsets, Math.max(m.start, m.end - 1));
    const span =
      first === last ? where(ctx, first) : `across turns ${first + 1}-${last + 1}, from ${where(ctx, first)}`;
    evidence = `Matched ${quote(joined.text.slice(m.start, m.end))} (${span})`;
  } else {
    evidence = `No match for /${truncate(check.pattern, 120)}/ anywhere in the call (${ctx.lines.length} turns)`;
  }
  const comment = m ? rule.passComment : rule.failComment;
  return {
    name: rule.name,
    outcome,
    score,
    weight: rule.weight,
    comment: itemComment(rule, comment, evidence),
    evidence,
  };
}

/** Which turns a finder searches, and how to say so. */
function eligibleTurns(finder: Finder, ctx: TranscriptContext): { turns: number[]; where: string } {
  const n = ctx.lines.length;
  const w: Window | undefined = finder.within;
  let from = 0;
  let to = n; // exclusive
  let inTime: ((i: number) => boolean) | null = null;
  let place = 'anywhere in the call';
  if (w) {
    const seconds = w.firstSeconds ?? w.lastSeconds;
    const turns = w.firstTurns ?? w.lastTurns;
    const first = w.firstSeconds !== undefined || w.firstTurns !== undefined;
    if (seconds !== undefined && ctx.timesUsable) {
      inTime = first ? (i) => ctx.times[i]! <= seconds : (i) => ctx.times[i]! >= ctx.endTime - seconds;
      place = `in the ${first ? 'first' : 'last'} ${seconds} s`;
    } else if (turns !== undefined) {
      if (first) to = Math.min(n, turns);
      else from = Math.max(0, n - turns);
      place = `in the ${first ? 'first' : 'last'} ${turns} turns${seconds !== undefined ? ' (no usable timestamps)' : ''}`;
    } else {
      place = `anywhere in the call (no usable timestamps for the ${first ? 'first' : 'last'} ${seconds} s)`;
    }
  }
  const turns: number[] = [];
  for (let i = from; i < to; i++) {
    if (finder.speaker !== 'any' && ctx.speakers[i] !== finder.speaker) continue;
    if (inTime && !inTime(i)) continue;
    turns.push(i);
  }
  const who = finder.speaker === 'any' ? 'any speaker' : `${finder.speaker} turns`;
  return { turns, where: `${who} ${place}` };
}

/** Finds the finder's needles; only occurrences strictly before `limit` count when it is given. */
function scan(finder: Finder, ctx: TranscriptContext, limit: Occurrence | null, stopAt: number): Scan {
  const { turns, where: place } = eligibleTurns(finder, ctx);
  const result: Scan = {
    count: 0,
    first: null,
    needlesFound: new Set(),
    where: place,
    turnsSearched: turns.length,
  };
  for (const turn of turns) {
    if (limit && turn > limit.turn) break;
    const text = String(ctx.lines[turn]!.text ?? '');
    finder.needles.forEach((needle, ni) => {
      for (const occ of occurrencesIn(needle, ctx, turn, text)) {
        if (limit && turn === limit.turn && occ.start >= limit.start) break;
        const o = { turn, start: occ.start, end: occ.end, needle: ni };
        result.count++;
        result.needlesFound.add(ni);
        if (!result.first || (o.turn === result.first.turn && o.start < result.first.start)) result.first = o;
        // Never list more occurrences than the rule needs: each search may run to the end of the
        // line, so listing all of them in a long turn would be quadratic. Without a count to reach
        // (score levels), the first occurrence of each needle per turn is all that matters.
        if (!Number.isFinite(stopAt) || result.count >= stopAt) break;
      }
    });
    // Whole turns are searched, so the first occurrence in the stopping turn is right.
    if (result.count >= stopAt) break;
  }
  return result;
}

function* occurrencesIn(
  needle: Finder['needles'][number],
  ctx: TranscriptContext,
  turn: number,
  text: string,
): Generator<{ start: number; end: number }> {
  if (needle.kind === 'phrase') {
    const folded = ctx.foldedLine(turn);
    const phrase = needle.phrase!;
    let i = findPhrase(folded.text, phrase, 0);
    while (i >= 0) {
      const end = i + phrase.length;
      yield folded.map ? { start: folded.map[i]!, end: folded.map[end]! } : { start: i, end };
      i = findPhrase(folded.text, phrase, end);
    }
    return;
  }
  const ascii = () => ctx.isAsciiLine(turn);
  let from = 0;
  while (from <= text.length) {
    const m = needle.matcher!.find(text, from, ascii);
    if (!m) return;
    yield m;
    from = m.end > m.start ? m.end : m.end + 1;
  }
}

function looked(finder: Finder): string {
  const items = finder.needles.map((n) =>
    n.kind === 'phrase' ? quote(n.label, 60) : `/${truncate(n.label, 60)}/`,
  );
  return truncate(items.join(', '), 200);
}

function describeOccurrence(ctx: TranscriptContext, o: Occurrence): string {
  const text = String(ctx.lines[o.turn]!.text ?? '');
  return `${quote(text.slice(o.start, o.end))} (${where(ctx, o.turn)})`;
}

/** The first occurrence of another rule's needles, for `before:`; memoized per transcript. */
function firstOf(rubric: Rubric, index: number | undefined, ctx: TranscriptContext): Occurrence | null {
  const key = `first:${index}`;
  if (ctx.memo.has(key)) return ctx.memo.get(key) as Occurrence | null;
  const other = index === undefined ? undefined : rubric.rules[index];
  const first = other && other.check.kind === 'native' ? scan(other.check.finder, ctx, null, 1).first : null;
  ctx.memo.set(key, first);
  return first;
}

function scoreNativeRule(rule: Rule, check: NativeCheck, ctx: TranscriptContext, rubric: Rubric): RuleResult {
  const base = { name: rule.name, weight: rule.weight };
  let condition = '';
  if (check.appliesIf) {
    const cond = scan(check.appliesIf, ctx, null, 1);
    if (!cond.first) {
      const evidence = `Not applicable: condition not met (looked for ${looked(check.appliesIf)} in ${cond.where}: not found)`;
      return {
        ...base,
        outcome: 'na',
        score: null,
        comment: itemComment(rule, 'Not applicable', evidence),
        evidence,
      };
    }
    condition = `; applies because of ${describeOccurrence(ctx, cond.first)}`;
  }
  const limit = check.before ? firstOf(rubric, check.beforeIndex, ctx) : null;
  const wantAll = check.scoreLevels !== undefined;
  const found = scan(check.finder, ctx, limit, wantAll ? Number.POSITIVE_INFINITY : check.minCount);
  let score: number;
  let evidence: string;
  const firstText = found.first ? describeOccurrence(ctx, found.first) : '';
  const beforeNote =
    check.before && limit ? ` before '${check.before}' first matched (${where(ctx, limit.turn)})` : '';
  if (check.scoreLevels) {
    const n = found.needlesFound.size;
    score = check.scoreLevels.find((l) => n >= l.atLeast)?.score ?? 0;
    const missing = check.finder.needles.filter((_, i) => !found.needlesFound.has(i));
    evidence = `Found ${n} of ${check.finder.needles.length} in ${found.where}${beforeNote}`;
    if (found.first) evidence += `, first ${firstText}`;
    if (missing.length > 0) evidence += `; missing ${looked({ ...check.finder, needles: missing })}`;
  } else {
    const hit = found.count >= check.minCount;
    score = hit === (check.mode === 'must') ? 100 : 0;
    const times =
      check.minCount > 1
        ? ` ${found.count >= check.minCount ? 'at least ' : ''}${found.count} time(s), ${check.minCount} needed,`
        : '';
    if (found.first) {
      evidence = `Found${times} ${firstText}${beforeNote ? ` —${beforeNote}` : ''}`;
    } else {
      evidence = `Not found: looked for ${looked(check.finder)} in ${found.where}${beforeNote}`;
      if (check.before && limit) {
        const later = scan(check.finder, ctx, null, 1).first;
        if (later) {
          evidence = `Found only after '${check.before}' first matched (${where(ctx, limit.turn)}): ${describeOccurrence(ctx, later)}`;
        }
      }
    }
  }
  const outcome = score > 0 ? 'pass' : 'fail';
  const comment = outcome === 'pass' ? rule.passComment : rule.failComment;
  evidence = truncate(evidence + condition, 380);
  return { ...base, outcome, score, comment: itemComment(rule, comment, evidence), evidence };
}

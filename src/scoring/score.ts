/**
 * scoreTranscript and evaluationComment: a compiled rubric and a transcript in, every rule's outcome,
 * score and evidence out. Pure.
 */

import { isAscii } from './regex/index.js';
import type { Finder, NativeCheck, Rubric, Rule, TutorialCheck, Window } from './rubric.js';
import { findPhrase, formatTime, quote, TranscriptContext } from './transcript.js';
import type { JoinedText, RuleResult, ScoreResult, TranscriptLine } from './types.js';

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

/**
 * `joinedText`, when the caller has it, must be what joining `lines` gives (every line's text, joined
 * by single spaces, and where each starts): a reader that takes the texts from a file's bytes builds
 * it as it reads (readConversationBytes), and the tutorial's shape then searches it as it is.
 */
export function scoreTranscript(
  rubric: Rubric,
  lines: TranscriptLine[],
  joinedText?: JoinedText,
): ScoreResult {
  return score(rubric, lines, true, joinedText);
}

/**
 * Every rule's outcome and score and the composite, exactly as scoreTranscript gives them, without
 * the evidence and comments (empty strings; a critical failure names its rules only). For a backtest,
 * which compares outcomes over thousands of transcripts and shows no evidence: quoting, locating and
 * describing every rule's finding was a fifth of the scoring's time.
 */
export function scoreOutcomes(rubric: Rubric, lines: TranscriptLine[]): ScoreResult {
  return score(rubric, lines, false);
}

function score(
  rubric: Rubric,
  lines: TranscriptLine[],
  evidence: boolean,
  joinedText?: JoinedText,
): ScoreResult {
  const ctx = new TranscriptContext(lines);
  const joined = rubric.shape === 'tutorial' ? (joinedText ? withAscii(joinedText) : joinLines(lines)) : null;
  const results: RuleResult[] = [];
  let weighted = 0;
  let totalWeight = 0;
  const criticalFailures: string[] = [];
  for (const rule of rubric.rules) {
    const r =
      rule.check.kind === 'tutorial'
        ? scoreTutorialRule(rule, rule.check, ctx, joined!, evidence)
        : scoreNativeRule(rule, rule.check, ctx, rubric, evidence);
    results.push(r);
    if (r.outcome === 'na' || r.score === null) continue;
    // Same order of operations as the tutorial's Python, so the float result is identical.
    totalWeight += rule.weight;
    weighted += r.score * rule.weight;
    if (rule.critical && r.outcome === 'fail')
      criticalFailures.push(evidence ? `'${rule.name}' (${r.evidence})` : `'${rule.name}'`);
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
  let comment = `Automated compliance evaluation. Composite score: ${formatScore(result.overallScore)}. ${rubricLabel(rubric)}`;
  if (result.criticalFailure) comment += ` Score set to 0: ${result.criticalFailure}.`;
  let na = '';
  for (const r of result.rules) if (r.outcome === 'na') na += na === '' ? r.name : `, ${r.name}`;
  if (na !== '') comment += ` Not applicable (not scored): ${na}.`;
  return comment;
}

// Written once per rubric and per rule rather than for every conversation (a compiled rubric does
// not change): the scorer's output is most of what `qm score` spends its time on after reading.
const rubricLabels = new WeakMap<Rubric, string>();
const ruleLabels = new WeakMap<Rule, string>();

function rubricLabel(rubric: Rubric): string {
  let label = rubricLabels.get(rubric);
  if (label === undefined) {
    label = `Rubric: ${rubric.name} v${rubric.version} (sha256 ${rubric.hash.slice(0, 12)}).`;
    rubricLabels.set(rubric, label);
  }
  return label;
}

/** `[NAME]`, how an item's comment starts. */
function ruleLabel(rule: Rule): string {
  let label = ruleLabels.get(rule);
  if (label === undefined) {
    label = `[${rule.name.toUpperCase()}]`;
    ruleLabels.set(rule, label);
  }
  return label;
}

interface Joined extends JoinedText {
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
  return withAscii({ text: texts.join(' '), offsets });
}

function withAscii({ text, offsets }: JoinedText): Joined {
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
  return truncate(`${ruleLabel(rule)} ${comment}. ${evidence}`, MAX_COMMENT);
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
  withEvidence: boolean,
): RuleResult {
  const m = check.matcher.find(joined.text, 0, joined.ascii);
  const score = m ? check.scoreIfPresent : check.scoreIfAbsent;
  const outcome = score >= Math.max(check.scoreIfPresent, check.scoreIfAbsent) ? 'pass' : 'fail';
  if (!withEvidence)
    return { name: rule.name, outcome, score, weight: rule.weight, comment: '', evidence: '' };
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

/** The turns a finder searches, how to say so, and (for phrases) their folded text joined. */
interface Eligible {
  turns: number[];
  where: string;
  joined?: JoinedTurns;
}

/**
 * The folded text of some turns joined by `\n`, and where each turn starts in it. Folding turns
 * every whitespace into a space, so neither a folded line nor a folded phrase holds a `\n`: a
 * phrase never matches across two turns, and next to a `\n` its word-boundary test sees a non-word
 * character, as it does at either end of a line. So one search of the joined text finds exactly the
 * occurrences the turns searched one by one would, at a fraction of the calls.
 */
interface JoinedTurns {
  text: string;
  starts: number[];
}

/** Which turns a finder searches, and how to say so; memoized per transcript (rules share windows). */
function eligibleTurns(finder: Finder, ctx: TranscriptContext): Eligible {
  const mine = ctx.byFinder.get(finder) as Eligible | undefined;
  if (mine) return mine;
  const w: Window | undefined = finder.within;
  const key = w
    ? `turns:${finder.speaker}:${w.firstSeconds}:${w.lastSeconds}:${w.firstTurns}:${w.lastTurns}`
    : `turns:${finder.speaker}`;
  const memo = ctx.memo.get(key) as Eligible | undefined;
  if (memo) {
    ctx.byFinder.set(finder, memo);
    return memo;
  }
  const n = ctx.lines.length;
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
  const eligible: Eligible = { turns, where: `${who} ${place}` };
  ctx.memo.set(key, eligible);
  ctx.byFinder.set(finder, eligible);
  return eligible;
}

function joinedText(eligible: Eligible, ctx: TranscriptContext): JoinedTurns {
  if (eligible.joined) return eligible.joined;
  const texts: string[] = [];
  const starts: number[] = [];
  let at = 0;
  for (const turn of eligible.turns) {
    const text = ctx.foldedLine(turn).text;
    starts.push(at);
    texts.push(text);
    at += text.length + 1;
  }
  eligible.joined = { text: texts.join('\n'), starts };
  return eligible.joined;
}

/**
 * Finds the finder's needles; only occurrences strictly before `limit` count when it is given.
 *
 * Turns are taken in order, and in each turn the needles in order, each needle's occurrences in
 * order. Never more occurrences are listed than the rule needs: each search may run to the end of
 * the line, so listing all of them in a long turn would be quadratic. Without a count to reach
 * (score levels), the first occurrence of each needle per turn is all that matters; with one, the
 * scan stops at the end of the turn that reaches it.
 *
 * Phrases are searched in the eligible turns' joined folded text (JoinedTurns), each needle keeping
 * where its next occurrence is; patterns run on each turn's own text, as written.
 */
function scan(finder: Finder, ctx: TranscriptContext, limit: Occurrence | null, stopAt: number): Scan {
  const eligible = eligibleTurns(finder, ctx);
  const { turns } = eligible;
  const result: Scan = {
    count: 0,
    first: null,
    needlesFound: new Set(),
    where: eligible.where,
    turnsSearched: turns.length,
  };
  const needles = finder.needles;
  const each = !Number.isFinite(stopAt);
  let phrases: PhraseCursors | null = null;
  let patterns = false;
  for (let ni = 0; ni < needles.length; ni++) {
    const needle = needles[ni]!;
    if (needle.kind !== 'phrase') {
      patterns = true;
      continue;
    }
    if (!phrases) {
      const joined = joinedText(eligible, ctx);
      phrases = { joined, hay: joined.text, nextAt: [], nextTurn: [] };
      // Nothing after the limit's turn counts.
      if (limit) narrowTo(phrases, lastTurnUpTo(turns, limit.turn));
    }
    seekPhrase(phrases, needle.phrase!, 0, ni);
    // When one occurrence ends the scan, it ends with the first turn that has one: no later needle
    // need be searched past that turn.
    if (stopAt === 1 && phrases.nextTurn[ni]! >= 0) narrowTo(phrases, phrases.nextTurn[ni]!);
  }
  // Whether the turn being searched is ASCII, asked by a pattern only when it helps.
  let current = 0;
  const ascii = () => ctx.isAsciiLine(current);
  for (let k = 0; k < turns.length; k++) {
    if (!patterns) {
      // Only phrases: go straight to the next turn where one occurs.
      let next = -1;
      for (let ni = 0; ni < needles.length; ni++) {
        const t = phrases!.nextTurn[ni]!;
        if (t >= 0 && (next < 0 || t < next)) next = t;
      }
      if (next < 0) break;
      k = next;
    }
    const turn = turns[k]!;
    if (limit && turn > limit.turn) break;
    current = turn;
    for (let ni = 0; ni < needles.length; ni++) {
      const needle = needles[ni]!;
      if (needle.kind === 'phrase') {
        const p = phrases!;
        const phrase = needle.phrase!;
        while (p.nextTurn[ni] === k) {
          const folded = ctx.foldedLine(turn);
          const local = p.nextAt[ni]! - p.joined.starts[k]!;
          const localEnd = local + phrase.length;
          const start = folded.map ? folded.map[local]! : local;
          const end = folded.map ? folded.map[localEnd]! : localEnd;
          const atLimit = limit !== null && turn === limit.turn && start >= limit.start;
          if (atLimit || record(result, turn, start, end, ni, stopAt)) {
            // The rest of this needle's occurrences in this turn are not wanted; with score levels
            // its later turns are, otherwise the scan ends with this turn.
            if (each && !atLimit && k + 1 < turns.length) seekPhrase(p, phrase, p.joined.starts[k + 1]!, ni);
            else p.nextTurn[ni] = -1;
            break;
          }
          seekPhrase(p, phrase, p.nextAt[ni]! + phrase.length, ni);
        }
      } else {
        const text = String(ctx.lines[turn]!.text ?? '');
        let from = 0;
        while (from <= text.length) {
          const m = needle.matcher!.find(text, from, ascii);
          if (!m) break;
          if (limit && turn === limit.turn && m.start >= limit.start) break;
          if (record(result, turn, m.start, m.end, ni, stopAt)) break;
          from = m.end > m.start ? m.end : m.end + 1;
        }
      }
    }
    // Whole turns are searched, so the first occurrence in the stopping turn is right.
    if (result.count >= stopAt) break;
  }
  return result;
}

/** Counts an occurrence; true when no more of this needle are wanted in this turn. */
function record(
  result: Scan,
  turn: number,
  start: number,
  end: number,
  needle: number,
  stopAt: number,
): boolean {
  result.count++;
  result.needlesFound.add(needle);
  const first = result.first;
  if (!first || (turn === first.turn && start < first.start)) result.first = { turn, start, end, needle };
  return !Number.isFinite(stopAt) || result.count >= stopAt;
}

/**
 * A scan's phrase needles over the joined text: each needle's next occurrence (position in the
 * joined text and index in the turns; -1: no more), and `hay`, the joined text up to the end of the
 * last turn that can still matter (a slice, so a search never runs past it; it ends at a turn's
 * end, where the full text has a newline, so the word-boundary test there answers the same).
 */
interface PhraseCursors {
  joined: JoinedTurns;
  hay: string;
  nextAt: number[];
  nextTurn: number[];
}

/** Index in `turns` of the last turn at or before `turn`; -1 when none is. */
function lastTurnUpTo(turns: readonly number[], turn: number): number {
  let k = -1;
  while (k + 1 < turns.length && turns[k + 1]! <= turn) k++;
  return k;
}

/** Ends the searched text with eligible turn `k` (nothing when k is -1), if it is not shorter already. */
function narrowTo(p: PhraseCursors, k: number): void {
  const starts = p.joined.starts;
  const end = k < 0 ? 0 : k + 1 < starts.length ? starts[k + 1]! - 1 : p.joined.text.length;
  if (end < p.hay.length) p.hay = p.joined.text.slice(0, end);
}

/** Moves phrase needle `ni` to its next occurrence at or after `from`. */
function seekPhrase(p: PhraseCursors, phrase: string, from: number, ni: number): void {
  const at = findPhrase(p.hay, phrase, from);
  p.nextAt[ni] = at;
  if (at < 0) {
    p.nextTurn[ni] = -1;
    return;
  }
  const starts = p.joined.starts;
  let k = Math.max(0, p.nextTurn[ni] ?? 0);
  while (k + 1 < starts.length && starts[k + 1]! <= at) k++;
  p.nextTurn[ni] = k;
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

function scoreNativeRule(
  rule: Rule,
  check: NativeCheck,
  ctx: TranscriptContext,
  rubric: Rubric,
  withEvidence: boolean,
): RuleResult {
  let condition = '';
  if (check.appliesIf) {
    const cond = scan(check.appliesIf, ctx, null, 1);
    if (!cond.first && !withEvidence) return ruleResult(rule, 'na', null, '', '');
    if (!cond.first) {
      const evidence = `Not applicable: condition not met (looked for ${looked(check.appliesIf)} in ${cond.where}: not found)`;
      return ruleResult(rule, 'na', null, itemComment(rule, 'Not applicable', evidence), evidence);
    }
    if (withEvidence) condition = `; applies because of ${describeOccurrence(ctx, cond.first)}`;
  }
  const limit = check.before ? firstOf(rubric, check.beforeIndex, ctx) : null;
  const wantAll = check.scoreLevels !== undefined;
  const found = scan(check.finder, ctx, limit, wantAll ? Number.POSITIVE_INFINITY : check.minCount);
  if (!withEvidence) {
    const n = found.needlesFound.size;
    const score = check.scoreLevels
      ? (check.scoreLevels.find((l) => n >= l.atLeast)?.score ?? 0)
      : found.count >= check.minCount === (check.mode === 'must')
        ? 100
        : 0;
    return ruleResult(rule, score > 0 ? 'pass' : 'fail', score, '', '');
  }
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
  return ruleResult(rule, outcome, score, itemComment(rule, comment, evidence), evidence);
}

/**
 * A rule's result, its keys always in this order (they are printed as JSON). Written out, not
 * spread from a shared base: the spread into a new literal was a third of the scoring's time.
 */
function ruleResult(
  rule: Rule,
  outcome: RuleResult['outcome'],
  score: number | null,
  comment: string,
  evidence: string,
): RuleResult {
  return { name: rule.name, weight: rule.weight, outcome, score, comment, evidence };
}

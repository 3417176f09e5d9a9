/**
 * Audit of src/scoring against issue 3, the contract (section 2) and docs/rubrics.md. Each `it.fails`
 * is a bug that exists now; flip it to `it` once fixed. Python results quoted in comments were checked
 * with python3 (3.11) and the tutorial's evaluate_transcript / re.search.
 */
import { describe, expect, it } from 'vitest';
import { parseRubric, scoreTranscript, type TranscriptLine } from '../../src/scoring/index.js';

function rubricOf(text: string, file = 'rubric.yaml') {
  const parsed = parseRubric(text, file);
  if (!parsed.ok) throw new Error(parsed.errors.join('\n'));
  return parsed.rubric;
}

const line = (text: string, speaker = 'AGENT', timestamp = ''): TranscriptLine => ({
  speaker,
  text,
  timestamp,
});

describe('audit: safety (issue 3: "a rubric pattern must not be able to stall scoring")', () => {
  // BUG (src/scoring/score.ts:219-243 occurrencesIn + src/scoring/regex/nfa.ts find): a native rule
  // enumerates every occurrence in a turn by calling `find` again from the end of the previous match.
  // With a pattern whose higher-priority branch stays alive to the end of the line (`\w+(.*\?)?`: a word,
  // optionally up to a question mark), each of the ~n matches rescans the rest of the line, so one turn
  // costs O(n^2): 24,000 characters take ~2.3 s, 36,000 ~5 s, 100,000 about a minute. The loop ignores
  // `stopAt`, so even the default min_count 1 enumerates them all. Fix: stop enumerating once `stopAt`
  // occurrences are counted (and, for score_levels, after a needle's first occurrence), and/or give the
  // NFA a find-all that continues one pass instead of restarting.
  it('scores one long turn in linear time with a pattern whose optional tail runs to the end of the line', () => {
    const rubric = rubricOf(
      'name: T\nversion: "1"\nrules:\n  - name: hold\n    patterns: \'\\w+(.*\\?)?\'\n',
    );
    const text = 'please hold '.repeat(3000); // 36,000 characters, one turn
    const t0 = performance.now();
    const result = scoreTranscript(rubric, [line(text)]);
    const ms = performance.now() - t0;
    expect(result.rules[0]!.outcome).toBe('pass');
    // A linear scan of 36 KB takes a few milliseconds; 1 s is a generous bound.
    expect(ms).toBeLessThan(1000);
  }, 20_000);
});

describe('audit: tutorial shape scores exactly as the tutorial', () => {
  // BUG (src/scoring/score.ts:139-142): on an empty transcript, a pattern that can match the empty string
  // matches at 0 (as in Python: re.search("(hello)?", "") is a match, so the tutorial scores
  // score_if_present = 100), but the evidence code then looks up line 0 with `where(ctx, 0)` and throws
  // "Cannot read properties of undefined (reading 'speaker')". The whole scoring throws. Fix: when there
  // are no lines, say "Matched the empty text (0 turns)" instead of locating a turn.
  it('scores an empty transcript with a pattern that matches the empty string (Python: 100)', () => {
    const rubric = rubricOf('optional_greeting: {pattern: "(hello)?", weight: 1}\n', 'tutorial.yaml');
    const result = scoreTranscript(rubric, []);
    expect(result.rules[0]!.score).toBe(100);
    expect(result.overallScore).toBe(100);
  });

  // BUG (src/scoring/regex/chars.ts:336-349 caseInsensitiveTest, used by the NFA engine): case-insensitive
  // sets meet only through simple lower/upper mapping, so Greek final sigma `ς` never matches `Σ`/`σ`
  // (also `µ` in a pattern vs `μ` in text, titlecase `ǅ` vs `Ǆ`). Python's IGNORECASE matches them, and so
  // does this project's own native (V8) engine: `\bτους\b` matches "ΤΟΥΣ", but `τους\s+ορους` (the
  // `\s+` sends it to the NFA) does not match "ΤΟΥΣ ΟΡΟΥΣ". Python: re.search(r"\bτους\s+ορους\b",
  // "ΔΕΧΕΣΤΕ ΤΟΥΣ ΟΡΟΥΣ;", re.I) matches, so the tutorial scores 100; here 0. docs/rubrics.md section 4
  // lists only ſ/s, Kelvin K/k and dotted İ as differences. Fix: apply Python's extra equivalences
  // (sre_compile's _equivalences: ς/σ, µ/μ, β/ϐ, ε/ϵ, θ/ϑ, κ/ϰ, π/ϖ, ρ/ϱ, φ/ϕ, ...) or test the case
  // fold (a /[..]/ui membership test) as V8 does.
  it('matches Greek final sigma case-insensitively on the NFA engine as Python does', () => {
    const rubric = rubricOf('terms: {pattern: "\\\\bτους\\\\s+ορους\\\\b", weight: 1}\n', 'tutorial.yaml');
    const result = scoreTranscript(rubric, [line('ΔΕΧΕΣΤΕ ΤΟΥΣ ΟΡΟΥΣ;')]);
    expect(result.rules[0]!.outcome).toBe('pass');
  });

  it('(control) the same word without \\s+ runs on the native engine and matches', () => {
    const rubric = rubricOf('terms: {pattern: "\\\\bτους\\\\b", weight: 1}\n', 'tutorial.yaml');
    expect(scoreTranscript(rubric, [line('ΔΕΧΕΣΤΕ ΤΟΥΣ ΟΡΟΥΣ;')]).rules[0]!.outcome).toBe('pass');
  });

  // BUG (src/scoring/regex/index.ts:104-118 toJsSource `shorthand`): docs/rubrics.md section 4 says `\s`
  // is JavaScript's whitespace plus Python's \x1c-\x1f and \x85, and the NFA engine does that
  // (chars.ts SPACE), but the native translation passes `\s` through unchanged, so a pattern without
  // unbounded repetition does not see U+0085 (NEL, what a cp1252 "…" becomes when decoded as Latin-1) or
  // U+001C-U+001F as whitespace. Python: re.search(r"\bwait\sa moment\b", "please wait\x85a moment", re.I)
  // matches (tutorial: 100); here 0, while `wait\s+a moment` (NFA) matches. Fix: translate `\s` to
  // `[\s\x1c-\x1f\x85]` and `\S` to its complement (in a class: add the range / return null for `\S`).
  it('treats U+0085 as whitespace for \\s on the native engine, as Python and the docs say', () => {
    const rubric = rubricOf("hold: {pattern: '\\bwait\\sa moment\\b', weight: 1}\n", 'tutorial.yaml');
    expect(scoreTranscript(rubric, [line('please wait\u0085a moment')]).rules[0]!.outcome).toBe('pass');
  });

  // Contract section 2 / docs section 1: the tutorial's shape "is accepted as it is" and its composite
  // is "0 when the total weight is 0" (Python: total_score = 0.0). src/scoring/rubric.ts:111 refuses a
  // tutorial-shape rubric whose weights are all 0, so that documented case cannot be reached and a file
  // the tutorial runs does not load. (test/scoring/validation.test.ts asserts the refusal, so this is a
  // contract-versus-choice question for the lead: either accept it for the tutorial shape, or drop the
  // "0 when the total weight is 0" sentence and say the tutorial shape is validated more strictly.)
  it('accepts a tutorial-shape rubric whose weights are all 0 and scores it 0, as Python does', () => {
    const parsed = parseRubric('a: {pattern: x, weight: 0}\n', 'tutorial.yaml');
    expect(parsed.ok).toBe(true);
  });
});

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  evaluationComment,
  formatScore,
  parseRubric,
  scoreOutcomes,
  scoreTranscript,
} from '../../src/scoring/index.js';
import { generateSampleConversations } from '../../src/simulator/sample-data.js';
import { call, nativeRubric, rubricOf } from '../support/scoring.js';

const TUTORIAL = readFileSync(new URL('../../rubrics/tutorial.yaml', import.meta.url), 'utf8');

describe('tutorial shape', () => {
  const rubric = rubricOf(TUTORIAL, 'tutorial.yaml');

  it('scores exactly as the tutorial: weighted average with fractional weights', () => {
    const r = scoreTranscript(rubric, call('A: Hello! Can you confirm your date of birth?', 'C: Sure.'));
    // Python: (100*0.2 + 100*0.3 + 0*0.3 + 0*0.2) / (0.2+0.3+0.3+0.2)
    let w = 0;
    let t = 0;
    for (const [s, wt] of [
      [100, 0.2],
      [100, 0.3],
      [0, 0.3],
      [0, 0.2],
    ] as const) {
      t += wt;
      w += s * wt;
    }
    expect(r.overallScore).toBe(w / t);
    expect(r.rules.map((x) => [x.name, x.outcome, x.score])).toEqual([
      ['greeting', 'pass', 100],
      ['verification', 'pass', 100],
      ['compliance_disclosure', 'fail', 0],
      ['closing_summary', 'fail', 0],
    ]);
    expect(r.rules[0]!.comment).toMatch(
      /^\[GREETING\] Agent provided standard greeting\. Matched "Hello" \(AGENT, turn 1\)/,
    );
    expect(r.rules[2]!.comment).toContain(
      '[COMPLIANCE_DISCLOSURE] Recording disclosure missing. No match for /',
    );
  });

  it('matches a phrase split across two lines (joined by a single space)', () => {
    const r = scoreTranscript(
      rubric,
      call('A: @00:00:01 This call may be', 'A: @00:00:03 recorded for training.'),
    );
    const rule = r.rules.find((x) => x.name === 'compliance_disclosure')!;
    expect(rule.outcome).toBe('pass');
    expect(rule.evidence).toContain('across turns 1-2');
  });

  it('scores an empty transcript 0 with every rule failed', () => {
    const r = scoreTranscript(rubric, []);
    expect(r.overallScore).toBe(0);
    expect(r.rules.every((x) => x.outcome === 'fail' && x.score === 0)).toBe(true);
  });

  it('uses the defaults and custom scores of the tutorial shape', () => {
    const r = rubricOf(
      'a: {pattern: "x", weight: 1}\nb: {pattern: "bad", weight: 3, score_if_present: 0, score_if_absent: 100}\n',
    );
    const res = scoreTranscript(r, call('A: x marks the spot'));
    expect(res.rules[0]).toMatchObject({ outcome: 'pass', score: 100 });
    expect(res.rules[0]!.comment).toContain('Requirement met');
    expect(res.rules[1]).toMatchObject({ outcome: 'pass', score: 100 });
    expect(res.overallScore).toBe(100);
    expect(scoreTranscript(r, call('A: bad')).rules[1]).toMatchObject({ outcome: 'fail', score: 0 });
  });

  it('honours case_insensitive: false', () => {
    const r = rubricOf('a: {pattern: "Hello", weight: 1, case_insensitive: false}\n');
    expect(scoreTranscript(r, call('A: hello')).overallScore).toBe(0);
    expect(scoreTranscript(r, call('A: Hello')).overallScore).toBe(100);
  });

  it('is Unicode-aware like Python 3 (\\b next to accented letters)', () => {
    const r = rubricOf(
      'a: {pattern: "\\\\bcaf\\\\b", weight: 1}\nb: {pattern: "\\\\bcafé\\\\b", weight: 1}\n',
    );
    const res = scoreTranscript(r, call('A: un café noir'));
    expect(res.rules.map((x) => x.outcome)).toEqual(['fail', 'pass']);
  });

  it('writes the evaluation comment with score, rubric and hash', () => {
    const res = scoreTranscript(rubric, call('A: hello'));
    const comment = evaluationComment(rubric, res);
    expect(comment).toMatch(
      /^Automated compliance evaluation\. Composite score: 20\.00\. Rubric: tutorial v1 \(sha256 [0-9a-f]{12}\)\.$/,
    );
    expect(rubric.hash).toMatch(/^[0-9a-f]{64}$/);
  });

  it('formats like Python\'s "{:.2f}" (ties to even)', () => {
    expect(formatScore(0.125)).toBe('0.12');
    expect(formatScore(0.375)).toBe('0.38');
    expect(formatScore(85.5)).toBe('85.50');
    expect(formatScore(2 / 3)).toBe('0.67');
  });
});

const rule = (body: string) => nativeRubric(`  - name: r\n${body.replace(/^/gm, '    ')}\n`);

describe('native rules', () => {
  it.each([
    // [rule yaml, transcript, outcome, score]
    ['phrases: [recorded line]', ['A: you are on a recorded   line'], 'pass', 100],
    ['phrases: [recorded line]', ['A: unrecorded lines'], 'fail', 0],
    ['phrases: [señora]', ['A: Hola SENORA Núñez'], 'pass', 100],
    ['phrases: [senora]', ['A: Hola Señora'], 'pass', 100],
    ["phrases: [can't afford]", ['C: I can’t afford it'], 'pass', 100],
    ['patterns: ["\\\\d{4}"]', ['A: last four 1234'], 'pass', 100],
    ['phrases: [hello]\nspeaker: agent', ['C: hello'], 'fail', 0],
    ['phrases: [hello]\nspeaker: customer', ['C: hello'], 'pass', 100],
    ['phrases: [hello]\nspeaker: system', ['S: hello'], 'pass', 100],
    ['phrases: [hello]\nspeaker: agent', ['?: hello'], 'fail', 0],
    ['phrases: [damn]\nmode: must_not', ['A: damn it'], 'fail', 0],
    ['phrases: [damn]\nmode: must_not', ['A: darn it'], 'pass', 100],
    ['phrases: [sir]\nmin_count: 2', ['A: yes sir', 'A: no'], 'fail', 0],
    ['phrases: [sir]\nmin_count: 2', ['A: yes sir', 'A: no sir'], 'pass', 100],
    ['phrases: [sir]\nmin_count: 2', ['A: sir, yes sir'], 'pass', 100],
    ['phrases: [oops]\nmode: must_not\nmin_count: 2', ['A: oops'], 'pass', 100],
    [
      'phrases: [a b, c d, e f]\nscore_levels: [{at_least: 3, score: 100}, {at_least: 2, score: 60}]',
      ['A: a b', 'A: c d'],
      'pass',
      60,
    ],
    [
      'phrases: [a b, c d, e f]\nscore_levels: [{at_least: 3, score: 100}, {at_least: 2, score: 60}]',
      ['A: a b'],
      'fail',
      0,
    ],
    [
      'phrases: [a b, c d, e f]\nscore_levels: [{at_least: 3, score: 100}, {at_least: 2, score: 60}]',
      ['A: e f c d a b'],
      'pass',
      100,
    ],
    ['phrases: [hi]\nwithin: {first_seconds: 10}', ['A: @00:00:02 hi'], 'pass', 100],
    ['phrases: [hi]\nwithin: {first_seconds: 10}', ['C: @00:00:02 yo', 'A: @00:00:12 hi'], 'fail', 0],
    [
      'phrases: [hi]\nwithin: {first_seconds: 10}',
      ['C: @2024-05-10T14:30:00Z yo', 'A: @2024-05-10T14:30:08Z hi'],
      'pass',
      100,
    ],
    [
      'phrases: [hi]\nwithin: {first_seconds: 10}',
      ['C: @2024-05-10T14:30:00Z yo', 'A: @2024-05-10T14:30:11Z hi'],
      'fail',
      0,
    ],
    ['phrases: [hi]\nwithin: {first_seconds: 10, first_turns: 1}', ['C: yo', 'A: hi'], 'fail', 0],
    ['phrases: [hi]\nwithin: {first_seconds: 10, first_turns: 2}', ['C: @junk yo', 'A: @?? hi'], 'pass', 100],
    ['phrases: [hi]\nwithin: {first_seconds: 10}', ['C: yo', 'C: yo', 'A: hi'], 'pass', 100],
    ['phrases: [bye]\nwithin: {last_seconds: 30}', ['A: @00:00:01 bye', 'A: @00:05:00 ok'], 'fail', 0],
    ['phrases: [bye]\nwithin: {last_seconds: 30}', ['A: @00:04:40 bye', 'A: @00:05:00 ok'], 'pass', 100],
    ['phrases: [bye]\nwithin: {last_turns: 1}', ['A: bye', 'A: ok'], 'fail', 0],
    ['phrases: [bye]\nwithin: {last_turns: 2}', ['A: bye', 'A: ok'], 'pass', 100],
    ['phrases: [hi]\nwithin: {first_seconds: 5}', ['A: @01:30 yo', 'A: @ hi', 'A: @83.5 hi'], 'fail', 0],
  ])('%s on %j -> %s %d', (body, turns, outcome, score) => {
    const res = scoreTranscript(rubricOf(rule(body)), call(...turns));
    expect(res.rules[0]).toMatchObject({ outcome, score });
    expect(res.overallScore).toBe(score);
    expect(res.rules[0]!.comment.length).toBeLessThanOrEqual(500);
  });

  const ordered = nativeRubric(`  - name: verify
    phrases: [date of birth]
    speaker: agent
    before: balance
  - name: balance
    phrases: [your balance is]
    speaker: agent
  - name: no_balance_first
    mode: must_not
    phrases: [your balance is]
    before: verify
`);
  it.each([
    [
      ['A: your date of birth?', 'A: your balance is $5'],
      ['pass', 'pass', 'pass'],
    ],
    [
      ['A: your balance is $5', 'A: your date of birth?'],
      ['fail', 'pass', 'fail'],
    ],
    [['A: your date of birth? your balance is $5'], ['pass', 'pass', 'pass']],
    [['A: your balance is $5, date of birth?'], ['fail', 'pass', 'fail']],
    [['A: date of birth please'], ['pass', 'fail', 'pass']],
    [['A: nothing'], ['fail', 'fail', 'pass']],
  ])('before: %j -> %j', (turns, outcomes) => {
    const res = scoreTranscript(rubricOf(ordered), call(...turns));
    expect(res.rules.map((r) => r.outcome)).toEqual(outcomes);
  });

  it('explains a failed order with both places', () => {
    const res = scoreTranscript(
      rubricOf(ordered),
      call('A: @00:00:05 your balance is $5', 'A: @00:00:09 your date of birth?'),
    );
    expect(res.rules[0]!.evidence).toBe(
      `Found only after 'balance' first matched (AGENT, 00:05, turn 1): "date of birth" (AGENT, 00:09, turn 2)`,
    );
  });

  const conditional = nativeRubric(`  - name: offer
    applies_if: {speaker: customer, phrases: [cancel]}
    speaker: agent
    phrases: [discount]
  - name: greet
    phrases: [hello]
    weight: 3
`);
  it('leaves a rule N/A when its condition does not hold, out of the composite', () => {
    const res = scoreTranscript(
      rubricOf(conditional),
      call('A: hello', 'A: we have a discount', 'C: thanks'),
    );
    expect(res.rules[0]).toMatchObject({ outcome: 'na', score: null });
    expect(res.rules[0]!.evidence).toContain('condition not met');
    expect(res.overallScore).toBe(100);
    expect(evaluationComment(rubricOf(conditional), res)).toContain('Not applicable (not scored): offer.');
  });

  it('scores a rule whose condition holds, and says why it applies', () => {
    const res = scoreTranscript(rubricOf(conditional), call('A: hi', 'C: I want to cancel'));
    expect(res.rules[0]).toMatchObject({ outcome: 'fail', score: 0 });
    expect(res.overallScore).toBe(0);
    const ok = scoreTranscript(
      rubricOf(conditional),
      call('A: hello', 'C: I want to cancel', 'A: a discount?'),
    );
    expect(ok.rules[0]!.evidence).toContain('applies because of "cancel" (CUSTOMER, turn 2)');
  });

  it('a condition said by the wrong speaker does not count', () => {
    const res = scoreTranscript(rubricOf(conditional), call('A: cancel anytime, hello'));
    expect(res.rules[0]!.outcome).toBe('na');
  });

  const critical = nativeRubric(`  - name: threats
    mode: must_not
    critical: true
    phrases: [we will sue]
  - name: greet
    phrases: [hello]
`);
  it('a failed critical rule makes the composite 0 and says why', () => {
    const r = rubricOf(critical);
    const res = scoreTranscript(r, call('A: hello', 'A: @00:01:02 we will sue you'));
    expect(res.overallScore).toBe(0);
    expect(res.criticalFailure).toContain("'threats'");
    expect(res.criticalFailure).toContain('"we will sue" (AGENT, 01:02, turn 2)');
    const comment = evaluationComment(r, res);
    expect(comment).toMatch(/^Automated compliance evaluation\. Composite score: 0\.00\. Rubric: Test v1 /);
    expect(comment).toContain('Score set to 0: critical rule failed:');
    expect(scoreTranscript(r, call('A: hello')).overallScore).toBe(100);
  });

  it('carries ids, form and weights through', () => {
    const r = rubricOf(
      nativeRubric(
        '  - {name: a, section_id: s1, item_id: i1, weight: 0.5, phrases: [x], description: D}\n  - {name: b, weight: 0, phrases: [y]}\n',
        'form_id: form-1\n',
      ),
    );
    expect(r.formId).toBe('form-1');
    expect(r.rules[0]).toMatchObject({
      name: 'a',
      sectionId: 's1',
      itemId: 'i1',
      weight: 0.5,
      critical: false,
      description: 'D',
    });
    expect(scoreTranscript(r, call('A: x')).overallScore).toBe(100);
  });

  it('says what was looked for and where when nothing matched', () => {
    const res = scoreTranscript(
      rubricOf(
        rule(
          'phrases: [recorded]\npatterns: ["monitor(ed|ing)"]\nspeaker: agent\nwithin: {first_seconds: 30}',
        ),
      ),
      call('A: @00:00:01 hi'),
    );
    expect(res.rules[0]!.evidence).toBe(
      'Not found: looked for "recorded", /monitor(ed|ing)/ in agent turns in the first 30 s',
    );
  });

  it('quotes at most ~120 characters of a long match', () => {
    const res = scoreTranscript(rubricOf(rule('patterns: ["a.*z"]')), call(`A: a${'b'.repeat(400)}z`));
    expect(res.rules[0]!.evidence.length).toBeLessThan(180);
    expect(res.rules[0]!.evidence).toContain('…');
  });

  it('copes with missing fields and odd speakers', () => {
    const r = rubricOf(rule('phrases: [hi]'));
    const lines = [{ speaker: '', text: 'hi', timestamp: '' }] as never;
    expect(scoreTranscript(r, lines).rules[0]!.outcome).toBe('pass');
    expect(scoreTranscript(r, []).rules[0]!.outcome).toBe('fail');
  });
});

describe('tutorial shape: matches as Python does', () => {
  // Python: re.search("(hello)?", "") matches, so the tutorial scores score_if_present.
  it('scores an empty transcript 100 with a pattern that matches the empty string', () => {
    const rubric = rubricOf('optional_greeting: {pattern: "(hello)?", weight: 1}\n', 'tutorial.yaml');
    const result = scoreTranscript(rubric, []);
    expect(result.rules[0]!.score).toBe(100);
    expect(result.overallScore).toBe(100);
  });

  // Python's IGNORECASE treats ς, σ and Σ as one letter. `\s+` sends this pattern to the automaton
  // engine, which applies Python's extra case equivalences (docs/rubrics.md section 4).
  it('matches Greek final sigma case-insensitively on the automaton engine', () => {
    const rubric = rubricOf('terms: {pattern: "\\\\bτους\\\\s+ορους\\\\b", weight: 1}\n', 'tutorial.yaml');
    const result = scoreTranscript(rubric, call('A: ΔΕΧΕΣΤΕ ΤΟΥΣ ΟΡΟΥΣ;'));
    expect(result.rules[0]!.outcome).toBe('pass');
  });

  it('matches Greek final sigma case-insensitively on the native engine', () => {
    const rubric = rubricOf('terms: {pattern: "\\\\bτους\\\\b", weight: 1}\n', 'tutorial.yaml');
    expect(scoreTranscript(rubric, call('A: ΔΕΧΕΣΤΕ ΤΟΥΣ ΟΡΟΥΣ;')).rules[0]!.outcome).toBe('pass');
  });

  // docs/rubrics.md section 4: `\s` is JavaScript's whitespace plus Python's \x1c-\x1f and \x85 on both
  // engines. Without unbounded repetition this pattern runs on the native engine.
  it('treats U+0085 as whitespace for \\s on the native engine', () => {
    const rubric = rubricOf("hold: {pattern: '\\bwait\\sa moment\\b', weight: 1}\n", 'tutorial.yaml');
    expect(scoreTranscript(rubric, call('A: please wait\u0085a moment')).rules[0]!.outcome).toBe('pass');
  });

  // Contract: the tutorial's shape is accepted as it is, and its composite is 0 when the total
  // weight is 0 (Python: total_score = 0.0). The native shape refuses all-zero weights.
  it('accepts a tutorial-shape rubric whose weights are all 0 and scores it 0', () => {
    const parsed = parseRubric('a: {pattern: x, weight: 0}\n', 'tutorial.yaml');
    expect(parsed.ok).toBe(true);
    if (!parsed.ok) return;
    expect(scoreTranscript(parsed.rubric, call('A: x')).overallScore).toBe(0);
  });
});

describe('a rubric pattern cannot stall scoring', () => {
  // Counting a rule's occurrences must not rescan the rest of the turn after each match: with a
  // pattern whose optional tail stays alive to the end of the line (`\w+(.*\?)?`) that is quadratic
  // (36,000 characters took ~5 s).
  it('scores one long turn in linear time with a pattern whose optional tail runs to the end of the line', () => {
    const rubric = rubricOf(
      'name: T\nversion: "1"\nrules:\n  - name: hold\n    patterns: \'\\w+(.*\\?)?\'\n',
    );
    const text = 'please hold '.repeat(3000); // 36,000 characters, one turn
    const t0 = performance.now();
    const result = scoreTranscript(rubric, call(`A: ${text}`));
    const ms = performance.now() - t0;
    expect(result.rules[0]!.outcome).toBe('pass');
    // A linear scan of 36 KB takes a few milliseconds; 1 s is a generous bound.
    expect(ms).toBeLessThan(1000);
  }, 20_000);
});

describe('scoreOutcomes: what a backtest compares, without the evidence', () => {
  it('gives every outcome, score and composite scoreTranscript gives, and no evidence or comments', () => {
    const conversations = generateSampleConversations(300, 11);
    for (const file of ['rubrics/example.yaml', 'rubrics/tutorial.yaml', 'test/fixtures/service-desk.yaml']) {
      const rubric = rubricOf(readFileSync(file, 'utf8'), file);
      const transcripts = [
        ...conversations.map((c) => c.transcript),
        ...rubric.examples.flatMap((e) => (e.transcript ? [e.transcript] : [])),
      ];
      for (const lines of transcripts) {
        const full = scoreTranscript(rubric, lines);
        const lean = scoreOutcomes(rubric, lines);
        expect(lean.overallScore).toBe(full.overallScore);
        expect(Boolean(lean.criticalFailure)).toBe(Boolean(full.criticalFailure));
        expect(lean.rules).toEqual(full.rules.map((r) => ({ ...r, evidence: '', comment: '' })));
      }
    }
  });
});

/**
 * Issue 10 item 4: scoring must never starve the event loop. The service scores on worker threads
 * (src/scoring-pool): results identical to scoring in place, the main thread free meanwhile, and a
 * worker that fails takes down only its own task.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseRubric, type Rubric, scoreTranscript, type TranscriptLine } from '../../src/scoring/index.js';
import { createScoringPool, type ScoringPool } from '../../src/scoring-pool/index.js';

const closers: (() => Promise<void>)[] = [];
afterAll(async () => {
  await Promise.all(closers.splice(0).map((close) => close()));
});

const line = (text: string, speaker = 'AGENT', timestamp = ''): TranscriptLine => ({
  speaker,
  text,
  timestamp,
});

// One pool for these tests: starting worker threads from TypeScript source takes seconds.
const RUBRIC = `name: T
version: "1"
rules:
  - {name: greet, speaker: agent, within: {first_turns: 2}, phrases: [hello]}
  - {name: notice, patterns: ['record(ed|ing)\\s+(line|call)'], critical: true}
  - {name: calm, mode: must_not, phrases: [sue you]}
  # Near the automaton's limit, over a text that keeps all of it alive: the slowest search allowed.
  - {name: slow, patterns: ['(?:(?:.*a){100}){3}b']}
`;

describe('the scoring pool', () => {
  let rubric: Rubric;
  let scorer: ScoringPool;
  beforeAll(() => {
    const parsed = parseRubric(RUBRIC, 'rubric.yaml');
    if (!parsed.ok) throw new Error(parsed.errors.join('\n'));
    rubric = parsed.rubric;
    scorer = createScoringPool({ rubric, text: RUBRIC, path: 'rubric.yaml', threads: 1 });
    closers.push(() => scorer.close());
  });

  it('scores on a worker thread exactly as scoring in place does', async () => {
    const calls = [
      [line('Hello there', 'AGENT', '00:00:01'), line('This is a recorded   line', 'AGENT', '00:00:03')],
      [line('hi'), line('we will sue you', 'AGENT'), line('aaab')],
      [],
    ];
    for (const transcript of calls) {
      expect(await scorer.score(transcript)).toEqual(scoreTranscript(rubric, transcript));
    }
    expect(scorer.rubric).toBe(rubric);
    expect(scorer.comment(scoreTranscript(rubric, calls[0]!))).toMatch(/^Automated compliance evaluation\./);
  });

  it('keeps the event loop free while a long transcript is scored', { timeout: 120_000 }, async () => {
    // Sized to take ~2 s here, measured on a small text first (the cost is linear in the text).
    const probe = [line('a'.repeat(2_000))];
    scoreTranscript(rubric, probe); // warm
    const t0 = performance.now();
    scoreTranscript(rubric, probe);
    const perChar = (performance.now() - t0) / 2_000;
    const transcript = [line('a'.repeat(Math.min(2_000_000, Math.max(20_000, Math.round(2_000 / perChar)))))];
    await scorer.score([line('warm-up')]); // the worker is up

    let last = performance.now();
    let maxGap = 0;
    let ticks = 0;
    const timer = setInterval(() => {
      const now = performance.now();
      maxGap = Math.max(maxGap, now - last);
      last = now;
      ticks++;
    }, 10);
    const started = performance.now();
    try {
      const result = await scorer.score(transcript);
      expect(result.rules.find((r) => r.name === 'slow')!.outcome).toBe('fail');
    } finally {
      clearInterval(timer);
    }
    const took = performance.now() - started;
    // Scoring in place would hold the loop for all of `took`: one gap as long as the whole scoring.
    expect(took).toBeGreaterThan(300);
    expect(ticks).toBeGreaterThan(10);
    expect(maxGap).toBeLessThan(took / 3);
  });

  it('answers a failed task with an error and goes on with the next transcript', async () => {
    // Not a transcript: scoring it throws in the worker; the error comes back, the worker stays.
    await expect(scorer.score(null as unknown as TranscriptLine[])).rejects.toThrow();
    expect((await scorer.score([line('hello, a recorded line')])).rules[0]!.outcome).toBe('pass');
  });
});

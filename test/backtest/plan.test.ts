import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { planRescore } from '../../src/backtest/plan.js';
import { runBacktest } from '../../src/backtest/run.js';
import { parseRubric } from '../../src/scoring/index.js';
import { ResultStore } from '../../src/store/results.js';
import { ReviewStore } from '../../src/store/reviews.js';
import { seedResults } from '../support/console.js';
import { tempStore } from '../support/db.js';

const BASE = readFileSync('rubrics/example.yaml', 'utf8');
const TUTORIAL = readFileSync('rubrics/tutorial.yaml', 'utf8');

/** Rubric changes a backtest tries, each as a text edit of the stored results' rubric. */
const CHANGES: Record<string, (t: string) => string> = {
  'one rule, its window': (t) => t.replace('within: { first_turns: 3 }', 'within: { first_turns: 1 }'),
  'one rule, its phrases': (t) => t.replace('phrases: [this call may be recorded,', 'phrases: ['),
  "a rule another's before: names": (t) =>
    t.replace('phrases: [your balance is, outstanding balance, past due]', 'phrases: [past due]'),
  'a weight': (t) => t.replace(/(name: mini_miranda[\s\S]*?weight: )2/, '$15'),
  criticality: (t) => t.replace(/(name: no_threats[\s\S]*?critical: )true/, '$1false'),
  'comments only': (t) => t.replace('pass_comment: Agent greeted the caller', 'pass_comment: Greeted'),
  'a rule removed': (t) =>
    t
      .replace(/ {2}- name: name_usage[\s\S]*?(?= {2}- name: closing)/, '')
      .replace(/\nexamples:[\s\S]*$/, '\n'),
  'everything (another rubric)': () => TUTORIAL,
};

let t: ReturnType<typeof tempStore>;
beforeAll(() => {
  t = tempStore();
  // Stored results from the base rubric, on conversations that exercise it, some reviewed.
  seedResults(t.store, { count: 120, endAt: Date.now(), spacingMs: 60_000 });
  const rows = new ResultStore(t.store).list({}, 30).rows;
  const reviews = new ReviewStore(t.store);
  rows.forEach((row, i) => {
    reviews.record(
      row.id,
      { id: null, name: 'r' },
      row.rules.map((r) => ({
        rule: r.name,
        verdict: i % 3 ? 'agree' : r.outcome === 'pass' ? 'fail' : 'pass',
      })),
      Date.now(),
    );
  });
  // And some scored by another version of the rubric (another hash): those are rescored whole.
  const older = join(t.dir, 'older.yaml');
  writeFileSync(
    older,
    BASE.replace('version: "2.3"', 'version: "2.2"').replace(
      'within: { first_turns: 3 }',
      'within: { first_turns: 2 }',
    ),
  );
  seedResults(t.store, {
    count: 40,
    endAt: Date.now() - 3_600_000,
    spacingMs: 60_000,
    rubricPath: older,
    seed: 11,
  });
});
afterAll(() => t.cleanup());

describe('rescoring only what changed', () => {
  it('reruns only the changed rules, and the rules their before: needs', () => {
    const next = parseRubric(CHANGES["a rule another's before: names"]!(BASE), 'n.yaml');
    if (!next.ok) throw new Error(next.errors.join('; '));
    const plan = planRescore(next.rubric, CHANGES["a rule another's before: names"]!(BASE), BASE)!;
    expect(plan.partial!.rules.map((r) => r.name).sort()).toEqual([
      'balance_disclosure',
      'identity_verification',
    ]);
    expect([...plan.reused].sort()).not.toContain('identity_verification');
    const comments = CHANGES['comments only']!(BASE);
    const same = parseRubric(comments, 'c.yaml');
    if (!same.ok) throw new Error('parse');
    expect(planRescore(same.rubric, comments, BASE)!.partial).toBeNull();
    const tutorial = parseRubric(TUTORIAL, 't.yaml');
    if (!tutorial.ok) throw new Error('parse');
    expect(planRescore(tutorial.rubric, TUTORIAL, BASE)).toBeNull();
  });

  for (const [name, change] of Object.entries(CHANGES)) {
    it(`counts what a full rescore counts: ${name}`, async () => {
      const text = change(BASE);
      const request = {
        rubricText: text,
        rubricFile: 'next.yaml',
        window: {},
        threads: 0,
        databasePath: t.path,
        store: t.store,
      };
      const full = await runBacktest(request);
      const planned = await runBacktest({ ...request, baselineText: BASE });
      if (!full.ok || !planned.ok) throw new Error('backtest failed');
      const counts = (x: typeof full.report.tally) =>
        JSON.parse(JSON.stringify(x, (k, v) => (k === 'examples' ? undefined : v)));
      expect(counts(planned.report.tally)).toEqual(counts(full.report.tally));
      expect(full.report.tally.conversations).toBe(160);
    });
  }
});

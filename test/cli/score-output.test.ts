/**
 * The JSON line `qm score` prints for a result is written piece by piece (score-output.ts); it must be
 * exactly what JSON.stringify writes for the documented object, whatever the strings and numbers.
 */
import { describe, expect, it } from 'vitest';
import { formatScored } from '../../src/cli/score-output.js';
import { evaluationComment, formatScore, type Rubric, type ScoreResult } from '../../src/scoring/index.js';
import { bundledRubric } from '../support/scoring.js';

const rubric = bundledRubric('example.yaml');

/** The object the line stands for, as docs/contract.md and the README describe it. */
function documented(r: Rubric, id: string, file: string, result: ScoreResult): string {
  const value = {
    id,
    file,
    overall_score: Number(formatScore(result.overallScore)),
    overall_score_exact: result.overallScore,
    rubric: { name: r.name, version: r.version, hash: r.hash },
    ...(result.criticalFailure ? { critical_failure: result.criticalFailure } : {}),
    comment: evaluationComment(r, result),
    rules: result.rules.map((x) => ({
      name: x.name,
      outcome: x.outcome,
      score: x.score,
      weight: x.weight,
      evidence: x.evidence,
      comment: x.comment,
    })),
  };
  return `${JSON.stringify(value)}\n`;
}

const strings = [
  '',
  'plain',
  'a "quoted" \\ back\\slash',
  'line\nbreak\ttab\r\u0000\u001f\u007f',
  'lone \ud800 surrogate \udfff',
  'pair 😀 and \u2028\u2029',
  'café €',
  '</script>',
];
const numbers = [
  0,
  -0,
  100,
  66.66666666666667,
  0.1 + 0.2,
  1e21,
  1e-7,
  12.5,
  Number.NaN,
  Number.POSITIVE_INFINITY,
];

describe('formatScored json', () => {
  it('writes exactly what JSON.stringify writes for the documented object', () => {
    let n = 0;
    for (const s of strings) {
      for (const x of numbers) {
        const result: ScoreResult = {
          overallScore: x,
          rules: [
            { name: s || 'r', outcome: 'pass', score: x, weight: x, comment: `${s}!`, evidence: s },
            { name: 'na-rule', outcome: 'na', score: null, weight: 0.5, comment: '', evidence: s },
            { name: 'failed', outcome: 'fail', score: 0, weight: 1, comment: s, evidence: '' },
          ],
          ...(n % 2 === 0 ? { criticalFailure: `critical ${s}` } : {}),
        };
        const id = `${s}-${n}`;
        expect(formatScored('json', rubric, id, `${s}.jsonl`, result, 120)).toBe(
          documented(rubric, id, `${s}.jsonl`, result),
        );
        n++;
      }
    }
  });

  it('writes a result with no rules', () => {
    const result: ScoreResult = { overallScore: 0, rules: [] };
    expect(formatScored('json', rubric, 'c', 'f', result, 120)).toBe(documented(rubric, 'c', 'f', result));
  });
});

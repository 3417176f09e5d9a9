import { describe, expect, it } from 'vitest';
import { buildBusinessDataBody, parseBusinessDataFields } from '../../../src/cxone/platform/business-data.js';
import type { ScoreResult } from '../../../src/scoring/types.js';

const rule = (name: string, outcome: 'pass' | 'fail' | 'na') => ({
  name,
  outcome,
  score: outcome === 'na' ? null : outcome === 'pass' ? 100 : 0,
  weight: 1,
  comment: '',
  evidence: '',
});

describe('CXONE_BUSINESS_DATA_FIELDS', () => {
  it('maps values to the tenant fields, any subset', () => {
    expect(
      parseBusinessDataFields('score=QA_Score, result=QA_Result,rubric=QA_Rubric,summary=QA_Summary'),
    ).toEqual({
      ok: true,
      fields: { score: 'QA_Score', result: 'QA_Result', rubric: 'QA_Rubric', summary: 'QA_Summary' },
    });
    expect(parseBusinessDataFields('score=QA_Score')).toEqual({ ok: true, fields: { score: 'QA_Score' } });
  });
  it('says what is wrong', () => {
    for (const [setting, problem] of [
      ['grade=QA', /not one of score, result, rubric, summary/],
      ['score', /value=FieldName/],
      ['score=QA Score', /not a business data field name/],
      ['score=A,score=B', /given twice/],
      ['score=A,result=A', /field 'A' is given twice/],
      [' , ', /names no field/],
    ] as const) {
      const r = parseBusinessDataFields(setting);
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.problem).toMatch(problem);
    }
  });
});

describe('buildBusinessDataBody', () => {
  const fields = { score: 'QA_Score', result: 'QA_Result', rubric: 'QA_Rubric', summary: 'QA_Summary' };
  it('score with 2 decimals, pass without a critical failure, a readable summary', () => {
    const result: ScoreResult = {
      overallScore: 66.66666,
      rules: [
        rule('greeting', 'pass'),
        rule('verification', 'fail'),
        rule('retention', 'na'),
        rule('closing', 'pass'),
      ],
    };
    expect(buildBusinessDataBody(fields, { name: 'Support', version: '3' }, result)).toEqual([
      {
        QA_Score: '66.67',
        QA_Result: 'pass',
        QA_Rubric: 'Support 3',
        QA_Summary: '2/3 rules passed; failed: verification; n/a: retention',
      },
    ]);
  });
  it('fail when a critical rule failed; only the configured fields; long text cut', () => {
    const result: ScoreResult = {
      overallScore: 0,
      rules: Array.from({ length: 80 }, (_, i) => rule(`rule_number_${i}`, 'fail')),
      criticalFailure: 'critical rule failed: prohibited',
    };
    const [body] = buildBusinessDataBody({ result: 'R', summary: 'S' }, { name: 'x', version: '1' }, result);
    expect(Object.keys(body)).toEqual(['R', 'S']);
    expect(body.R).toBe('fail');
    expect(body.S!.length).toBe(255);
  });
  it('a cut never splits a character in two (no lone surrogate goes to CXone)', () => {
    // 253 letters, then emoji: a cut at 254 UTF-16 units would keep half of the first one.
    const name = `${'a'.repeat(253)}👋👋👋`;
    const result: ScoreResult = { overallScore: 50, rules: [rule(name, 'fail'), rule('b', 'pass')] };
    const [body] = buildBusinessDataBody({ rubric: 'R', summary: 'S' }, { name, version: '1' }, result);
    for (const value of [body.R!, body.S!]) {
      expect(/\p{Cs}/u.test(value), value.slice(-4)).toBe(false);
      expect(value.endsWith('…')).toBe(true);
      expect(value.length).toBeLessThanOrEqual(255);
    }
    expect(body.R).toBe(`${'a'.repeat(253)}…`);
  });
});

import { describe, expect, it } from 'vitest';
import {
  agreementByRule,
  agreementOf,
  describeKappa,
  MIN_VERDICTS_FOR_KAPPA,
} from '../../src/calibration/agreement.js';

describe("agreement and Cohen's kappa", () => {
  it('matches a worked example', () => {
    // Engine and reviewers: 20 pass/pass, 5 pass/fail, 10 fail/pass, 15 fail/fail (n = 50).
    // p_o = 35/50 = 0.7; p_e = 0.5*0.6 + 0.5*0.4 = 0.5; kappa = 0.4.
    const a = agreementOf([
      { engineOutcome: 'pass', reviewerOutcome: 'pass', n: 20 },
      { engineOutcome: 'pass', reviewerOutcome: 'fail', n: 5 },
      { engineOutcome: 'fail', reviewerOutcome: 'pass', n: 10 },
      { engineOutcome: 'fail', reviewerOutcome: 'fail', n: 15 },
    ]);
    expect(a.verdicts).toBe(50);
    expect(a.rate).toBeCloseTo(0.7, 10);
    expect(a.kappa).toBeCloseTo(0.4, 10);
    expect(a.disagreements[0]).toEqual({ engineOutcome: 'fail', reviewerOutcome: 'pass', n: 10 });
    expect(describeKappa(0.4)).toBe('fair');
  });

  it(`gives no kappa below ${MIN_VERDICTS_FOR_KAPPA} verdicts, or when only one outcome was ever given`, () => {
    const few = agreementOf([
      { engineOutcome: 'pass', reviewerOutcome: 'pass', n: MIN_VERDICTS_FOR_KAPPA - 1 },
    ]);
    expect(few.kappa).toBeNull();
    expect(few.kappaNote).toBe(
      `needs ${MIN_VERDICTS_FOR_KAPPA} verdicts (has ${MIN_VERDICTS_FOR_KAPPA - 1})`,
    );
    const one = agreementOf([{ engineOutcome: 'pass', reviewerOutcome: 'pass', n: 100 }]);
    expect(one.rate).toBe(1);
    expect(one.kappa).toBeNull();
    expect(one.kappaNote).toMatch(/undefined/);
    expect(agreementOf([]).rate).toBeNull();
  });

  it('is computed per rule and over all verdicts', () => {
    const { rules, overall } = agreementByRule([
      { rule: 'b', engineOutcome: 'pass', reviewerOutcome: 'fail', n: 1 },
      { rule: 'a', engineOutcome: 'na', reviewerOutcome: 'na', n: 3 },
    ]);
    expect(rules.map((r) => [r.rule, r.agreement.rate])).toEqual([
      ['a', 1],
      ['b', 0],
    ]);
    expect(overall.rate).toBe(0.75);
  });
});

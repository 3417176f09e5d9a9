import { describe, expect, it } from 'vitest';
import type { QmForm } from '../../src/cxone/types.js';
import { buildEvaluation, idempotencyKey, mapRubricToForm } from '../../src/pipeline/evaluation.js';
import type { CompiledRubric, ScoreResult } from '../../src/scoring/types.js';

const form: QmForm = {
  id: 'form-1',
  name: 'Compliance',
  sections: [
    {
      sectionId: 's-open',
      name: 'Opening',
      items: [
        { itemId: 'i-greet', name: 'Greeting' },
        { itemId: 'i-verify', name: 'Verification' },
      ],
    },
    { sectionId: 's-close', name: 'Closing', items: [{ itemId: 'i-close', name: 'closing_summary' }] },
  ],
};

const rubric = (rules: CompiledRubric['rules']): CompiledRubric => ({
  name: 'r',
  version: '1',
  hash: 'abc',
  rules,
});
const rule = (name: string, extra: Partial<CompiledRubric['rules'][number]> = {}) => ({
  name,
  weight: 1,
  critical: false,
  ...extra,
});

describe('mapping rules to form items', () => {
  it('maps by item name ignoring case, and by explicit ids', () => {
    const r = mapRubricToForm(
      rubric([
        rule('greeting'),
        rule('VERIFICATION'),
        rule('wrap', { sectionId: 's-close', itemId: 'i-close' }),
      ]),
      form,
    );
    expect(r.ok && r.mapping.kind === 'per-rule' && [...r.mapping.items]).toEqual([
      ['greeting', { sectionId: 's-open', itemId: 'i-greet' }],
      ['VERIFICATION', { sectionId: 's-open', itemId: 'i-verify' }],
      ['wrap', { sectionId: 's-close', itemId: 'i-close' }],
    ]);
  });

  it('names every rule that fits no item', () => {
    const r = mapRubricToForm(
      rubric([
        rule('greeting'),
        rule('empathy'),
        rule('x', { sectionId: 's-nope', itemId: 'i-greet' }),
        rule('y', { itemId: 'i-nope' }),
      ]),
      form,
    );
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.problems).toHaveLength(3);
      expect(r.problems[0]).toMatch(/rule 'empathy'.*no item named/);
      expect(r.problems[1]).toMatch(/rule 'x'.*section 's-nope'/);
      expect(r.problems[2]).toMatch(/rule 'y'.*item 'i-nope'/);
    }
  });

  it('refuses two rules on one item', () => {
    const r = mapRubricToForm(rubric([rule('greeting'), rule('hello', { itemId: 'i-greet' })]), form);
    expect(!r.ok && r.problems[0]).toMatch(/already scored by rule 'greeting'/);
  });

  it('single-item mode checks the item exists', () => {
    expect(
      mapRubricToForm(rubric([rule('anything')]), form, { sectionId: 's-open', itemId: 'i-greet' }).ok,
    ).toBe(true);
    const r = mapRubricToForm(rubric([rule('anything')]), form, { sectionId: 's-open', itemId: 'i-close' });
    expect(!r.ok && r.problems[0]).toMatch(/QM_ITEM_ID/);
  });
});

describe('evaluation body', () => {
  const result: ScoreResult = {
    overallScore: 85.5555,
    rules: [
      {
        name: 'greeting',
        outcome: 'pass',
        score: 100,
        weight: 1,
        comment: '[GREETING] Greeted. "hello" (agent, 00:00:01)',
        evidence: '',
      },
      {
        name: 'verification',
        outcome: 'na',
        score: null,
        weight: 1,
        comment: '[VERIFICATION] N/A',
        evidence: '',
      },
      {
        name: 'closing_summary',
        outcome: 'fail',
        score: 0,
        weight: 1,
        comment: '[CLOSING_SUMMARY] No closing',
        evidence: '',
      },
    ],
  };
  const r = rubric([rule('greeting'), rule('verification'), rule('closing_summary')]);

  it('one item per rule, grouped by section, N/A rules left out, overall rounded to 2 decimals', () => {
    const mapped = mapRubricToForm(r, form);
    if (!mapped.ok) throw new Error('mapping');
    const body = buildEvaluation({
      conversationId: 'c1',
      agentId: 'a1',
      mapping: mapped.mapping,
      rubric: r,
      result,
      comment: 'C',
    });
    expect(body).toEqual({
      form_id: 'form-1',
      agent_id: 'a1',
      conversation_id: 'c1',
      sections: [
        {
          section_id: 's-open',
          items: [
            { item_id: 'i-greet', score: 100, comment: '[GREETING] Greeted. "hello" (agent, 00:00:01)' },
          ],
        },
        {
          section_id: 's-close',
          items: [{ item_id: 'i-close', score: 0, comment: '[CLOSING_SUMMARY] No closing' }],
        },
      ],
      overall_score: 85.56,
      comment: 'C',
    });
  });

  it('single-item mode puts the composite and every comment on one item', () => {
    const mapped = mapRubricToForm(r, form, { sectionId: 's-open', itemId: 'i-greet' });
    if (!mapped.ok) throw new Error('mapping');
    const body = buildEvaluation({
      conversationId: 'c1',
      agentId: 'a1',
      mapping: mapped.mapping,
      rubric: r,
      result,
      comment: 'C',
    });
    expect(body.sections).toHaveLength(1);
    expect(body.sections[0]!.items[0]!.score).toBe(85.56);
    expect(body.sections[0]!.items[0]!.comment.split('\n')).toHaveLength(3);
  });
});

describe('idempotency key', () => {
  it('is the same for every attempt of one conversation and form, and differs otherwise', () => {
    expect(idempotencyKey('c1', 'f1')).toBe(idempotencyKey('c1', 'f1'));
    expect(idempotencyKey('c1', 'f1')).not.toBe(idempotencyKey('c2', 'f1'));
    expect(idempotencyKey('c1', 'f1')).not.toBe(idempotencyKey('c1', 'f2'));
    // No ambiguity from concatenation.
    expect(idempotencyKey('c1f', '1')).not.toBe(idempotencyKey('c1', 'f1'));
  });
});

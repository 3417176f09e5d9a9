import type { StoredRule } from '../../src/store/results.js';

/**
 * One rule's row as the worker keeps it: score 100 for a pass, 0 for a fail, null when N/A; weight 1,
 * not critical, no evidence or comment unless given.
 */
export function storedRule(
  name: string,
  outcome: StoredRule['outcome'],
  more: Partial<StoredRule> = {},
): StoredRule {
  return {
    name,
    outcome,
    score: outcome === 'pass' ? 100 : outcome === 'fail' ? 0 : null,
    weight: 1,
    critical: false,
    evidence: '',
    comment: '',
    ...more,
  };
}

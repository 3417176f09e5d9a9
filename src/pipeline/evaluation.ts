import { createHash } from 'node:crypto';
import type { EvaluationBody, QmForm } from '../cxone/types.js';
import { type CompiledRubric, formatScore, type ScoreResult } from '../scoring/index.js';

/** Where each rule's score goes on the QM form. */
export type FormMapping =
  | { kind: 'per-rule'; formId: string; items: Map<string, { sectionId: string; itemId: string }> }
  /** QM_ITEM_ID set: one item takes the composite and every rule's comment. */
  | { kind: 'single-item'; formId: string; sectionId: string; itemId: string };

export type MappingResult = { ok: true; mapping: FormMapping } | { ok: false; problems: string[] };

/**
 * Maps rules to form items as docs/contract.md section 2 says: the item a rule names (section_id/item_id), else
 * the form item whose name equals the rule's name ignoring case. Every rule that fits no item is
 * named, so the service can refuse to start with the whole list at once.
 */
export function mapRubricToForm(
  rubric: CompiledRubric,
  form: QmForm,
  single?: { sectionId: string; itemId: string },
): MappingResult {
  const problems: string[] = [];
  if (single) {
    const section = form.sections.find((s) => s.sectionId === single.sectionId);
    if (!section) problems.push(`QM_SECTION_ID: section '${single.sectionId}' is not on form '${form.id}'`);
    else if (!section.items.some((i) => i.itemId === single.itemId))
      problems.push(
        `QM_ITEM_ID: item '${single.itemId}' is not in section '${single.sectionId}' of form '${form.id}'`,
      );
    return problems.length
      ? { ok: false, problems }
      : { ok: true, mapping: { kind: 'single-item', formId: form.id, ...single } };
  }

  const byName = new Map<string, { sectionId: string; itemId: string }[]>();
  for (const section of form.sections) {
    for (const item of section.items) {
      const key = item.name.trim().toLowerCase();
      byName.set(key, [...(byName.get(key) ?? []), { sectionId: section.sectionId, itemId: item.itemId }]);
    }
  }
  const items = new Map<string, { sectionId: string; itemId: string }>();
  for (const rule of rubric.rules) {
    if (rule.itemId) {
      const section = rule.sectionId
        ? form.sections.find((s) => s.sectionId === rule.sectionId)
        : form.sections.find((s) => s.items.some((i) => i.itemId === rule.itemId));
      if (!section) {
        problems.push(
          rule.sectionId
            ? `rule '${rule.name}': section '${rule.sectionId}' is not on form '${form.id}'`
            : `rule '${rule.name}': item '${rule.itemId}' is not on form '${form.id}'`,
        );
      } else if (!section.items.some((i) => i.itemId === rule.itemId)) {
        problems.push(
          `rule '${rule.name}': item '${rule.itemId}' is not in section '${section.sectionId}' of form '${form.id}'`,
        );
      } else {
        items.set(rule.name, { sectionId: section.sectionId, itemId: rule.itemId });
      }
      continue;
    }
    const matches = byName.get(rule.name.trim().toLowerCase()) ?? [];
    if (matches.length === 1) items.set(rule.name, matches[0]!);
    else if (matches.length === 0)
      problems.push(
        `rule '${rule.name}': no item named '${rule.name}' on form '${form.id}' (name one with section_id/item_id)`,
      );
    else
      problems.push(
        `rule '${rule.name}': ${matches.length} items named '${rule.name}' on form '${form.id}'; name one with item_id`,
      );
  }
  const used = new Map<string, string>();
  for (const [rule, target] of items) {
    const key = `${target.sectionId}/${target.itemId}`;
    const other = used.get(key);
    if (other) problems.push(`rule '${rule}': item '${target.itemId}' is already scored by rule '${other}'`);
    used.set(key, rule);
  }
  return problems.length
    ? { ok: false, problems }
    : { ok: true, mapping: { kind: 'per-rule', formId: form.id, items } };
}

/** Rounds as the tutorial's Python does (`round(x, 2)`), so scores match it to the cent. */
const round2 = (n: number) => Number(formatScore(n));
const clampScore = (n: number) => Math.min(100, Math.max(0, round2(n)));

/**
 * The evaluation body: one entry per form section that has scored items, each item with its score
 * and the comment that explains it. N/A rules are left out (the evaluation comment lists them).
 */
export function buildEvaluation(input: {
  conversationId: string;
  agentId: string;
  mapping: FormMapping;
  rubric: CompiledRubric;
  result: ScoreResult;
  comment: string;
}): EvaluationBody {
  const { mapping, result } = input;
  const overall = clampScore(result.overallScore);
  let sections: EvaluationBody['sections'];
  if (mapping.kind === 'single-item') {
    const comment = result.rules.map((r) => r.comment).join('\n');
    sections = [
      { section_id: mapping.sectionId, items: [{ item_id: mapping.itemId, score: overall, comment }] },
    ];
  } else {
    const bySection = new Map<string, EvaluationBody['sections'][number]['items']>();
    for (const rule of result.rules) {
      if (rule.outcome === 'na' || rule.score === null) continue;
      const target = mapping.items.get(rule.name);
      if (!target)
        throw new Error(`rule '${rule.name}' has no form item (mapping was built for another rubric)`);
      const items = bySection.get(target.sectionId) ?? [];
      // The engine's comment already starts with the tutorial's `[RULE_NAME]` tag.
      items.push({ item_id: target.itemId, score: clampScore(rule.score), comment: rule.comment });
      bySection.set(target.sectionId, items);
    }
    sections = [...bySection].map(([section_id, items]) => ({ section_id, items }));
  }
  return {
    form_id: mapping.formId,
    agent_id: input.agentId,
    conversation_id: input.conversationId,
    sections,
    overall_score: overall,
    comment: input.comment,
  };
}

/**
 * The Idempotency-Key for one evaluation: a function of the conversation and the form only, so every
 * attempt (after a timeout, a crash, or by another process) repeats the same key and CXone answers
 * with the evaluation it already made instead of making a second one.
 */
export function idempotencyKey(conversationId: string, formId: string): string {
  const digest = createHash('sha256').update(`${conversationId}\u0000${formId}`).digest('hex').slice(0, 32);
  return `qm-autoscore-${digest}`;
}

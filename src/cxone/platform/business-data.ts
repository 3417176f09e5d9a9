import type { CompiledRubric, ScoreResult } from '../../scoring/index.js';
import { formatScore } from '../../scoring/index.js';

/**
 * The write-back of the platform profile: a result as business data on the contact
 * (`PUT business-data/contact/{contactId}`, body `[{"<field>": "<value>", ...}]`). Which of the
 * tenant's business data fields take which value is the setting CXONE_BUSINESS_DATA_FIELDS, e.g.
 * `score=QA_Score,result=QA_Result,rubric=QA_Rubric,summary=QA_Summary`; any subset will do.
 */

export const BUSINESS_DATA_VALUES = ['score', 'result', 'rubric', 'summary'] as const;
export type BusinessDataValue = (typeof BUSINESS_DATA_VALUES)[number];
export type BusinessDataFields = Partial<Record<BusinessDataValue, string>>;

/**
 * Longest text written to one field. NICE does not document the limit (L); 255 is the common
 * column size, and a summary cut short beats a 400 that loses the whole write.
 */
export const MAX_BUSINESS_DATA_CHARS = 255;

/** Field names as CXone's admin allows them, conservatively: letters, digits, `_`, `-`, `.`. */
const FIELD_NAME = /^[A-Za-z][A-Za-z0-9_.-]{0,99}$/;

export type FieldsResult = { ok: true; fields: BusinessDataFields } | { ok: false; problem: string };

export function parseBusinessDataFields(setting: string): FieldsResult {
  const fields: BusinessDataFields = {};
  const used = new Set<string>();
  for (const part of setting.split(',').map((p) => p.trim())) {
    if (part === '') continue;
    const m = /^([a-z]+)\s*=\s*(.+)$/.exec(part);
    if (!m) return { ok: false, problem: `'${part}' is not value=FieldName (e.g. score=QA_Score)` };
    const value = m[1] as BusinessDataValue;
    const field = m[2]!.trim();
    if (!BUSINESS_DATA_VALUES.includes(value)) {
      return { ok: false, problem: `'${m[1]}' is not one of ${BUSINESS_DATA_VALUES.join(', ')}` };
    }
    if (!FIELD_NAME.test(field))
      return { ok: false, problem: `'${field}' is not a business data field name` };
    if (fields[value] !== undefined) return { ok: false, problem: `'${value}' is given twice` };
    if (used.has(field)) return { ok: false, problem: `field '${field}' is given twice` };
    fields[value] = field;
    used.add(field);
  }
  if (Object.keys(fields).length === 0) return { ok: false, problem: 'names no field' };
  return { ok: true, fields };
}

function cut(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  if (flat.length <= MAX_BUSINESS_DATA_CHARS) return flat;
  let end = MAX_BUSINESS_DATA_CHARS - 1;
  // Never between the two halves of a character beyond the BMP (an emoji in a rule's name): a lone
  // surrogate is not text, and CXone may refuse or mangle the write.
  const last = flat.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end--;
  return `${flat.slice(0, end)}…`;
}

/** `pass`, unless a critical rule failed (the contract's rule; there is no pass mark). */
export function resultOf(result: ScoreResult): 'pass' | 'fail' {
  return result.criticalFailure ? 'fail' : 'pass';
}

/** One line a supervisor reads in CXone: how many rules passed, which failed, which did not apply. */
export function summaryOf(result: ScoreResult): string {
  const applied = result.rules.filter((r) => r.outcome !== 'na');
  const failed = applied.filter((r) => r.outcome === 'fail').map((r) => r.name);
  const na = result.rules.filter((r) => r.outcome === 'na').map((r) => r.name);
  const parts = [`${applied.length - failed.length}/${applied.length} rules passed`];
  if (failed.length > 0) parts.push(`failed: ${failed.join(', ')}`);
  if (result.criticalFailure) parts.push('critical rule failed');
  if (na.length > 0) parts.push(`n/a: ${na.join(', ')}`);
  return parts.join('; ');
}

/** The PUT body: one object with every configured field, values as text. */
export function buildBusinessDataBody(
  fields: BusinessDataFields,
  rubric: Pick<CompiledRubric, 'name' | 'version'>,
  result: ScoreResult,
): [Record<string, string>] {
  const values: Record<BusinessDataValue, string> = {
    score: formatScore(Math.min(100, Math.max(0, result.overallScore))),
    result: resultOf(result),
    rubric: cut(`${rubric.name} ${rubric.version}`),
    summary: cut(summaryOf(result)),
  };
  const object: Record<string, string> = {};
  for (const value of BUSINESS_DATA_VALUES) {
    const field = fields[value];
    if (field) object[field] = values[value];
  }
  return [object];
}

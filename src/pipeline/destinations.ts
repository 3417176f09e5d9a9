import { type BusinessDataFields, buildBusinessDataBody } from '../cxone/platform/business-data.js';
import type { PlatformClient } from '../cxone/platform/types.js';
import type { CxoneClient, CxoneResult } from '../cxone/types.js';
import type { CompiledRubric, ScoreResult } from '../scoring/index.js';
import { formatScore } from '../scoring/index.js';
import { buildEvaluation, type FormMapping, idempotencyKey } from './evaluation.js';

/**
 * Where a result goes besides the service's own database: one implementation per API profile. The
 * answer (where, and the id the destination gave it) is a value the worker hands to the store's
 * `submitted` transition, so the database records what was delivered where.
 */
export type DeliveryTarget = 'cxone-qm' | 'cxone-business-data' | 'none';

export interface Delivery {
  target: DeliveryTarget;
  /** The destination's id for what it made (a QM evaluation id); null when it gives none. */
  id: string | null;
  /** The composite as delivered (rounded to 2 decimals). */
  overallScore: number;
  /**
   * The destination answered with what it had already made for this conversation and key (a QM
   * evaluation under the same Idempotency-Key: another database, an earlier rubric, a lost answer),
   * with the score it holds when it says.
   */
  alreadyEvaluated?: { heldScore?: number };
}

export interface Scored {
  conversationId: string;
  agentId: string;
  result: ScoreResult;
  /** The evaluation comment (rubric, version, hash, critical failure, N/A rules). */
  comment: string;
}

export interface Destination {
  /**
   * The second half of the job key (conversation, key): exactly one result and one delivery per
   * conversation and key. The QM form id in the tutorial profile; in the platform profile a key
   * derived from the rubric, as there is no form.
   */
  readonly key: string;
  deliver(scored: Scored): Promise<CxoneResult<Delivery>>;
}

const round2 = (n: number) => Number(formatScore(Math.min(100, Math.max(0, n))));

/** The tutorial API: an itemized QM evaluation, with an Idempotency-Key that makes a repeat harmless. */
export function qmDestination(
  cxone: Pick<CxoneClient, 'submitEvaluation'>,
  mapping: FormMapping,
  rubric: CompiledRubric,
): Destination {
  return {
    key: mapping.formId,
    async deliver({ conversationId, agentId, result, comment }) {
      const body = buildEvaluation({ conversationId, agentId, mapping, rubric, result, comment });
      const submitted = await cxone.submitEvaluation(body, idempotencyKey(conversationId, mapping.formId));
      if (!submitted.ok) return submitted;
      const delivery: Delivery = {
        target: 'cxone-qm',
        id: submitted.value.id,
        overallScore: body.overall_score,
      };
      if (submitted.value.alreadyEvaluated) {
        const { overallScore: heldScore } = submitted.value;
        delivery.alreadyEvaluated = heldScore === undefined ? {} : { heldScore };
      }
      return { ok: true, value: delivery };
    },
  };
}

/** The platform profile's job key: the rubric's name, so a new version of a rubric does not score a contact again. */
export function rubricKey(rubric: Pick<CompiledRubric, 'name'>): string {
  return `rubric:${rubric.name}`;
}

/**
 * The documented APIs: the result written once to the contact as business data, when fields are
 * configured; otherwise the result stays in the service's database only. A write whose answer was
 * lost is repeated; the PUT sets the same values again, so the contact ends with one set of them.
 */
export function businessDataDestination(
  client: Pick<PlatformClient, 'writeBusinessData'>,
  fields: BusinessDataFields | null,
  rubric: CompiledRubric,
): Destination {
  return {
    key: rubricKey(rubric),
    async deliver({ conversationId, result }) {
      const overallScore = round2(result.overallScore);
      if (!fields) return { ok: true, value: { target: 'none', id: null, overallScore } };
      const written = await client.writeBusinessData(
        conversationId,
        buildBusinessDataBody(fields, rubric, result),
      );
      if (!written.ok) return written;
      return { ok: true, value: { target: 'cxone-business-data', id: null, overallScore } };
    },
  };
}

import type { CompiledRubric, ScoreResult, TranscriptLine } from '../scoring/index.js';
import type { Delivery, ResultInput } from '../store/results.js';

/** What the pipeline knows of a job when it records its result. */
export interface ScoredJob {
  conversationId: string;
  /** The job's form_id: the destination key. */
  formId: string;
  agentId: string;
  mediaType?: string | null;
  startTime?: string | null;
  endTime?: string | null;
}

/**
 * A scored conversation as the result store keeps it: the engine's result with each rule's
 * criticality from the rubric, the composite as delivered, and the transcript it was scored from.
 */
export function resultInput(args: {
  job: ScoredJob;
  rubric: CompiledRubric;
  result: ScoreResult;
  /** The composite as delivered (two decimals). */
  overallScore: number;
  comment: string;
  transcript: readonly TranscriptLine[];
  delivery: Delivery;
  now: number;
}): ResultInput {
  const { job, rubric, result } = args;
  const critical = new Set(rubric.rules.filter((r) => r.critical).map((r) => r.name));
  return {
    conversationId: job.conversationId,
    destination: job.formId,
    agentId: job.agentId,
    mediaType: job.mediaType ?? null,
    startTime: job.startTime ?? null,
    endTime: job.endTime ?? null,
    evaluatedAt: args.now,
    overallScore: args.overallScore,
    criticalFailure: result.criticalFailure ?? null,
    rubric: { name: rubric.name, version: rubric.version, hash: rubric.hash },
    rules: result.rules.map((r) => ({
      name: r.name,
      outcome: r.outcome,
      score: r.score,
      weight: r.weight,
      critical: critical.has(r.name),
      evidence: r.evidence,
      comment: r.comment,
    })),
    comment: args.comment,
    delivery: args.delivery,
    transcript: args.transcript,
  };
}

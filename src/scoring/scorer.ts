import type { Rubric } from './rubric.js';
import { evaluationComment, scoreTranscript } from './score.js';
import type { CompiledRubric, ScoreResult, TranscriptLine } from './types.js';

/**
 * The rubric engine as the rest of the service uses it: one rubric, compiled once at start-up,
 * applied to many transcripts. Pure like the engine: the worker and the tests hold one of these and
 * never see how a rule is evaluated (tests may stand in their own).
 */
export interface Scorer {
  rubric: CompiledRubric;
  score(lines: TranscriptLine[]): ScoreResult;
  comment(result: ScoreResult): string;
}

/** The engine's Scorer for a parsed rubric. */
export function createScorer(rubric: Rubric): Scorer {
  return {
    rubric,
    score: (lines) => scoreTranscript(rubric, lines),
    comment: (result) => evaluationComment(rubric, result),
  };
}

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
  /**
   * Async: the service scores on worker threads (src/scoring-pool), so that a long transcript never
   * holds the event loop; this engine's own Scorer (createScorer) answers at once.
   */
  score(lines: TranscriptLine[]): Promise<ScoreResult>;
  comment(result: ScoreResult): string;
}

/** The engine's Scorer for a parsed rubric, scoring on the calling thread (tests, tools). */
export function createScorer(rubric: Rubric): Scorer {
  return {
    rubric,
    score: async (lines) => scoreTranscript(rubric, lines),
    comment: (result) => evaluationComment(rubric, result),
  };
}

/**
 * The scorer the service uses: the rubric engine running on worker threads (src/worker-pool), behind the
 * engine's `Scorer` interface. Scoring is CPU work proportional to the transcript (docs/rubrics.md
 * section 4 bounds it), so a long transcript on the main thread would hold every HTTP request and the
 * lease renewal until it is done; on a worker thread it holds only its own job.
 */
import type { TranscriptLine } from '../domain/transcript.js';
import { evaluationComment, type Rubric, type ScoreResult, type Scorer } from '../scoring/index.js';
import { createWorkerPool, defaultPoolSize, moduleNextTo } from '../worker-pool/index.js';

export { defaultPoolSize } from '../worker-pool/index.js';

export interface ScoringPool extends Scorer {
  readonly threads: number;
  close(): Promise<void>;
}

export interface ScoringPoolOptions {
  /** The compiled rubric (the main thread's copy: name, rules, hash for the evaluation). */
  rubric: Rubric;
  /** The rubric file's text and path, which each worker compiles again (functions do not cross threads). */
  text: string;
  path: string;
  /** Worker threads; default every core but one, at least one. */
  threads?: number;
}

export function createScoringPool(options: ScoringPoolOptions): ScoringPool {
  const { rubric } = options;
  const pool = createWorkerPool<TranscriptLine[], ScoreResult>({
    entry: moduleNextTo(import.meta.url, 'scoring-worker'),
    workerData: { text: options.text, path: options.path },
    size: options.threads ?? defaultPoolSize(),
    name: 'scoring',
  });
  return {
    rubric,
    threads: pool.size,
    score: (lines) => pool.run(lines),
    comment: (result: ScoreResult) => evaluationComment(rubric, result),
    close: () => pool.close(),
  };
}

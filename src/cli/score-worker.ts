/** Entry module of `npm run score`'s worker threads: compiles the rubric, then scores batches. */
import { workerData } from 'node:worker_threads';
import { parseRubric } from '../scoring/index.js';
import { serveTasks } from '../worker-pool/index.js';
import { type BatchRequest, type BatchResult, scoreBatch } from './score-batch.js';

const { text, path } = workerData as { text: string; path: string };
const parsed = parseRubric(text, path);
// The command refuses an invalid rubric before it starts any worker; this is a bug if it happens.
if (!parsed.ok) throw new Error(`rubric does not compile in the worker: ${parsed.errors.join('; ')}`);
const rubric = parsed.rubric;

serveTasks<BatchRequest, BatchResult>(
  (request) => scoreBatch(rubric, request),
  (result) => [result.out.buffer as ArrayBuffer, result.input.buffer as ArrayBuffer],
);

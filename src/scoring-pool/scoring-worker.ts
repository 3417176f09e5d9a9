/**
 * Entry module of the scoring pool's worker threads: compiles the rubric the main thread already
 * validated (same text, so the same rubric and hash), then scores transcripts one at a time.
 */
import { workerData } from 'node:worker_threads';
import type { TranscriptLine } from '../domain/transcript.js';
import { parseRubric, type ScoreResult, scoreTranscript } from '../scoring/index.js';
import { serveTasks } from '../worker-pool/index.js';

const { text, path } = workerData as { text: string; path: string };
const parsed = parseRubric(text, path);
// The main thread refuses an invalid rubric before it starts the pool; this is a bug if it happens.
if (!parsed.ok) throw new Error(`rubric does not compile in the worker: ${parsed.errors.join('; ')}`);
const rubric = parsed.rubric;

serveTasks<TranscriptLine[], ScoreResult>((lines) => scoreTranscript(rubric, lines));

import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createScorer, parseRubric, type Rubric, type Scorer } from './scoring/index.js';

/** The bundled default: the tutorial's four rules. Resolved from this file, not the working directory. */
export const DEFAULT_RUBRIC_PATH = resolve(
  dirname(fileURLToPath(import.meta.url)),
  '../rubrics/tutorial.yaml',
);

export type RubricLoad =
  | {
      ok: true;
      rubric: Rubric;
      /** Scores on the calling thread (tests, tools); the service uses src/scoring-pool instead. */
      scorer: Scorer;
      /** The file's path and text, for threads that compile their own copy (src/scoring-pool). */
      path: string;
      text: string;
    }
  | { ok: false; problems: string[] };

/**
 * A rubric file's bytes as text, or null when they are not UTF-8. Decoded strictly: a file saved as
 * Latin-1 or UTF-16 (a Windows editor's default) would otherwise load with U+FFFD in place of its
 * accented letters, and a phrase holding one would silently never match. Valid UTF-8 reads exactly
 * as readFileSync(file, 'utf8') reads it (a BOM included), so a rubric's hash does not change.
 */
export function decodeRubricText(bytes: Uint8Array): string | null {
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    return null;
  }
}

/** Reads and compiles a rubric file once; every problem comes back as one line naming the file. */
export function loadRubricFile(path: string | null): RubricLoad {
  const file = path ?? DEFAULT_RUBRIC_PATH;
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return {
      ok: false,
      problems: [`RUBRIC_PATH: cannot read '${file}' (${code ?? (error as Error).message})`],
    };
  }
  const text = decodeRubricText(bytes);
  if (text === null)
    return { ok: false, problems: [`RUBRIC_PATH: '${file}' is not UTF-8 text (save it as UTF-8)`] };
  const parsed = parseRubric(text, file);
  if (!parsed.ok) return { ok: false, problems: parsed.errors };
  const rubric = parsed.rubric;
  return {
    ok: true,
    rubric,
    path: file,
    text,
    scorer: createScorer(rubric),
  };
}

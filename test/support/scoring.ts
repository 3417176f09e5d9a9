import { readFileSync } from 'node:fs';
import { parseRubric, type Rubric, type TranscriptLine } from '../../src/scoring/index.js';

/** The rubric `text` defines; throws with its errors when it does not load. */
export function rubricOf(text: string, file = 'rubric.yaml'): Rubric {
  const parsed = parseRubric(text, file);
  if (!parsed.ok) throw new Error(parsed.errors.join('\n'));
  return parsed.rubric;
}

/** One of the repository's bundled rubrics (rubrics/NAME), loaded as the command loads it. */
export function bundledRubric(name: 'tutorial.yaml' | 'example.yaml'): Rubric {
  return rubricOf(readFileSync(new URL(`../../rubrics/${name}`, import.meta.url), 'utf8'), name);
}

/** The errors that refuse the rubric `text`; throws when it loads. */
export function errorsOf(text: string, file = 'rubric.yaml'): string[] {
  const parsed = parseRubric(text, file);
  if (parsed.ok) throw new Error('expected the rubric to be refused');
  return parsed.errors;
}

/** `A: text` / `C: text` / `S: text`, optionally `@00:00:05` before the text. */
export function call(...turns: string[]): TranscriptLine[] {
  return turns.map((t) => {
    const m = /^([ACS?]):\s*(?:@(\S*)\s+)?(.*)$/s.exec(t);
    if (!m) throw new Error(`bad turn ${t}`);
    const speaker = { A: 'AGENT', C: 'CUSTOMER', S: 'SYSTEM', '?': 'BOT' }[m[1] as 'A'];
    return { speaker, text: m[3]!, timestamp: m[2] ?? '' };
  });
}

/** A native-shape rubric around `rules` (YAML list items). */
export function nativeRubric(rules: string, extra = ''): string {
  return `name: Test\nversion: "1"\n${extra}rules:\n${rules}`;
}

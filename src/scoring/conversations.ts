/**
 * Reads conversation files' text for the CLIs: one `{"id"?, "transcript": [...]}` object, or JSON Lines of
 * them. Pure: the caller reads the file. Bad entries come back as errors naming the file and line.
 */
import { z } from 'zod';
import { transcriptLineSchema } from './schema.js';
import type { TranscriptLine } from './types.js';

export interface Conversation {
  id: string;
  transcript: TranscriptLine[];
}

const conversationSchema = z.object({
  id: z.union([z.string(), z.number().transform(String)]).optional(),
  transcript: z.array(transcriptLineSchema, { error: 'must be a list of {speaker, text, timestamp}' }),
});

export function parseConversations(
  text: string,
  fileName: string,
): { conversations: Conversation[]; errors: string[] } {
  const base = fileName.replace(/^.*[\\/]/, '').replace(/\.(jsonl?|ndjson)$/i, '');
  const conversations: Conversation[] = [];
  const errors: string[] = [];
  const one = (value: unknown, where: string, fallbackId: string) => {
    // A bare list of lines is accepted too: it is what the transcript endpoint's `transcript` holds.
    const parsed = conversationSchema.safeParse(Array.isArray(value) ? { transcript: value } : value);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      const field = issue.path.length > 0 ? `\`${issue.path.join('.')}\` ` : '';
      let node: unknown = value;
      for (const key of issue.path)
        node = (node as Record<PropertyKey, unknown> | undefined)?.[key as PropertyKey];
      const message = node === undefined ? 'is required' : issue.message;
      errors.push(`${where}: ${field}${message}`);
      return;
    }
    conversations.push({ id: parsed.data.id ?? fallbackId, transcript: parsed.data.transcript });
  };
  const trimmed = text.trim();
  if (trimmed === '') return { conversations, errors: [`${fileName}: the file is empty`] };
  let whole: unknown;
  let wholeError: Error | undefined;
  try {
    whole = JSON.parse(trimmed);
  } catch (e) {
    wholeError = e as Error;
  }
  if (!wholeError) {
    if (Array.isArray(whole) && whole.some((item) => isObject(item) && 'transcript' in item)) {
      // An array of conversations (a natural export shape), not a bare list of lines.
      for (const [i, item] of whole.entries()) one(item, `${fileName}[${i}]`, `${base}:${i + 1}`);
    } else {
      one(whole, fileName, base);
    }
    return { conversations, errors };
  }
  const lines = text.split('\n');
  const firstLine = lines.find((l) => l.trim() !== '') ?? '';
  if (!parsesAsJson(firstLine)) {
    // Not JSON Lines either (its first line is no JSON value): one document with a syntax error.
    // Report it once, at its line, rather than every line of a pretty-printed file.
    const position = /position (\d+)/.exec(wholeError.message);
    const offset = text.indexOf(trimmed) + (position ? Number(position[1]) : 0);
    const line = text.slice(0, offset).split('\n').length;
    return { conversations, errors: [`${fileName}:${line}: not valid JSON (${wholeError.message})`] };
  }
  lines.forEach((line, i) => {
    if (line.trim() === '') return;
    const where = `${fileName}:${i + 1}`;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (e) {
      errors.push(`${where}: not valid JSON (${(e as Error).message})`);
      return;
    }
    one(value, where, `${base}:${i + 1}`);
  });
  return { conversations, errors };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function parsesAsJson(line: string): boolean {
  try {
    JSON.parse(line);
    return true;
  } catch {
    return false;
  }
}

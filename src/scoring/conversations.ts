/**
 * Reads conversation files' text for the CLIs: one `{"id"?, "transcript": [...]}` object, an array of
 * them, a bare list of lines, or JSON Lines of conversations. Pure: the caller reads the file. Bad
 * entries come back as errors naming the file and line.
 */
import * as z from 'zod';
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

/** What one JSON value holds: a conversation, or one line saying why not (prefixed with `where`). */
export type ConversationRead = { ok: true; conversation: Conversation } | { ok: false; error: string };

/**
 * One JSON value (a conversation, or a bare list of lines: what the transcript endpoint's `transcript`
 * holds) as a conversation; `fallbackId` when it has no id.
 */
export function readConversation(value: unknown, where: string, fallbackId: string): ConversationRead {
  const fast = quickRead(value, fallbackId);
  if (fast) return { ok: true, conversation: fast };
  const input = Array.isArray(value) ? { transcript: value } : value;
  const keys = wrongKeys(input);
  if (keys) return { ok: false, error: `${where}: ${keys}` };
  const parsed = conversationSchema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const field = issue.path.length > 0 ? `\`${issue.path.join('.')}\` ` : '';
    let node: unknown = input;
    for (const key of issue.path)
      node = (node as Record<PropertyKey, unknown> | undefined)?.[key as PropertyKey];
    const message = node === undefined ? 'is required' : issue.message;
    return { ok: false, error: `${where}: ${field}${message}` };
  }
  return { ok: true, conversation: { id: parsed.data.id ?? fallbackId, transcript: parsed.data.transcript } };
}

/**
 * The conversation when `value` is well-formed (almost always), built exactly as the schema would
 * build it; null to let the schema say what is wrong. The schema alone was a third of the time of
 * `npm run score` on a large file.
 */
function quickRead(value: unknown, fallbackId: string): Conversation | null {
  let id = fallbackId;
  let lines: unknown;
  if (Array.isArray(value)) lines = value;
  else {
    if (typeof value !== 'object' || value === null) return null;
    const record = value as { id?: unknown; transcript?: unknown };
    if (typeof record.id === 'string') id = record.id;
    else if (typeof record.id === 'number') id = String(record.id);
    else if (record.id !== undefined) return null;
    lines = record.transcript;
  }
  if (!Array.isArray(lines)) return null;
  // Lines that already are {speaker, text, timestamp} strings are used as they are (extra keys are
  // never read); the others are built as the schema builds them (defaults, numeric timestamps).
  let transcript = lines as TranscriptLine[];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] as { speaker?: unknown; text?: unknown; timestamp?: unknown } | null;
    if (typeof line !== 'object' || line === null || Array.isArray(line)) return null;
    const { speaker, text, timestamp } = line;
    if (typeof text !== 'string') return null;
    if (typeof speaker === 'string' && typeof timestamp === 'string') continue;
    if (speaker !== undefined && typeof speaker !== 'string') return null;
    if (timestamp !== undefined && typeof timestamp !== 'string' && typeof timestamp !== 'number')
      return null;
    if (transcript === lines) transcript = lines.slice() as TranscriptLine[];
    transcript[i] = {
      speaker: speaker ?? 'UNKNOWN',
      text,
      timestamp: timestamp === undefined ? '' : String(timestamp),
    };
  }
  return { id, transcript };
}

/**
 * A line without `text` (e.g. `{"role": ..., "content": ...}`, another tool's format) would score as
 * silence, 0 for every rule: say which line and which keys are expected instead.
 */
function wrongKeys(input: unknown): string | null {
  const lines = (input as { transcript?: unknown } | null)?.transcript;
  if (!Array.isArray(lines)) return null;
  for (let i = 0; i < lines.length; i++) {
    const line: unknown = lines[i];
    if (typeof line !== 'object' || line === null || Array.isArray(line) || 'text' in line) continue;
    const keys = Object.keys(line);
    const has = keys.length > 0 ? `it has ${keys.map((k) => `"${k}"`).join(', ')}` : 'it is empty';
    return `transcript line ${i + 1} has no "text": each line needs "speaker", "text" and "timestamp" (${has})`;
  }
  return null;
}

/** The id a conversation without one gets: the file's name, plus its line in a JSON Lines file. */
export function fileBaseName(fileName: string): string {
  return fileName.replace(/^.*[\\/]/, '').replace(/\.(jsonl?|ndjson)$/i, '');
}

/** One line of a JSON Lines file (`lineNumber` from 1); null for a blank line. */
export function readConversationLine(
  line: string,
  fileName: string,
  base: string,
  lineNumber: number,
): ConversationRead | null {
  if (line.trim() === '') return null;
  const where = `${fileName}:${lineNumber}`;
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (e) {
    return { ok: false, error: `${where}: not valid JSON (${(e as Error).message})` };
  }
  return readConversation(value, where, `${base}:${lineNumber}`);
}

export function parseConversations(
  text: string,
  fileName: string,
): { conversations: Conversation[]; errors: string[] } {
  const base = fileBaseName(fileName);
  const conversations: Conversation[] = [];
  const errors: string[] = [];
  const add = (read: ConversationRead | null) => {
    if (!read) return;
    if (read.ok) conversations.push(read.conversation);
    else errors.push(read.error);
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
      for (const [i, item] of whole.entries())
        add(readConversation(item, `${fileName}[${i}]`, `${base}:${i + 1}`));
    } else {
      add(readConversation(whole, fileName, base));
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
  for (const [i, line] of lines.entries()) add(readConversationLine(line, fileName, base, i + 1));
  return { conversations, errors };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function parsesAsJson(line: string): boolean {
  try {
    JSON.parse(line);
    return true;
  } catch {
    return false;
  }
}

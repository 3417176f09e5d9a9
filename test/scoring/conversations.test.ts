import { describe, expect, it } from 'vitest';
import { parseConversations } from '../../src/scoring/index.js';

describe('parseConversations: bad files are reported, never scored as something else', () => {
  // A bare list of lines is a transcript; an array of conversations (a natural export shape) must not
  // be read as one conversation made of blank lines and scored 0 without a word.
  it('does not score an array of conversations as one transcript of blank lines', () => {
    const text = JSON.stringify([
      { id: 'a', transcript: [{ speaker: 'AGENT', text: 'hello', timestamp: '' }] },
      { id: 'b', transcript: [{ speaker: 'AGENT', text: 'bye', timestamp: '' }] },
    ]);
    const { conversations, errors } = parseConversations(text, 'export.json');
    const silentlyWrong =
      errors.length === 0 &&
      conversations.length === 1 &&
      conversations[0]!.transcript.every((l) => l.text === '');
    expect(silentlyWrong).toBe(false);
  });

  // A pretty-printed file is not JSON Lines: one error at the line of the syntax error, not one per line.
  it('reports one error at the right line for a pretty-printed file with a syntax error', () => {
    const text =
      '{\n  "id": "x",\n  "transcript": [\n    {"speaker": "AGENT", "text": "hello"},\n    {"speaker": "AGENT" "text": "bye"}\n  ]\n}\n';
    const { errors } = parseConversations(text, 'call.json');
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/^call\.json:5\b/);
  });
});

/**
 * scoreBatch, the unit of work of `npm run score` on large files: output written into memory handed
 * back by earlier batches, grown when it does not fit, byte for byte what formatting each line prints.
 */
import { describe, expect, it } from 'vitest';
import { type BatchRequest, scoreBatch } from '../../src/cli/score-batch.js';
import { formatScored } from '../../src/cli/score-output.js';
import { isEmptyTranscript, readConversationLine, scoreTranscript } from '../../src/scoring/index.js';
import { bundledRubric } from '../support/scoring.js';

const rubric = bundledRubric('tutorial.yaml');

// Ids and text with two- and three-byte characters and a surrogate pair: a piece that does not fit
// must never be cut inside a character.
const calls = ['café-1', 'naïve-€-2', 'emoji-😀-3', 'plain-4'].map((id, i) => ({
  id,
  transcript: [{ speaker: 'AGENT', text: `Hello ${'é😀'.repeat(i * 40)} have a great day`, timestamp: '' }],
}));
const input = Buffer.from(`${calls.map((c) => JSON.stringify(c)).join('\n')}\n`);
const expected = calls
  .map((c) => formatScored('json', rubric, c.id, 'x.jsonl', scoreTranscript(rubric, c.transcript), 120))
  .join('');

function request(output?: ArrayBuffer): BatchRequest {
  return {
    bytes: new Uint8Array(input),
    file: 'x.jsonl',
    base: 'x',
    firstLine: 1,
    format: 'json',
    width: 120,
    ...(output ? { output } : {}),
  };
}

describe('scoreBatch', () => {
  it('writes into the memory it is given when the output fits', () => {
    const memory = new ArrayBuffer(64 * 1024);
    const result = scoreBatch(rubric, request(memory));
    expect(result.out.buffer).toBe(memory);
    expect(Buffer.from(result.out).toString('utf8')).toBe(expected);
  });

  it('grows memory too small for the output, cutting no character in two', () => {
    for (const size of [1, 7, 100, 1_000]) {
      const result = scoreBatch(rubric, request(new ArrayBuffer(size)));
      expect(Buffer.from(result.out).toString('utf8'), `${size} bytes`).toBe(expected);
    }
  });

  it('allocates memory of its own when given none', () => {
    expect(Buffer.from(scoreBatch(rubric, request()).out).toString('utf8')).toBe(expected);
  });

  it('prints for lines of any shape, read from their bytes or parsed, what reading each line prints', () => {
    const lines = [
      JSON.stringify({
        id: 'plain',
        transcript: [{ speaker: 'AGENT', text: 'Hello, have a great day', timestamp: '00:00:01' }],
      }),
      // Not of the usual shape: an escape, a number, another key, no id: parsed as always.
      '{"id":"escaped","transcript":[{"speaker":"AGENT","text":"She said \\"hello\\"\\nbye"}]}',
      '{"id":"numeric time","transcript":[{"speaker":"AGENT","text":"hello","timestamp":83}]}',
      '{"id":"extra","transcript":[{"speaker":"AGENT","text":"hi","confidence":"0.9"}],"agent":"x"}',
      '{"transcript": [{"text": "thank you for calling"}]}',
      '',
      '{not json',
      '{"id":"roles","transcript":[{"role":"agent","content":"hello"}]}',
      '{"id":"blank","transcript":[{"speaker":"AGENT","text":"   ","timestamp":""}]}',
      ' \t{"transcript" : [ ] , "id" : "spaced" }\r',
    ];
    const text = `${lines.join('\n')}\n`;
    const expectedOut: string[] = [];
    const expectedErrors: string[] = [];
    lines.forEach((line, i) => {
      const read = readConversationLine(line, 'x.jsonl', 'x', 1 + i);
      if (!read) return;
      if (!read.ok) {
        expectedErrors.push(read.error);
        return;
      }
      const { id, transcript } = read.conversation;
      expectedOut.push(
        isEmptyTranscript(transcript)
          ? `${JSON.stringify({ id, file: 'x.jsonl', skipped: 'transcript is empty' })}\n`
          : formatScored('json', rubric, id, 'x.jsonl', scoreTranscript(rubric, transcript), 120),
      );
    });
    const result = scoreBatch(rubric, { ...request(), bytes: new Uint8Array(Buffer.from(text)) });
    expect(Buffer.from(result.out).toString('utf8')).toBe(expectedOut.join(''));
    expect(result.errors).toEqual(expectedErrors);
    expect(expectedErrors.map((e) => e.split(':')[1])).toEqual(['7', '8']);
  });
});

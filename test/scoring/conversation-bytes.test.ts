/**
 * readConversationBytes reads the usual JSON Lines conversation straight from its bytes, for `qm score`
 * with the tutorial's rubric. It must answer exactly what readConversationLine (JSON.parse) answers
 * for every line it accepts, same id, lines, joined text and scores, and leave every other line
 * (null) to readConversationLine, which says what is wrong with it. Checked on lines of many shapes
 * and on tens of thousands of random corruptions of them.
 */
import { describe, expect, it } from 'vitest';
import { readConversationBytes, readConversationLine, scoreTranscript } from '../../src/scoring/index.js';
// Deterministic (mulberry32), so that a failure can be replayed.
import { createRandom as random } from '../../src/simulator/sample-data.js';
import { bundledRubric } from '../support/scoring.js';

const tutorial = bundledRubric('tutorial.yaml');

const WORDS = [
  'hello',
  'Hi',
  'this call may be recorded',
  'quality assurance',
  'confirm',
  'date of birth',
  'is there anything else',
  'thank you for calling',
  'have a great day',
  'monitoring',
  'señor',
  'está',
  'naïve café',
  '€20',
  'it’s fine',
  '😀 great',
  '中文',
  'x\u2028y',
  '',
  '   ',
];

/** A line as other tools write it: any key order, optional fields, compact or spaced separators. */
function makeLine(rnd: () => number): string {
  const pick = <T>(xs: T[]) => xs[Math.floor(rnd() * xs.length)]!;
  const turns = Math.floor(rnd() * 6);
  const transcript = Array.from({ length: turns }, () => {
    const fields: [string, string][] = [
      ['text', Array.from({ length: 1 + Math.floor(rnd() * 3) }, () => pick(WORDS)).join(' ')],
    ];
    if (rnd() < 0.8) fields.push(['speaker', pick(['AGENT', 'CUSTOMER', 'agent', '', 'Système'])]);
    if (rnd() < 0.8)
      fields.push(['timestamp', pick(['00:00:01', '00:01:02.5', '2024-05-01T10:00:00Z', '', '83'])]);
    fields.sort(() => rnd() - 0.5);
    return Object.fromEntries(fields);
  });
  const top: [string, unknown][] = [['transcript', transcript]];
  if (rnd() < 0.8) top.push(['id', pick(['c1', 'call-42', '', 'ñ-7', 'a b'])]);
  top.sort(() => rnd() - 0.5);
  const value = Object.fromEntries(top);
  const style = rnd();
  if (style < 0.6) return JSON.stringify(value);
  // Python's json.dumps default separators, or pretty-printed onto one line with tabs and a CR.
  if (style < 0.8) return JSON.stringify(value).replace(/","/g, '", "').replace(/":/g, '": ');
  return ` \t${JSON.stringify(value, null, '\t').replace(/\n/g, ' ')}\r`;
}

/** What readConversationLine makes of the line, reduced to what the fast reader must match. */
function reference(line: Buffer) {
  const read = readConversationLine(line.toString('utf8'), 'f.jsonl', 'f', 7);
  if (!read?.ok) return null;
  const { id, transcript } = read.conversation;
  return {
    id,
    lines: transcript.map((l) => ({ speaker: l.speaker, text: l.text, timestamp: l.timestamp })),
    transcript,
  };
}

/** Fails unless the fast reader accepted nothing the reference refuses, and read it identically. */
function expectSame(line: Buffer, mustAccept: boolean): void {
  const fast = readConversationBytes(line, 0, line.length);
  const ref = reference(line);
  const shown = JSON.stringify(line.toString('latin1'));
  if (mustAccept) expect(fast, shown).not.toBeNull();
  if (fast === null) return;
  expect(ref, `accepted what JSON.parse refuses: ${shown}`).not.toBeNull();
  expect(fast.id ?? 'f:7', shown).toBe(ref!.id);
  const lines = fast.lines.map((l) => ({ speaker: l.speaker, text: l.text, timestamp: l.timestamp }));
  expect(lines, shown).toEqual(ref!.lines);
  let at = 0;
  expect(fast.joined.offsets, shown).toEqual(
    ref!.lines.map((l) => {
      const start = at;
      at += l.text.length + 1;
      return start;
    }),
  );
  expect(fast.joined.text, shown).toBe(ref!.lines.map((l) => l.text).join(' '));
  expect(scoreTranscript(tutorial, fast.lines, fast.joined), shown).toEqual(
    scoreTranscript(tutorial, ref!.transcript),
  );
}

describe('readConversationBytes', () => {
  it('reads lines of the usual shape exactly as JSON.parse and readConversationLine do', () => {
    const rnd = random(1);
    for (let n = 0; n < 2_000; n++) expectSame(Buffer.from(makeLine(rnd)), true);
  });

  it('reads malformed UTF-8 inside strings as decoding the whole line does (U+FFFD)', () => {
    const bad = [[0xc3], [0xe2, 0x80], [0xf0, 0x9f, 0x98], [0x80], [0xff, 0xfe], [0xed, 0xa0, 0x80]];
    for (const bytes of bad) {
      for (const where of ['text', 'speaker', 'timestamp', 'id'] as const) {
        const marker = 'MARK';
        const line = JSON.stringify({
          id: where === 'id' ? `a${marker}b` : 'c',
          transcript: [
            { speaker: where === 'speaker' ? marker : 'AGENT', text: 'hello', timestamp: '' },
            {
              speaker: 'AGENT',
              text: where === 'text' ? `x${marker}` : 'bye',
              timestamp: where === 'timestamp' ? marker : '',
            },
            { speaker: 'AGENT', text: 'have a great day', timestamp: '' },
          ],
        });
        const at = line.indexOf(marker);
        const buf = Buffer.concat([
          Buffer.from(line.slice(0, at)),
          Buffer.from(bytes),
          Buffer.from(line.slice(at + marker.length)),
        ]);
        expectSame(buf, true);
      }
    }
  });

  it('leaves every other line to JSON.parse: escapes, other keys and values, repeats, not JSON', () => {
    const cases = [
      '',
      '   ',
      '{}',
      '[]',
      '[{"text":"hi"}]',
      '{"id":"x"}',
      '{"transcript":{}}',
      '{"transcript":[{}]}',
      '{"transcript":[{"speaker":"A"}]}',
      '{"transcript":[{"text":"a \\"quoted\\" word"}]}',
      '{"transcript":[{"text":"tab\\there"}]}',
      '{"transcript":[{"text":"raw\ttab"}]}',
      '{"transcript":[{"te\\u0078t":"hi"}]}',
      '{"transcript":[{"text":"hi","text":"again"}]}',
      '{"transcript":[],"transcript":[]}',
      '{"id":"a","id":"b","transcript":[]}',
      '{"id":7,"transcript":[]}',
      '{"id":null,"transcript":[]}',
      '{"transcript":[{"text":"hi","timestamp":83}]}',
      '{"transcript":[{"text":"hi","speaker":null}]}',
      '{"transcript":[{"text":"hi","role":"agent"}]}',
      '{"transcript":[{"text":"hi"}],"agent":"x"}',
      '{"__proto__":"x","transcript":[]}',
      '{"transcript":[{"text":"hi"},]}',
      '{"transcript":[{"text":"hi",}]}',
      '{"transcript":[{"text":"hi"}],}',
      '{"transcript":[{"text":"hi"}]',
      '{"transcript":[{"text":"hi"}]}}',
      '{"transcript":[{"text":"hi"}]} x',
      '{"transcript":[{"text":"hi}]}',
      '\ufeff{"transcript":[]}',
      '{"transcript":[]}\u00a0',
      '{"transcript" :[ {"text" : "hi" } ] }',
    ];
    for (const text of cases) expectSame(Buffer.from(text), false);
    // The one accepted above is spaced differently, not different.
    expect(readConversationBytes(Buffer.from(cases.at(-1)!), 0, cases.at(-1)!.length)).not.toBeNull();
    for (const text of cases.slice(0, -1)) {
      const ref = reference(Buffer.from(text));
      if (ref === null) expect(readConversationBytes(Buffer.from(text), 0, text.length), text).toBeNull();
    }
  });

  it('never accepts a corrupted line JSON.parse refuses, nor reads one differently', () => {
    const rnd = random(2);
    const noise = [
      0x22, 0x5c, 0x7b, 0x7d, 0x5b, 0x5d, 0x3a, 0x2c, 0x20, 0x09, 0x0d, 0x00, 0x1f, 0x7f, 0x80, 0xc3, 0xff,
      0x61, 0x31,
    ];
    for (let n = 0; n < 20_000; n++) {
      const line = Buffer.from(makeLine(rnd));
      if (line.length === 0) continue;
      const bytes = [...line];
      for (let edits = 1 + Math.floor(rnd() * 3); edits > 0; edits--) {
        const at = Math.floor(rnd() * bytes.length);
        const op = rnd();
        if (op < 0.4) bytes.splice(at, 1);
        else if (op < 0.8) bytes.splice(at, 0, noise[Math.floor(rnd() * noise.length)]!);
        else bytes[at] = noise[Math.floor(rnd() * noise.length)]!;
      }
      expectSame(Buffer.from(bytes), false);
    }
  });

  // The compact form (JSON.stringify's, keys in the tutorial's order) is read four bytes at a time:
  // a special byte at any offset within a word, and a line cut anywhere, must read as JSON.parse does.
  it('reads the compact form four bytes at a time exactly as JSON.parse does, wherever a special byte falls', () => {
    const specials = ['é', '€', '😀', '\\"', '\\\\', '\\u0041', '\t', '\u0001', '\u001f', '\u007f', 'ÿ'];
    for (const special of specials) {
      for (let before = 0; before < 9; before++) {
        for (let after = 0; after < 5; after++) {
          const text = `${'a'.repeat(before)}${special}${'b'.repeat(after)}`;
          const turn = { speaker: 'AGENT', text, timestamp: '00:00:01.0' };
          // Raw control characters are written as such (JSON.stringify would escape them).
          const line = JSON.stringify({ id: 'c', transcript: [turn, { ...turn, text: 'hello' }] })
            .replace('\\u0001', '\u0001')
            .replace('\\u001f', '\u001f')
            .replace('\\t', '\t');
          const raw = special.length === 1 && special < ' ';
          expectSame(Buffer.from(line), !raw && !special.startsWith('\\'));
        }
      }
    }
  });

  it('never reads past the end of a compact line, wherever it is cut', () => {
    const line = JSON.stringify({
      id: 'c',
      transcript: [
        { speaker: 'AGENT', text: 'Hello, thank you for calling.', timestamp: '00:00:01.0' },
        { speaker: 'CUSTOMER', text: 'Hi', timestamp: '' },
        { speaker: '', text: '', timestamp: '00:00:09.5' },
      ],
    });
    const whole = Buffer.from(line);
    expectSame(whole, true);
    for (let cut = 0; cut < whole.length; cut++) {
      // Cut at the end of the buffer, and cut by a newline with more bytes after it.
      expectSame(Buffer.from(whole.subarray(0, cut)), false);
      const next = Buffer.concat([whole.subarray(0, cut), Buffer.from(`\n${line}`)]);
      expect(readConversationBytes(next, 0, cut), `cut at ${cut}`).toBeNull();
    }
  });

  it('reads only a whole line: `end` at a newline or at the end of the bytes', () => {
    const line = '{"transcript":[{"text":"hello"}]}';
    const buf = Buffer.from(`${line}\n${line}`);
    expect(readConversationBytes(buf, 0, line.length)).not.toBeNull();
    expect(readConversationBytes(buf, line.length + 1, buf.length)).not.toBeNull();
    expect(readConversationBytes(buf, 0, line.length - 1)).toBeNull();
    expect(readConversationBytes(buf, 1, line.length)).toBeNull();
  });
});

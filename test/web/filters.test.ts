import { describe, expect, it } from 'vitest';
import { csvField, csvLine } from '../../src/api/csv.js';
import { highlightSpans, splitBySpans } from '../../src/console/highlight.js';
import { decodeCursor, encodeCursor, parseResultQuery, parseTime } from '../../src/web/filters.js';
import { addDays, isDay, startOfDay, timeFormatter } from '../../src/web/time.js';

const NOW = Date.UTC(2024, 4, 10, 12, 0, 0);
const opts = { timeZone: 'America/New_York', now: NOW, defaultLimit: 100, maxLimit: 1000 };

describe('result filters', () => {
  it('reads days in the console zone (until includes its day), instants with offsets and spans back from now', () => {
    expect(parseTime('2024-05-10', 'since', 'America/New_York', NOW)).toBe(Date.UTC(2024, 4, 10, 4));
    expect(parseTime('2024-05-10', 'until', 'America/New_York', NOW)).toBe(Date.UTC(2024, 4, 11, 4));
    expect(parseTime('2024-05-10T14:00:00Z', 'since', 'UTC', NOW)).toBe(Date.UTC(2024, 4, 10, 14));
    expect(parseTime('2024-05-10T14:00:00+02:00', 'since', 'UTC', NOW)).toBe(Date.UTC(2024, 4, 10, 12));
    expect(parseTime('7d', 'since', 'UTC', NOW)).toBe(NOW - 7 * 86_400_000);
    expect(parseTime('2024-05-10T14:00:00', 'since', 'UTC', NOW)).toBeNull();
    expect(parseTime('2024-02-30', 'since', 'UTC', NOW)).toBeNull();
    expect(parseTime('yesterday', 'since', 'UTC', NOW)).toBeNull();
  });

  it('turns parameters into a filter, and names every problem', () => {
    const ok = parseResultQuery(
      (n) =>
        ({
          agent: 'a-1',
          min_score: '50',
          failed_rule: 'greeting',
          critical: 'true',
          reviewed: 'false',
          limit: '20',
        })[n],
      opts,
    );
    expect(ok).toEqual({
      ok: true,
      query: {
        filter: { agentId: 'a-1', minScore: 50, failedRule: 'greeting', criticalOnly: true, reviewed: false },
        limit: 20,
        cursor: null,
      },
    });
    const bad = parseResultQuery(
      (n) =>
        ({
          since: '2024-05-10',
          until: '2024-05-01',
          min_score: '70',
          max_score: '60',
          limit: '5000',
          agent: 'x'.repeat(300),
        })[n],
      opts,
    );
    expect(bad.ok).toBe(false);
    if (!bad.ok) {
      expect(bad.problems.map((p) => p.split(':')[0])).toEqual(['agent', 'limit', 'until', 'max_score']);
    }
  });

  it('cursors round-trip and anything else is refused', () => {
    const c = { evaluatedAt: 1715342400123, id: 42 };
    expect(decodeCursor(encodeCursor(c))).toEqual(c);
    for (const bad of [
      '',
      'abc',
      'MTIz',
      Buffer.from('1.2.3').toString('base64url'),
      '../etc',
      'x'.repeat(100),
    ]) {
      expect(decodeCursor(bad)).toBeNull();
    }
  });

  it('knows real days', () => {
    expect(isDay('2024-02-29')).toBe(true);
    expect(isDay('2023-02-29')).toBe(false);
    expect(startOfDay('2024-03-31', 'Europe/Paris')).toBe(Date.UTC(2024, 2, 30, 23));
    expect(startOfDay('2024-11-03', 'America/New_York')).toBe(Date.UTC(2024, 10, 3, 4));
  });

  it('starts a day whose midnight the clocks skip at the jump, not an hour into the day before', () => {
    // Chile, Cuba and the Azores move their clocks forward at midnight: the day begins at 01:00.
    expect(startOfDay('2024-09-08', 'America/Santiago')).toBe(Date.UTC(2024, 8, 8, 4));
    expect(startOfDay('2024-03-10', 'America/Havana')).toBe(Date.UTC(2024, 2, 10, 5));
    expect(startOfDay('2024-03-31', 'Atlantic/Azores')).toBe(Date.UTC(2024, 2, 31, 1));
    // And back at midnight (Chile in April): the day begins at the second midnight.
    expect(startOfDay('2024-04-07', 'America/Santiago')).toBe(Date.UTC(2024, 3, 7, 4));
    const day = timeFormatter('America/Santiago').day;
    for (const d of ['2024-09-08', '2024-04-07']) {
      const start = startOfDay(d, 'America/Santiago');
      expect(day(start)).toBe(d);
      expect(day(start - 1)).toBe(addDays(d, -1));
    }
  });
});

describe('CSV', () => {
  it('quotes what needs quoting and defuses formulas in text', () => {
    expect(csvLine(['a', 1.5, null, 'x,y', 'say "hi"', 'line\nbreak'])).toBe(
      'a,1.5,,"x,y","say ""hi""","line\nbreak"\r\n',
    );
    for (const evil of ['=1+1', '+1', '-1', '@SUM(A1)', '\tx', '\rx'])
      expect(csvField(evil)).toBe(`"'${evil}"`);
    expect(csvField(-3)).toBe('-3');
    expect(csvField(' padded')).toBe('" padded"');
  });
});

describe('highlighting evidence in the transcript', () => {
  const turns = [
    { text: 'Hello, thanks   for calling.' },
    { text: 'This call may be recorded for quality.' },
    { text: 'Tell me your date of' },
    { text: 'birth please' },
  ];
  it('marks quoted words at the turn the evidence names, ignoring case and spacing', () => {
    const spans = highlightSpans(
      [
        { name: 'greeting', evidence: 'Found "thanks for calling" (AGENT, 00:01, turn 1)' },
        { name: 'recording', evidence: 'Found "this call may be recorded" (AGENT, turn 2)' },
        { name: 'dob', evidence: 'Matched "date of birth" (across turns 3-4, from AGENT, 00:09, turn 3)' },
        { name: 'missing', evidence: 'Not found: looked for "hello", "bye" in agent turns' },
        { name: 'out of range', evidence: 'Found "hello" (AGENT, turn 9)' },
      ],
      turns,
    );
    expect([...spans.keys()].sort()).toEqual([0, 1, 2]);
    expect(splitBySpans(turns[0]!.text, spans.get(0))).toEqual([
      { text: 'Hello, ' },
      { text: 'thanks   for calling', rules: ['greeting'] },
      { text: '.' },
    ]);
    expect(splitBySpans(turns[2]!.text, spans.get(2))).toEqual([
      { text: 'Tell me your ' },
      { text: 'date of', rules: ['dob'] },
    ]);
  });

  it('merges overlapping marks of several rules', () => {
    const spans = highlightSpans(
      [
        { name: 'a', evidence: 'Found "may be recorded" (AGENT, turn 2)' },
        { name: 'b', evidence: 'Found "call may be" (AGENT, turn 2)' },
      ],
      turns,
    );
    expect(spans.get(1)).toEqual([{ start: 5, end: 25, rules: ['b', 'a'] }]);
  });
});

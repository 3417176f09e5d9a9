/**
 * Audit of rubric loading, the regex dialect and conversation files against issue 3 and docs/rubrics.md.
 * Each `it.fails` is a bug that exists now; flip it to `it` once fixed. Python behaviour quoted in the
 * comments was checked with python3 3.11 (`re.compile`).
 */
import { describe, expect, it } from 'vitest';
import { parseConversations, parseRubric } from '../../src/scoring/index.js';
import { compilePattern } from '../../src/scoring/regex/index.js';

const tutorialRule = (pattern: string) => `r: {pattern: '${pattern}', weight: 1}\n`;

describe('audit: conversation files (npm run score)', () => {
  // BUG (src/scoring/conversations.ts:236): any top-level JSON array is taken as "a bare list of lines",
  // and the line schema (schema.ts transcriptLineSchema) is a non-strict object with defaults, so a file
  // holding an array of conversations (`[{"id":..,"transcript":[..]}, ...]`, a natural export shape)
  // is silently scored as ONE conversation named after the file, made of blank UNKNOWN lines, overall 0,
  // with no error and exit code 0 (checked: `npm run score -- arr.json` prints one line, id "arr").
  // The issue says bad files are reported. Fix: reject array elements that have a `transcript` key (or
  // lack `text`), or accept an array of conversations explicitly; either way never score them as lines.
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

  // BUG (src/scoring/conversations.ts:251-269): a pretty-printed single-conversation file with one syntax
  // error falls through to JSON Lines, and every line of it is reported as invalid JSON (7 errors for a
  // 7-line file, the real one being line 5: a missing comma). "Bad files are reported by name and line":
  // the line is buried. Fix: when the text starts with `{`/`[` and does not parse as JSON Lines either
  // (e.g. its first line alone is not a JSON value), report one error with the line/column of the
  // JSON.parse failure.
  it('reports one error at the right line for a pretty-printed file with a syntax error', () => {
    const text =
      '{\n  "id": "x",\n  "transcript": [\n    {"speaker": "AGENT", "text": "hello"},\n    {"speaker": "AGENT" "text": "bye"}\n  ]\n}\n';
    const { errors } = parseConversations(text, 'call.json');
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/^call\.json:5\b/);
  });
});

describe('audit: rubric validation', () => {
  // BUG (src/scoring/rubric.ts:105): a native rubric whose `rules` is a map instead of a list is taken for
  // the tutorial shape, and the errors blame rules called 'name' and 'version': "rule 'name': must be a
  // map with `pattern` and `weight`", "rule 'rules': `pattern` is required", ... None says that `rules`
  // must be a list, which is the actual mistake. Fix: a document with `rules` (or `name` + `version`)
  // is native; validate it with nativeRubricSchema ("`rules` must be a list of rules").
  it('says `rules` must be a list when a native rubric gives rules as a map', () => {
    const parsed = parseRubric(
      'name: Collections\nversion: "1"\nrules:\n  greeting: {phrases: hello}\n',
      'rubric.yaml',
    );
    expect(parsed.ok).toBe(false);
    const errors = parsed.ok ? [] : parsed.errors;
    expect(errors.some((e) => e.includes('`rules`') && e.includes('list'))).toBe(true);
    expect(errors.some((e) => e.includes("rule 'name'") || e.includes("rule 'version'"))).toBe(false);
  });

  // BUG (src/scoring/schema.ts:105 `z.number().transform(String)`): docs section 2 says "version ... (a
  // number is read as text)", but the YAML number is converted, so `version: 2.10` becomes "2.1" and the
  // evaluation comment says "v2.1": versions 2.1 and 2.10 become indistinguishable. Fix: read the scalar's
  // source text (yaml's parseDocument keeps it) or refuse a non-string version with a hint to quote it.
  it('keeps `version: 2.10` as "2.10"', () => {
    const parsed = parseRubric('name: X\nversion: 2.10\nrules:\n  - {name: g, phrases: hello}\n', 'r.yaml');
    expect(parsed.ok && parsed.rubric.version).toBe('2.10');
  });
});

describe('audit: Python regex dialect (docs/rubrics.md section 4)', () => {
  // BUG (src/scoring/regex/ast.ts): docs say "anything Python itself rejects" is refused at load, but these
  // are accepted although Python 3.11's re.compile raises: `(?<n>x)` ("unknown extension ?<n"),
  // `{2}x` ("nothing to repeat"), `[\d-z]` ("bad character range \d-z"), `(?i-i:x)` ("flag
  // turned on and off"), `(?P<a>x)(?P<a>y)` ("redefinition of group name"). A rubric tried with
  // `npm run score` then crashes the tutorial's own scorer. Fix: mirror these checks in the parser.
  it.each([['(?<n>x)'], ['{2}x'], ['[\\d-z]'], ['(?i-i:x)'], ['(?P<a>x)(?P<a>y)'], ['{,}']])(
    'refuses %s, which Python rejects',
    (pattern) => {
      expect(parseRubric(tutorialRule(pattern), 'tutorial.yaml').ok).toBe(false);
    },
  );

  // BUG (src/scoring/regex/ast.ts:259, 284): valid Python that is neither documented as refused nor
  // super-linear does not load: `\N{EM DASH}` (named character, Python 3.8+) is "bad escape \N", and the
  // octal escape `\101` ("A") is refused as a *backreference*, a wrong reason. Fix: parse `\N{name}` (or
  // refuse it with a documented reason) and read `\` + three octal digits as Python does.
  it('reads \\101 as the octal escape for "A", as Python does', () => {
    expect(compilePattern('\\101', true).find('xAy', 0)).toEqual({ start: 1, end: 2 });
  });

  // Still refused (documented in docs/rubrics.md section 4): named characters need Unicode's name table.
  it.fails('accepts \\N{EM DASH}, which Python accepts', () => {
    expect(() => compilePattern('\\N{EM DASH}', true)).not.toThrow();
  });
});

import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { formatScored } from '../../src/cli/score-output.js';
import { EMPTY_TRANSCRIPT, parseRubric, scoreTranscript } from '../../src/scoring/index.js';
import { buildProduction, minimalEnv, runQm } from '../support/process.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

function run(args: string[], cwd = ROOT) {
  const r = runQm(['score', ...args], { cwd });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function tmp(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'score-cli-'));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

const conv = (id: string, text: string) =>
  JSON.stringify({ id, transcript: [{ speaker: 'AGENT', text, timestamp: '' }] });

describe('npm run score', () => {
  it('scores a conversation file and JSON Lines with the default (tutorial) rubric, from any directory', () => {
    const dir = tmp({
      'one.json': conv(
        'c1',
        'Hello, can you confirm your date of birth? This call may be recorded. Have a great day.',
      ),
      'many.jsonl': `${conv('c2', 'hello')}\n\n${conv('c3', 'nothing')}\n`,
    });
    const r = run(['one.json', 'many.jsonl'], dir);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const lines = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines.map((l) => [l.id, l.overall_score])).toEqual([
      ['c1', 100],
      ['c2', 20],
      ['c3', 0],
    ]);
    expect(lines[0].rubric.name).toBe('tutorial');
    expect(lines[1].rules[0]).toMatchObject({ name: 'greeting', outcome: 'pass', score: 100 });
    expect(lines[1].rules[0].evidence).toContain('"hello"');
    expect(lines[1].comment).toMatch(/^Automated compliance evaluation\. Composite score: 20\.00\./);
  });

  // The first lines of a file decide how it is read: JSON Lines (a JSON value on its first non-blank
  // line, and another non-blank line after it) or one document read whole.
  it('tells JSON Lines from one document written over many lines, blank lines anywhere', () => {
    const a = JSON.parse(conv('a', 'hello')) as unknown;
    const b = JSON.parse(conv('b', 'thank you for calling')) as unknown;
    const dir = tmp({
      'pretty-array.json': JSON.stringify([a, b], null, 2),
      'pretty-one.json': `\n\n${JSON.stringify(a, null, 2)}\n`,
      'blank-first.jsonl': `\n  \n${conv('a', 'hello')}\n\n${conv('b', 'thank you for calling')}\n\n`,
      'one-line.jsonl': `\n${conv('a', 'hello')}\n\n`,
    });
    const ids = (file: string) => {
      const r = run([file], dir);
      expect(r.stderr, file).toBe('');
      expect(r.code, file).toBe(0);
      return r.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { id: string; overall_score: number })
        .map((l) => [l.id, l.overall_score]);
    };
    expect(ids('pretty-array.json')).toEqual([
      ['a', 20],
      ['b', 20],
    ]);
    expect(ids('pretty-one.json')).toEqual([['a', 20]]);
    expect(ids('blank-first.jsonl')).toEqual([
      ['a', 20],
      ['b', 20],
    ]);
    expect(ids('one-line.jsonl')).toEqual([['a', 20]]);
  });

  it('uses --rubric and prints a table with --format table', () => {
    const r = run([
      '--rubric',
      'rubrics/example.yaml',
      '--format',
      'table',
      'rubrics/examples/hardship-call.json',
    ]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('example-hardship: 94.78');
    expect(r.stdout).toMatch(/recording_notice\s+pass\s+100\s+2\s+Found "This call may be recorded"/);
  });

  it('reports bad files by name and line, scores the rest, and exits 1', () => {
    const dir = tmp({
      'bad.jsonl': `${conv('ok', 'hello')}\n{not json\n{"id": "x"}\n`,
      'good.json': conv('g', 'hello'),
    });
    const r = run(['bad.jsonl', 'missing.json', 'good.json'], dir);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('bad.jsonl:2: not valid JSON');
    expect(r.stderr).toContain('bad.jsonl:3: `transcript` is required');
    expect(r.stderr).toContain('missing.json: cannot read (ENOENT)');
    expect(
      r.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l).id),
    ).toEqual(['ok', 'g']);
  });

  it('exits 2 with one line per problem on an invalid rubric, without a stack trace', () => {
    const dir = tmp({
      'r.yaml': 'a: {pattern: "(x", weight: 1}\nb: {pattern: y}\n',
      'c.json': conv('c', 'x'),
    });
    const r = run(['--rubric', 'r.yaml', 'c.json'], dir);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toEqual([
      "r.yaml: rule 'a': `pattern` /(x/: missing ), unterminated subpattern at position 2",
      "r.yaml: rule 'b': `weight` is required",
    ]);
    expect(r.stdout).toBe('');
  });

  it('exits 2 on usage errors', () => {
    expect(run([]).code).toBe(2);
    expect(run(['--format', 'xml', 'x.json']).code).toBe(2);
    expect(run(['--bogus']).code).toBe(2);
  });
});

describe('npm run score: what a rubric author trips on (issue 9)', () => {
  it('refuses transcript lines in another format (role/content), naming the line and the keys expected', () => {
    const dir = tmp({
      'chat.jsonl': `${conv('ok', 'hello')}\n${JSON.stringify({ id: 'c2', transcript: [{ role: 'agent', content: 'hello' }] })}\n`,
      'chat.json': JSON.stringify([
        { speaker: 'AGENT', text: 'hi' },
        { role: 'user', content: 'hello' },
      ]),
    });
    const r = run(['chat.jsonl', 'chat.json'], dir);
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toEqual([
      'chat.jsonl:2: transcript line 1 has no "text": each line needs "speaker", "text" and "timestamp" (it has "role", "content")',
      'chat.json: transcript line 2 has no "text": each line needs "speaker", "text" and "timestamp" (it has "role", "content")',
    ]);
    expect(
      r.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l).id),
    ).toEqual(['ok']);
  });

  it('does not score an empty transcript, as the service does not, and says so', () => {
    const dir = tmp({
      'calls.jsonl': [
        conv('spoken', 'hello'),
        JSON.stringify({ id: 'silent', transcript: [] }),
        JSON.stringify({ id: 'blank', transcript: [{ speaker: 'AGENT', text: '  ', timestamp: '' }] }),
      ].join('\n'),
    });
    const r = run(['calls.jsonl'], dir);
    expect(r.code).toBe(0);
    const lines = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines[0]).toMatchObject({ id: 'spoken', overall_score: 20 });
    // The reason is the service's own ("transcript is empty", the skipped job's reason).
    expect(lines.slice(1)).toEqual([
      { id: 'silent', file: 'calls.jsonl', skipped: EMPTY_TRANSCRIPT },
      { id: 'blank', file: 'calls.jsonl', skipped: EMPTY_TRANSCRIPT },
    ]);
    const table = run(['--format', 'table', 'calls.jsonl'], dir);
    expect(table.stdout).toContain('silent: not scored: transcript is empty');
  });
});

/**
 * Over the 8 MB past which the command uses worker threads, in 1 MB chunks: lines cross chunks. Its
 * file (big.jsonl), what the command must print for it with the rubric `name`, scoring each line in
 * turn, and the errors. Some texts have escaped quotes: with the tutorial's rubric those lines are
 * parsed, the others read from their bytes (readConversationBytes).
 */
function bigFile(name: string): { text: string; expected: string; rubricPath: string } {
  const rubricPath = join(ROOT, 'rubrics', name);
  const rubric = parseRubric(readFileSync(rubricPath, 'utf8'), name);
  if (!rubric.ok) throw new Error(name);
  const filler = 'I can see the last payment we received was in February, let me check. '.repeat(2);
  const lines: string[] = [];
  const expected: string[] = [];
  const bad = new Map([
    [3, 'not valid JSON'],
    [350, '`transcript` is required'],
    [700, 'transcript line 1 has no "text"'],
  ]);
  for (let n = 1; lines.length < 1_000; n++) {
    if (bad.has(n)) {
      lines.push(
        n === 3 ? '{oops' : n === 350 ? '{"id": "x"}' : JSON.stringify({ transcript: [{ role: 'x' }] }),
      );
      continue;
    }
    if (n % 97 === 0) {
      lines.push('');
      continue;
    }
    const transcript = [
      {
        speaker: 'AGENT',
        text: n % 3 ? 'Good morning, this call may be recorded.' : n % 7 ? 'Hi.' : 'I said "hi", señor.',
        timestamp: '00:00:01',
      },
      ...Array.from({ length: 60 }, (_, i) => ({
        speaker: i % 2 ? 'CUSTOMER' : 'AGENT',
        text: `${filler}${n}-${i}`,
        timestamp: `00:${String(Math.floor(i / 30)).padStart(2, '0')}:${String((i * 2) % 60).padStart(2, '0')}`,
      })),
      { speaker: 'AGENT', text: n % 5 ? 'Thank you for your time.' : 'Bye.', timestamp: '00:09:00' },
    ];
    const withId = n % 10 !== 0;
    lines.push(JSON.stringify(withId ? { id: `c${n}`, transcript } : { transcript }));
    const id = withId ? `c${n}` : `big:${n}`;
    expected.push(
      formatScored('json', rubric.rubric, id, 'big.jsonl', scoreTranscript(rubric.rubric, transcript), 120),
    );
  }
  const text = `${lines.join('\n')}\n`;
  expect(text.length).toBeGreaterThan(9 * 1024 * 1024);
  return { text, expected: expected.join(''), rubricPath };
}

function expectBigFileResult(r: { code: number | null; stdout: string; stderr: string }, expected: string) {
  expect(r.stderr.trim().split('\n')).toEqual([
    expect.stringMatching(/^big\.jsonl:3: not valid JSON/),
    'big.jsonl:350: `transcript` is required',
    expect.stringMatching(/^big\.jsonl:700: transcript line 1 has no "text"/),
  ]);
  expect(r.code).toBe(1);
  expect(r.stdout).toBe(expected);
}

describe('npm run score: large JSON Lines files on worker threads', () => {
  it('prints exactly what scoring each line in turn prints, in input order, with bad lines named by line', {
    timeout: 180_000,
  }, () => {
    const { text, expected, rubricPath } = bigFile('example.yaml');
    const dir = tmp({ 'big.jsonl': text });
    expectBigFileResult(run(['--rubric', rubricPath, 'big.jsonl'], dir), expected);
  });

  it('prints the same from the build as shipped (`qm score` and its worker bundled into one file each)', {
    timeout: 180_000,
  }, () => {
    // The tutorial's rubric: most lines read from their bytes, on the workers and on this thread.
    const { text, expected, rubricPath } = bigFile('tutorial.yaml');
    const dir = tmp({ 'big.jsonl': text });
    const app = buildProduction();
    const r = spawnSync(
      process.execPath,
      [join(app, 'dist/cli/qm.js'), 'score', '--rubric', rubricPath, 'big.jsonl'],
      { cwd: dir, encoding: 'utf8', env: minimalEnv({}), maxBuffer: 256 * 1024 * 1024 },
    );
    expectBigFileResult({ code: r.status, stdout: r.stdout, stderr: r.stderr }, expected);
    // The bundle is what ran: one file each, with zod and yaml inside, no import of them at run time.
    for (const name of ['score-files.js', 'score-worker.js']) {
      const code = readFileSync(join(app, 'dist/cli', name), 'utf8');
      expect(code, name).not.toMatch(/from\s*["'](zod|yaml)["']|from\s*["']\.\.?\//);
    }
  });
});

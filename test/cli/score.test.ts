import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runQm } from '../support/process.js';

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

import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runQm } from '../support/process.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

function run(args: string[]) {
  const r = runQm(['rubric:test', ...args], { cwd: ROOT });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('npm run rubric:test', () => {
  it('passes on rubrics/example.yaml and its dozen-plus labelled examples', () => {
    const r = run(['rubrics/example.yaml']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/(\d+) labelled examples/);
    expect(Number(/(\d+) labelled examples/.exec(r.stdout)![1])).toBeGreaterThanOrEqual(12);
    expect(r.stdout).toMatch(/overall: (\d+)\/\1 labels agree \(100\.0%\)/);
    expect(r.stdout).not.toContain('DISAGREE');
  });

  it('prints each disagreement with its evidence, agreement per rule, and exits 1', () => {
    const dir = mkdtempSync(join(tmpdir(), 'rubric-test-'));
    const file = join(dir, 'r.yaml');
    writeFileSync(
      file,
      `name: T
version: 1
rules:
  - {name: greet, speaker: agent, phrases: [hello]}
  - {name: close, phrases: [goodbye]}
examples:
  - name: customer greets
    transcript: [{speaker: CUSTOMER, text: hello, timestamp: ""}]
    expect: {greet: pass, close: fail}
  - name: from a file
    transcript: call.json
    expect: {greet: pass, close: pass}
  - name: missing file
    transcript: nowhere.json
    expect: {greet: pass}
`,
    );
    writeFileSync(
      join(dir, 'call.json'),
      JSON.stringify({ transcript: [{ speaker: 'AGENT', text: 'hello, goodbye', timestamp: '' }] }),
    );
    const r = run([file]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(
      "DISAGREE example 'customer greets': rule 'greet': labelled pass, engine says fail",
    );
    expect(r.stdout).toContain('evidence: Not found: looked for "hello" in agent turns anywhere in the call');
    expect(r.stdout).toContain("example 'missing file':");
    expect(r.stdout).toMatch(/greet\s+1\/2\s+50\.0%/);
    expect(r.stdout).toMatch(/close\s+2\/2\s+100\.0%/);
    expect(r.stdout).toContain('overall: 3/4 labels agree (75.0%), 1 example(s) could not be read');
  });

  it('exits 2 on an invalid rubric and on no arguments', () => {
    const dir = mkdtempSync(join(tmpdir(), 'rubric-test-'));
    writeFileSync(
      join(dir, 'bad.yaml'),
      'name: T\nversion: 1\nrules: [{name: a, phrases: [x], before: b}]\n',
    );
    const r = run([join(dir, 'bad.yaml')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("rule 'a': `before` names 'b', which is not a rule of this rubric");
    expect(run([]).code).toBe(2);
  });
});

describe('npm run rubric:test: what a rubric author trips on (issue 9)', () => {
  it('reports a mistyped rule once and stops, not once per labelled example', () => {
    const dir = mkdtempSync(join(tmpdir(), 'rubric-test-'));
    const examples = Array.from(
      { length: 6 },
      (_, i) =>
        `  - name: call ${i}\n    transcript: [{speaker: AGENT, text: hello, timestamp: ""}]\n    expect: {greet: pass, close: fail}\n`,
    ).join('');
    writeFileSync(
      join(dir, 'typo.yaml'),
      `name: T\nversion: 1\nrules:\n  - {name: greet, phrase: [hello]}\n  - {name: close, phrases: [goodbye], before: greet}\nexamples:\n${examples}`,
    );
    const r = run([join(dir, 'typo.yaml')]);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toEqual([
      `${join(dir, 'typo.yaml')}: rule 'greet': \`phrase\` is not a known field`,
    ]);
    expect(r.stdout).toBe('');
  });

  it('does not score an example with an empty transcript, as the service does not, and says so', () => {
    const dir = mkdtempSync(join(tmpdir(), 'rubric-test-'));
    writeFileSync(
      join(dir, 'r.yaml'),
      `name: T
version: 1
rules:
  - {name: greet, phrases: [hello]}
examples:
  - name: spoken
    transcript: [{speaker: AGENT, text: hello, timestamp: ""}]
    expect: {greet: pass}
  - name: silent
    transcript: []
    expect: {greet: fail}
`,
    );
    const r = run([join(dir, 'r.yaml')]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(
      "example 'silent': not scored: transcript is empty (the service does not score such conversations)",
    );
    expect(r.stdout).toContain(
      'overall: 1/1 labels agree (100.0%), 1 example(s) could not be read or scored',
    );
  });
});

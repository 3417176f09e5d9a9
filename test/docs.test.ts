/**
 * The repository's own documents are complete and self-contained: docs/contract.md and the README
 * name every setting and every command, and nothing points at files outside the repository, which a
 * user who cloned it does not have.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { COMMANDS } from '../src/cli/commands.js';
import { systemClock } from '../src/clock.js';
import { SETTING_NAMES } from '../src/config.js';
import { createMetrics } from '../src/ops/metrics.js';
import { REPO_ROOT } from './support/process.js';

const read = (file: string) => readFileSync(join(REPO_ROOT, file), 'utf8');

/** Every text file of the repository, without what is installed, built or generated. */
function repositoryFiles(dir = REPO_ROOT): string[] {
  const skip = new Set(['node_modules', 'dist', 'data', 'coverage', '.git']);
  return readdirSync(dir).flatMap((name) => {
    if (skip.has(name)) return [];
    const path = join(dir, name);
    return statSync(path).isDirectory() ? repositoryFiles(path) : [path];
  });
}

describe('docs/contract.md', () => {
  const contract = read('docs/contract.md');

  it('documents every setting and every command', () => {
    for (const name of SETTING_NAMES) expect(contract, name).toContain(`\`${name}\``);
    for (const name of Object.keys(COMMANDS)) expect(contract, name).toContain(`\`qm ${name}`);
  });

  it("keeps the shared contract's section numbers 1-6, in order", () => {
    const numbers = [...contract.matchAll(/^## (\d+)\. /gm)].map((m) => Number(m[1]));
    expect(numbers.slice(0, 6)).toEqual([1, 2, 3, 4, 5, 6]);
  });
});

describe('README', () => {
  it('lists every command of the qm bin', () => {
    const readme = read('README.md');
    for (const name of Object.keys(COMMANDS)) expect(readme, name).toContain(`\`qm ${name}`);
  });

  it("the folder map names every file and folder of src/ and every folder of the repository's top", () => {
    // The map is the code block whose lines start with a path and say what it holds.
    const block = read('README.md')
      .split('```')
      .find((part) => /^\nsrc\/config\.ts /.test(part));
    expect(block, 'the folder map').toBeDefined();
    const named = new Set(block!.split('\n').map((line) => /^(\S+)\s/.exec(line)?.[1]));
    const entry = (dir: string, name: string) =>
      `${dir}${name}${statSync(join(REPO_ROOT, dir, name)).isDirectory() ? '/' : ''}`;
    const untracked = new Set(['node_modules', 'dist', 'data', 'coverage']);
    const top = readdirSync(REPO_ROOT)
      .filter((name) => !name.startsWith('.') && !untracked.has(name))
      .filter((name) => statSync(join(REPO_ROOT, name)).isDirectory() && name !== 'src')
      .map((name) => `${name}/`);
    const src = readdirSync(join(REPO_ROOT, 'src')).map((name) => entry('src/', name));
    expect([...top, ...src].filter((path) => !named.has(path))).toEqual([]);
  });
});

describe("README's alert rules", () => {
  const readme = read('README.md');
  const start = readme.indexOf('groups:\n');
  const rules = readme.slice(start, readme.indexOf('```', start));
  const exprs = [...rules.matchAll(/expr: (?:\|\n)?((?:.+\n)+?)\s+(?:for|annotations):/g)].map((m) => m[1]!);

  it('use only series the service exports', () => {
    const registry = createMetrics({ clock: systemClock, defaultMetrics: false }).registry;
    const exported = new Set(registry.getMetricsAsArray().map((m) => m.name));
    const used = new Set([...rules.matchAll(/\bqm_\w+/g)].map((m) => m[0]));
    expect(exprs.length).toBeGreaterThanOrEqual(3);
    for (const name of used) expect(exported, name).toContain(name.replace(/_(bucket|sum|count)$/, ''));
  });

  it('never compare a counter with == 0: a counter that has not counted yet has no series, and the rule would never fire', () => {
    for (const expr of exprs) expect(expr).not.toMatch(/==\s*0/);
  });

  it('watch the transcript calls of both profiles for transcripts that never arrive', () => {
    const transcripts = exprs.find((e) => e.includes('status="404"'))!;
    expect(transcripts).toContain('getTranscript');
    expect(transcripts).toContain('segmentTranscript');
  });
});

it("nothing in the repository points at the development team's folder beside it", () => {
  // Spelt in pieces so that this file does not match itself.
  const folder = ['sha', 'red'].join('');
  const outside = new RegExp(`(\\.\\./|/work/)${folder}\\b`);
  const offenders = repositoryFiles()
    .filter((file) => !file.endsWith('package-lock.json'))
    .filter((file) => outside.test(readFileSync(file, 'latin1')))
    .map((file) => relative(REPO_ROOT, file));
  expect(offenders).toEqual([]);
});

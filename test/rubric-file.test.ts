import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadRubricFile } from '../src/rubric-file.js';

let dir: string | undefined;
afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

const write = (name: string, bytes: Buffer) => {
  dir ??= mkdtempSync(join(tmpdir(), 'qm-rubric-'));
  const path = join(dir, name);
  writeFileSync(path, bytes);
  return path;
};

const RUBRIC = 'name: cafe\nversion: 1\nrules:\n  - name: greeting\n    phrases: ["bienvenue au café"]\n';

describe('RUBRIC_PATH', () => {
  it('a rubric saved as Latin-1 stops start-up with one line, instead of a phrase that can never match', () => {
    const path = write('latin1.yaml', Buffer.from(RUBRIC, 'latin1'));
    const loaded = loadRubricFile(path);
    expect(loaded.ok).toBe(false);
    expect(!loaded.ok && loaded.problems).toEqual([
      `RUBRIC_PATH: '${path}' is not UTF-8 text (save it as UTF-8)`,
    ]);
  });

  it('reads UTF-8 as it is, a byte order mark included (the rubric hash does not change)', () => {
    const plain = loadRubricFile(write('plain.yaml', Buffer.from(RUBRIC, 'utf8')));
    const bom = loadRubricFile(write('bom.yaml', Buffer.from(`\ufeff${RUBRIC}`, 'utf8')));
    expect(plain.ok && plain.text).toBe(RUBRIC);
    expect(bom.ok && bom.text).toBe(`\ufeff${RUBRIC}`);
  });
});

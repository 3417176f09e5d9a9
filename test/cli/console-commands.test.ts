import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createPasswordHasher } from '../../src/auth/password.js';
import { AccountStore } from '../../src/store/accounts.js';
import { ResultStore } from '../../src/store/results.js';
import { createRetentionBatches } from '../../src/store/retention.js';
import { ReviewStore } from '../../src/store/reviews.js';
import { seedResults } from '../support/console.js';
import { tempStore } from '../support/db.js';

let t: ReturnType<typeof tempStore>;
beforeEach(() => {
  t = tempStore();
});
afterEach(() => t.cleanup());

/** `qm SCRIPT ARGS` as an operator runs it, with `input` on standard input. */
const run = (script: string, args: string[], input?: string, env: Record<string, string> = {}) =>
  spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/qm.ts', script, ...args], {
    encoding: 'utf8',
    input: input ?? '',
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', DATABASE_PATH: t.path, ...env },
  });

describe('npm run user', { timeout: 120_000 }, () => {
  it('adds accounts with the password from standard input, stored as a slow salted hash', async () => {
    const add = run('user', ['add', 'Alice', '--role', 'admin'], 'a long enough password\n');
    expect(add.status, add.stderr).toBe(0);
    expect(add.stdout).toBe('added Alice (admin)\n');
    const user = new AccountStore(t.store).findUser('alice')!;
    expect(user.role).toBe('admin');
    expect(user.passwordHash).toMatch(/^scrypt\$32768\$8\$1\$/);
    expect(user.passwordHash).not.toContain('a long enough password');
    expect(await createPasswordHasher().verify('a long enough password', user.passwordHash)).toBe(true);
    expect(run('user', ['add', 'ALICE', '--role', 'viewer'], 'another long password\n').status).toBe(1);
    expect(run('user', ['add', 'bob', '--role', 'viewer'], 'short\n').stderr).toMatch(
      /at least 10 characters/,
    );
    expect(run('user', ['add', 'bob', '--role', 'boss'], 'a long enough password\n').status).toBe(2);
    expect(run('user', ['add', '../bob', '--role', 'viewer'], 'a long enough password\n').status).toBe(2);
  });

  it('prints an API token once, keeps only its hash; changes roles, lists, revokes and removes', () => {
    run('user', ['add', 'carol', '--role', 'viewer'], 'a long enough password\n');
    const token = run('user', ['token', 'carol']);
    expect(token.status, token.stderr).toBe(0);
    expect(token.stdout).toMatch(/^qmt_[A-Za-z0-9_-]{43}\n$/);
    expect(token.stderr).toMatch(/shown only now/);
    const stored = t.store.sqlite.prepare('SELECT token_hash, prefix FROM api_tokens').get() as {
      token_hash: string;
      prefix: string;
    };
    expect(stored.token_hash).toMatch(/^[0-9a-f]{64}$/);
    expect(token.stdout).not.toContain(stored.token_hash);
    expect(run('user', ['role', 'carol', 'reviewer']).stdout).toBe('carol is now reviewer\n');
    const list = run('user', ['list']);
    expect(list.stdout).toMatch(/carol\s+reviewer\s+1\s+0/);
    expect(run('user', ['revoke-tokens', 'carol']).stdout).toBe('revoked 1 token(s) of carol\n');
    expect(run('user', ['remove', 'carol']).status).toBe(0);
    expect(run('user', ['remove', 'carol']).status).toBe(1);
  });

  it('never creates a database', () => {
    const missing = join(t.dir, 'nope', 'qm.sqlite');
    const r = run('user', ['add', 'dave', '--role', 'admin'], 'a long enough password\n', {
      DATABASE_PATH: missing,
    });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^DATABASE_PATH: cannot open .*no such file/);
  });
});

describe('npm run rescore', { timeout: 120_000 }, () => {
  it('reports per rule what a new rubric would change, agreement before and after, and writes nothing', () => {
    seedResults(t.store, { count: 40, endAt: Date.now() - 60_000, spacingMs: 60_000 });
    const results = new ResultStore(t.store);
    const first = results.list({}, 1).rows[0]!;
    const greeting = first.rules.find((r) => r.name === 'greeting')!;
    new ReviewStore(t.store).record(
      first.id,
      { id: null, name: 'rita' },
      [{ rule: 'greeting', verdict: 'agree' }],
      Date.now(),
    );
    const newRubric = join(t.dir, 'new.yaml');
    // The greeting must now come in the first turn, not the first three.
    writeFileSync(
      newRubric,
      readFileSync('rubrics/example.yaml', 'utf8').replace(
        'within: { first_turns: 3 }',
        'within: { first_turns: 1 }',
      ),
    );
    const before = t.store.sqlite.prepare('SELECT count(*) AS n, sum(overall_score) AS s FROM results').get();
    const r = run('rescore', ['--rubric', newRubric, '--since', '1d', '--threads', '2']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^rubric Collections call QA v2\.3 \(sha256 [0-9a-f]{12}\)/);
    expect(r.stdout).toMatch(
      /40 conversation\(s\) rescored .* on 2 thread\(s\) \(CPU [\d.]+ s \+ [\d.]+ s\); nothing was written/,
    );
    expect(r.stdout).toMatch(/greeting\s+40\s+\d+\s+pass->fail \d+/);
    expect(r.stdout).toContain(`reviewers before`);
    expect(r.stdout).toMatch(/agreement with reviewers: before 100\.0% of 1, after (100\.0|0\.0)% of 1/);
    expect(greeting.outcome).toBe('pass');
    expect(
      t.store.sqlite.prepare('SELECT count(*) AS n, sum(overall_score) AS s FROM results').get(),
    ).toEqual(before);
    const json = run('rescore', ['--rubric', newRubric, '--since', 'all', '--json', '--threads', '1']);
    expect(JSON.parse(json.stdout).tally.conversations).toBe(40);
  });

  it('a rubric that does not load is one line per problem, exit 2', () => {
    const bad = join(t.dir, 'bad.yaml');
    writeFileSync(bad, 'name: x\nversion: 1\nrules:\n  - name: a\n    phrases: [hi]\n    mode: sometimes\n');
    const r = run('rescore', ['--rubric', bad, '--threads', '1']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/bad\.yaml: rule 'a': `mode`/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(run('rescore', []).status).toBe(2);
    // Saved as Latin-1: named as not UTF-8, as the console's upload does, never scored with U+FFFD.
    const latin1 = join(t.dir, 'latin1.yaml');
    writeFileSync(
      latin1,
      Buffer.from('name: x\nversion: 1\nrules:\n  - name: a\n    phrases: [caf\xe9]\n', 'latin1'),
    );
    const l = run('rescore', ['--rubric', latin1, '--threads', '1']);
    expect(l.status).toBe(2);
    expect(l.stderr).toBe(`${latin1}: not UTF-8 text (save it as UTF-8)\n`);
  });
});

describe('npm run examples', { timeout: 120_000 }, () => {
  it('writes reviewed conversations into the rubric as labelled examples that rubric:test runs', () => {
    seedResults(t.store, { count: 10, endAt: Date.now() - 60_000, spacingMs: 60_000 });
    const results = new ResultStore(t.store).list({}, 3).rows;
    const reviews = new ReviewStore(t.store);
    // Reviewers agree on the first result; on the second they contradict the engine's greeting.
    reviews.record(
      results[0]!.id,
      { id: null, name: 'rita' },
      [{ rule: 'greeting', verdict: 'agree' }],
      Date.now(),
    );
    const greeting = results[1]!.rules.find((r) => r.name === 'greeting')!;
    const flipped = greeting.outcome === 'pass' ? 'fail' : 'pass';
    reviews.record(
      results[1]!.id,
      { id: null, name: 'rita' },
      [{ rule: 'greeting', verdict: flipped }],
      Date.now(),
    );
    reviews.record(
      results[1]!.id,
      { id: null, name: 'sam' },
      [{ rule: 'greeting', verdict: flipped }],
      Date.now(),
    );
    const out = join(t.dir, 'with-examples.yaml');
    const r = run('examples', ['--reviewed', '--rubric', 'rubrics/example.yaml', '--out', out]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/2 reviewed conversation\(s\) written as examples/);
    const text = readFileSync(out, 'utf8');
    expect(text).toContain('# A rubric for a first-party collections call');
    expect(text).toContain(`name: ${results[1]!.conversationId} (reviewed by rita, sam)`);
    const test = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/qm.ts', 'rubric:test', out], {
      encoding: 'utf8',
    });
    // The flipped label is a disagreement rubric:test reports; the agreed one is not.
    expect(test.stdout).toContain(
      `DISAGREE example '${results[1]!.conversationId} (reviewed by rita, sam)': rule 'greeting': labelled ${flipped}`,
    );
    expect(test.stdout).not.toContain(`DISAGREE example '${results[0]!.conversationId}`);
    expect(test.stdout).not.toMatch(/could not be read/);
  });

  it('run again on its own output after another review, replaces the example of that conversation', () => {
    seedResults(t.store, { count: 5, endAt: Date.now() - 60_000, spacingMs: 60_000 });
    const result = new ResultStore(t.store).list({}, 1).rows[0]!;
    const greeting = result.rules.find((r) => r.name === 'greeting')!;
    const flipped = greeting.outcome === 'pass' ? 'fail' : 'pass';
    const reviews = new ReviewStore(t.store);
    const out = join(t.dir, 'rubric.yaml');
    writeFileSync(out, readFileSync('rubrics/example.yaml', 'utf8'));
    reviews.record(
      result.id,
      { id: null, name: 'rita' },
      [{ rule: 'greeting', verdict: flipped }],
      Date.now(),
    );
    expect(run('examples', ['--reviewed', '--rubric', out, '--out', out]).status).toBe(0);
    // Two more reviewers say the engine was right: the majority label is now the engine's.
    for (const name of ['sam', 'uma'])
      reviews.record(result.id, { id: null, name }, [{ rule: 'greeting', verdict: 'agree' }], Date.now());
    const again = run('examples', ['--reviewed', '--rubric', out, '--out', out]);
    expect(again.status, again.stderr).toBe(0);
    const text = readFileSync(out, 'utf8');
    const names = [...text.matchAll(/^ {2}- name: (.*)$/gm)].map((m) => m[1]);
    expect(names.filter((n) => n!.startsWith(`${result.conversationId} `))).toEqual([
      `${result.conversationId} (reviewed by rita, sam, uma)`,
    ]);
    // The rubric's own examples stay.
    expect(names).toContain('compliant hardship call');
    const test = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/qm.ts', 'rubric:test', out], {
      encoding: 'utf8',
    });
    expect(test.stdout).not.toContain(`DISAGREE example '${result.conversationId}`);
  });

  it('skips reviewed conversations whose transcript retention deleted, and says how many', () => {
    seedResults(t.store, { count: 5, endAt: Date.now() - 60_000, spacingMs: 60_000 });
    const rows = new ResultStore(t.store).list({}, 5).rows;
    const newest = rows[0]!;
    const oldest = rows.at(-1)!;
    const reviews = new ReviewStore(t.store);
    for (const row of [newest, oldest])
      reviews.record(
        row.id,
        { id: null, name: 'rita' },
        [{ rule: 'greeting', verdict: 'agree' }],
        Date.now(),
      );
    expect(createRetentionBatches(t.store).deleteBatch('transcripts', oldest.evaluatedAt + 1, 500)).toBe(1);
    const out = join(t.dir, 'with-examples.yaml');
    const r = run('examples', ['--reviewed', '--rubric', 'rubrics/example.yaml', '--out', out]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(
      /^1 reviewed conversation\(s\) written as examples to .*; 1 skipped \(transcript no longer stored\)$/m,
    );
    const text = readFileSync(out, 'utf8');
    expect(text).toContain(newest.conversationId);
    expect(text).not.toContain(oldest.conversationId);
  });

  it('says so when nothing was reviewed, exit 1', () => {
    const r = run('examples', ['--reviewed']);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/no reviewed conversations/);
    expect(run('examples', []).status).toBe(2);
  });

  it('refuses a rubric that is not UTF-8 and leaves it as it was (never written back with U+FFFD)', () => {
    seedResults(t.store, { count: 2, endAt: Date.now() - 60_000, spacingMs: 60_000 });
    const result = new ResultStore(t.store).list({}, 1).rows[0]!;
    new ReviewStore(t.store).record(
      result.id,
      { id: null, name: 'rita' },
      [{ rule: 'greeting', verdict: 'agree' }],
      Date.now(),
    );
    const latin1 = join(t.dir, 'latin1.yaml');
    const bytes = Buffer.from(
      readFileSync('rubrics/example.yaml', 'utf8').replace('name: greeting', 'name: greeting # é'),
      'latin1',
    );
    writeFileSync(latin1, bytes);
    const r = run('examples', ['--reviewed', '--rubric', latin1, '--out', latin1]);
    expect(r.status).toBe(2);
    expect(r.stderr).toBe(`${latin1}: not UTF-8 text (save it as UTF-8)\n`);
    expect(readFileSync(latin1).equals(bytes)).toBe(true);
  });
});

/**
 * The `qm` bin's dispatcher (src/cli/commands.ts), through the real process: every registered
 * command answers --help with its usage and does nothing else, an unknown flag is a usage error
 * (exit 2) that does nothing either, and the output of a command is only its own (pipeable).
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { COMMANDS } from '../../src/cli/commands.js';
import { tempStore } from '../support/db.js';
import { runQm } from '../support/process.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'qm-cli-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/**
 * Settings under which each command would do real work at once: a database in the (empty) working
 * folder, a CXone nobody answers, a port. If --help or a bad flag let a command run, it would create
 * the database or listen, and leave files behind.
 */
const workingSettings = () => ({
  DATABASE_PATH: join(dir, 'data', 'qm.sqlite'),
  CXONE_BASE_URL: 'http://127.0.0.1:9',
  CXONE_CLIENT_ID: 'id',
  CXONE_CLIENT_SECRET: 'secret',
  QM_FORM_ID: 'form-1',
  WEBHOOK_SECRET: `whsec_${Buffer.from('x'.repeat(24)).toString('base64')}`,
  PORT: '0',
  SWEEP_CONNECT_TIMEOUT_SECONDS: '1',
});

describe.each(Object.keys(COMMANDS))('qm %s', (name) => {
  it('--help prints its usage on stdout, exits 0 and does nothing else', () => {
    const r = runQm([name, '--help'], { cwd: dir, env: workingSettings() });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.startsWith(`usage: qm ${name}`)).toBe(true);
    expect(r.stdout).toMatch(/Exit codes: 0/);
    expect(r.stderr).toBe('');
    expect(readdirSync(dir)).toEqual([]);
  });

  it('an unknown flag is a usage error: exit 2, the usage line, nothing done', () => {
    const r = runQm([name, '--no-such-flag'], { cwd: dir, env: workingSettings() });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/'--no-such-flag'/);
    expect(r.stderr).toMatch(new RegExp(`usage: qm ${name.replace(':', '\\:')}`));
    expect(r.stdout).toBe('');
    expect(readdirSync(dir)).toEqual([]);
  });
});

describe('qm', () => {
  it('lists every command with --help and exits 0', () => {
    const help = runQm(['--help']);
    expect(help.status).toBe(0);
    for (const name of Object.keys(COMMANDS)) expect(help.stdout).toMatch(new RegExp(`^  ${name} `, 'm'));
    expect(runQm(['help', 'score']).stdout.startsWith('usage: qm score')).toBe(true);
  });

  // One process each: under load a spawn takes seconds, and each case gets its own time limit.
  it.each([[[]], [['nope']], [['constructor']], [['--bogus']], [['help', 'nope']]])(
    'qm %j: no or an unknown command is exit 2 with the list of commands',
    (args: string[]) => {
      const r = runQm(args);
      expect(r.status, args.join(' ')).toBe(2);
      expect(r.stderr).toMatch(/usage: qm COMMAND/);
      expect(r.stdout).toBe('');
    },
  );

  it.each([
    [['score', '--format', 'xml', 'x.json'], /--format must be json or table, not 'xml'/],
    [['score', '--rubric'], /argument missing/],
    [['score'], /no FILE given/],
    [['status', 'extra'], /Unexpected argument 'extra'/],
    [['requeue'], /give --failed or conversation ids/],
    [['requeue', '--failed', 'c-1'], /not both/],
  ])('qm %j: a bad option value or argument is exit 2 before anything is done', (args, message) => {
    const r = runQm(args as string[], { cwd: dir, env: workingSettings() });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(message as RegExp);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('status --json prints exactly one JSON document on stdout (pipeable into jq)', () => {
    const t = tempStore();
    try {
      const r = runQm(['status', '--json'], { env: { DATABASE_PATH: t.path } });
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout.endsWith('}\n')).toBe(true);
      expect(JSON.parse(r.stdout)).toMatchObject({ database: t.path });
    } finally {
      t.cleanup();
    }
  });
});

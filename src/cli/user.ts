/**
 * `qm user COMMAND` (`npm run user -- COMMAND`): the console's accounts (docs/contract.md §8).
 *
 *   add NAME --role admin|reviewer|viewer   new account; the password is read from standard input
 *   password NAME                           a new password (from standard input); ends its sessions
 *   role NAME admin|reviewer|viewer         changes what the account may do
 *   remove NAME                             removes the account, its sessions and tokens (its reviews stay)
 *   token NAME                              prints a new API token for scripts, once (stored hashed)
 *   revoke-tokens NAME                      removes every API token of the account
 *   list                                    accounts, roles, tokens, last sign-in
 *
 * Exit codes: 0 done; 1 it could not be done (unknown or taken name, password too short); 2 usage,
 * settings or database.
 */
import { createInterface } from 'node:readline';
import { createPasswordHasher, MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH } from '../auth/password.js';
import { issueApiToken } from '../auth/sign-in.js';
import { systemClock } from '../clock.js';
import { loadOperatorConfig } from '../config.js';
import { AccountStore } from '../store/accounts.js';
import { openExistingStore } from '../store/reports.js';
import { ROLES, type Role } from '../store/schema.js';
import type { CommandArgs } from './commands.js';
import { readEnvironment, reportProblems } from './env.js';
import { EXIT } from './exit.js';

const USAGE = `usage: qm user add NAME --role admin|reviewer|viewer   (password on standard input)
       qm user password NAME                            (password on standard input)
       qm user role NAME admin|reviewer|viewer
       qm user remove NAME
       qm user token NAME
       qm user revoke-tokens NAME
       qm user list`;

const NAME = /^[A-Za-z0-9._@-]{1,64}$/;

function usage(problem?: string): void {
  reportProblems(problem ? [problem, USAGE] : [USAGE], EXIT.config);
}

function isRole(value: string | undefined): value is Role {
  return (ROLES as readonly string[]).includes(value ?? '');
}

/**
 * The password: on a terminal, asked for twice without echo; otherwise the first line of standard
 * input (`printf '%s\n' "$PASSWORD" | npm run user -- add ...`).
 */
async function readPassword(): Promise<string> {
  if (!process.stdin.isTTY) {
    const rl = createInterface({ input: process.stdin, terminal: false });
    for await (const line of rl) {
      rl.close();
      return line.replace(/\r$/, '');
    }
    return '';
  }
  const ask = (prompt: string) =>
    new Promise<string>((resolve) => {
      process.stderr.write(prompt);
      const stdin = process.stdin;
      stdin.setRawMode(true);
      stdin.resume();
      let value = '';
      const onData = (chunk: Buffer) => {
        for (const ch of chunk.toString('utf8')) {
          if (ch === '\r' || ch === '\n') {
            stdin.setRawMode(false);
            stdin.pause();
            stdin.off('data', onData);
            process.stderr.write('\n');
            resolve(value);
            return;
          }
          if (ch === '\u0003') process.exit(130);
          if (ch === '\u007f') value = value.slice(0, -1);
          else value += ch;
        }
      };
      stdin.on('data', onData);
    });
  const first = await ask('Password: ');
  const second = await ask('Again: ');
  return first === second ? first : '\u0000mismatch';
}

function checkPassword(password: string): string | null {
  if (password === '\u0000mismatch') return 'the two passwords differ';
  if (password.length < MIN_PASSWORD_LENGTH)
    return `the password must have at least ${MIN_PASSWORD_LENGTH} characters`;
  if (password.length > MAX_PASSWORD_LENGTH)
    return `the password must have at most ${MAX_PASSWORD_LENGTH} characters`;
  return null;
}

function time(ms: number | null): string {
  return ms === null ? '-' : new Date(ms).toISOString().replace('T', ' ').slice(0, 16);
}

/** `qm user COMMAND ...`; flags (`--role`) and `--help` are handled by the dispatcher (./commands.ts). */
export async function run(args: CommandArgs): Promise<void> {
  const [command, ...rest] = args.positionals;
  if (!command) return usage();
  const role = typeof args.values.role === 'string' ? args.values.role : undefined;
  const env = readEnvironment();
  const loaded = loadOperatorConfig(env);
  if (!loaded.ok) return reportProblems(loaded.problems, EXIT.config);
  // Never creates a database: a mistyped DATABASE_PATH would otherwise get an empty one, and an
  // account in it that signs in nowhere. The service makes the database when it first starts.
  const opened = openExistingStore(loaded.config.databasePath, { write: true });
  if (!opened.ok) return reportProblems([opened.problem], EXIT.config);
  const { store } = opened;
  try {
    await runUser(command, rest, role, new AccountStore(store));
  } finally {
    store.close();
  }
}

async function runUser(
  command: string,
  args: string[],
  roleOption: string | undefined,
  accounts: AccountStore,
): Promise<void> {
  const now = systemClock.now();
  const hasher = createPasswordHasher();
  const fail = (line: string) => reportProblems([line], EXIT.unexpected);
  const name = args[0];
  if (command === 'list') {
    const users = accounts.listUsers(now);
    if (users.length === 0) {
      process.stdout.write('no accounts yet: npm run user -- add NAME --role admin\n');
      return;
    }
    const width = Math.max(4, ...users.map((u) => u.name.length));
    process.stdout.write(`${'name'.padEnd(width)}  role      tokens  sessions  last seen         created\n`);
    for (const u of users) {
      process.stdout.write(
        `${u.name.padEnd(width)}  ${u.role.padEnd(8)}  ${String(u.tokens).padStart(6)}  ${String(u.sessions).padStart(8)}  ${time(u.lastSeenAt).padEnd(16)}  ${time(u.createdAt)}\n`,
      );
    }
    return;
  }
  if (!name || !NAME.test(name)) {
    return usage(
      name
        ? `NAME: 1-64 letters, digits, '.', '_', '@' or '-' (got '${name.slice(0, 80)}')`
        : 'NAME is missing',
    );
  }
  switch (command) {
    case 'add': {
      const role = roleOption;
      if (!isRole(role)) return usage('--role must be admin, reviewer or viewer');
      const password = await readPassword();
      const problem = checkPassword(password);
      if (problem) return fail(problem);
      const added = accounts.addUser(name, role, await hasher.hash(password), now);
      if (added === 'exists') return fail(`a user named '${name}' already exists (names ignore case)`);
      process.stdout.write(`added ${name} (${role})\n`);
      return;
    }
    case 'password': {
      if (!accounts.findUser(name)) return fail(`no user named '${name}'`);
      const password = await readPassword();
      const problem = checkPassword(password);
      if (problem) return fail(problem);
      accounts.setPassword(name, await hasher.hash(password), now);
      process.stdout.write(`new password for ${name}; their sessions have ended\n`);
      return;
    }
    case 'role': {
      const role = args[1];
      if (!isRole(role)) return usage('ROLE must be admin, reviewer or viewer');
      const user = accounts.findUser(name);
      if (!user || !accounts.setRole(name, role, now)) return fail(`no user named '${name}'`);
      process.stdout.write(`${user.name} is now ${role}\n`);
      return;
    }
    case 'remove': {
      if (!accounts.removeUser(name)) return fail(`no user named '${name}'`);
      process.stdout.write(`removed ${name}; their reviews stay, under their name\n`);
      return;
    }
    case 'token': {
      const user = accounts.findUser(name);
      if (!user) return fail(`no user named '${name}'`);
      // The token alone on stdout, so `TOKEN=$(npm run -s user -- token NAME)` works; the note on stderr.
      process.stdout.write(`${issueApiToken(accounts, user.id, now)}\n`);
      process.stderr.write(
        `API token for ${user.name} (${user.role}). It is shown only now; send it as "Authorization: Bearer <token>".\n`,
      );
      return;
    }
    case 'revoke-tokens': {
      const user = accounts.findUser(name);
      if (!user) return fail(`no user named '${name}'`);
      process.stdout.write(`revoked ${accounts.revokeTokens(user.id)} token(s) of ${user.name}\n`);
      return;
    }
    default:
      return usage(`unknown command '${command}'`);
  }
}

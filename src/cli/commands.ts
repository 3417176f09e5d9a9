import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { EXIT } from './exit.js';

/**
 * Every command of the `qm` bin, in one place: its usage, its options and where its code is. The
 * dispatcher answers `--help` and refuses unknown flags before a command's module is even loaded, so
 * `qm score` does not load the database or HTTP code, and `--help` never does any work.
 *
 * To add a command: one entry in COMMANDS below (a module exporting `run(args)`), a line in the
 * README's command table, and a script in package.json if it should also be an `npm run` script.
 */

/** Parsed arguments as a command receives them: flags by long name, then the positionals. */
export interface CommandArgs {
  values: Record<string, string | boolean | undefined>;
  positionals: string[];
}

interface OptionSpec {
  type: 'string' | 'boolean';
  short?: string;
  /** For string options: the value shown in the usage, e.g. FILE. */
  value?: string;
  /** For string options: the only values accepted. */
  choices?: readonly string[];
  description: string;
}

export interface CommandSpec {
  /** One line, for `qm --help`. */
  summary: string;
  /** Everything after `qm NAME` in the usage line. */
  synopsis: string;
  /** What the command does, what it prints and its exit codes: the rest of `qm NAME --help`. */
  details: string;
  options?: Record<string, OptionSpec>;
  /** Positional arguments: their name in messages and how many at least (none allowed when absent). */
  positionals?: { name: string; min: number };
  /** Checks beyond the flags and the positional count: a message for a usage error, or undefined. */
  check?: (args: CommandArgs) => string | undefined;
  /** The module with the command's code, loaded only when the command runs. */
  load: () => Promise<{ run(args: CommandArgs): void | Promise<void> }>;
}

/** A usage error exits with the commands' "bad setting or usage" code. */
const EXIT_USAGE = EXIT.config;

const SETTINGS_NOTE =
  'Settings come from the environment and from .env in the working directory (the environment wins).';

export const COMMANDS: Record<string, CommandSpec> = {
  start: {
    summary: 'the service: HTTP ingest, worker and periodic sweep (what `node dist/main.js` runs)',
    synopsis: '',
    details: [
      'Applies database migrations, reads the QM form, then serves POST /webhooks/cxone, GET /healthz and',
      'GET /readyz on PORT, works the queue and sweeps every SWEEP_INTERVAL_SECONDS. Logs pino JSON lines',
      'on stdout. SIGTERM or SIGINT: stops taking webhooks, drains, exits 0.',
      SETTINGS_NOTE,
      '',
      'Exit codes: 0 after SIGTERM/SIGINT; 2 bad setting, rubric, or rule that fits no form item;',
      '4 CXone refused the credentials; 1 unexpected.',
    ].join('\n'),
    load: () => import('./start.js'),
  },
  sweep: {
    summary: 'one reconciliation pass, then works what it found until nothing runnable is left',
    synopsis: '[--dry-run [--limit N]]',
    details: [
      'Finds completed conversations not yet evaluated, scores and submits them, and prints a three-line',
      'summary on stdout (progress and pino JSON logs on stderr). Safe while `qm start` runs on the same',
      'database.',
      SETTINGS_NOTE,
      '',
      'Exit codes: 0 done; 2 bad setting or rubric; 3 CXone could not be reached, asked us to wait, or',
      'answered something unusable; 4 CXone refused the credentials; 130 interrupted (Ctrl-C, SIGTERM);',
      '1 unexpected.',
      '',
      '--dry-run lists what the pass would find and scores the first N transcripts for real, one line',
      'each, and writes nothing: no job, no sweep watermark, no evaluation or business data.',
    ].join('\n'),
    options: {
      'dry-run': { type: 'boolean', description: 'list and score without writing or delivering anything' },
      limit: {
        type: 'string',
        value: 'N',
        description: 'transcripts fetched and scored by --dry-run (default 20)',
      },
    },
    check: (args) => {
      const limit = args.values.limit;
      if (limit !== undefined && !args.values['dry-run']) return '--limit goes with --dry-run';
      if (typeof limit === 'string' && !/^\d+$/.test(limit)) return '--limit must be a whole number';
      return undefined;
    },
    load: () => import('./sweep.js'),
  },
  status: {
    summary: 'read-only look at the database: jobs per state, waiting work, failures, sweeps',
    synopsis: '[--json]',
    details: [
      'Reads DATABASE_PATH and prints jobs per form and state, what is still waiting and since when, the',
      'last ten failures with their reasons, the last sweeps, the webhook deliveries recorded, webhooks',
      'refused for their signature (last hour and day) and conversations CXone had already evaluated.',
      SETTINGS_NOTE,
      '',
      'Exit codes: 0; 2 usage, or DATABASE_PATH cannot be opened.',
    ].join('\n'),
    options: { json: { type: 'boolean', description: 'print one JSON object instead of the report' } },
    load: () => import('./status.js'),
  },
  requeue: {
    summary: 'puts failed (or, by id, skipped) conversations back in the queue',
    synopsis: '--failed | CONVERSATION_ID...',
    details: [
      "Gives the configured form's failed conversations (--failed), or the given failed or skipped ones,",
      'fresh attempts, e.g. after fixing the form or the credentials. Submitted ones are never reopened. A',
      'running `qm start` picks them up within seconds; or run `qm sweep`. By id, it says for each id what',
      'it did or why not. It never creates a database.',
      SETTINGS_NOTE,
      '',
      'Exit codes: 0 every id given requeued or already on its way; 1 some id unknown, already submitted',
      'or not evaluable; 2 usage, settings or database problem.',
    ].join('\n'),
    options: { failed: { type: 'boolean', description: 'every failed conversation of the configured form' } },
    positionals: { name: 'CONVERSATION_ID', min: 0 },
    check: (args) => {
      const ids = args.positionals.length > 0;
      if (args.values.failed && ids) return 'give --failed or conversation ids, not both';
      return args.values.failed || ids ? undefined : 'give --failed or conversation ids';
    },
    load: () => import('./requeue.js'),
  },
  backup: {
    summary: 'a consistent copy of the database while the service runs',
    synopsis: 'FILE [--overwrite]',
    details: [
      "Copies DATABASE_PATH to FILE with SQLite's backup API: one consistent snapshot, taken without",
      'blocking the service, written as a single self-contained file, checked (integrity_check, the',
      'migrations recorded) before it is moved to FILE; prints what it wrote. A plain cp of the database',
      'while the service runs is not a backup (WAL mode). Never creates a database; copies a database of',
      'an older version too (back up before upgrading).',
      SETTINGS_NOTE,
      '',
      'Exit codes: 0 written and checked; 1 the copy failed (nothing replaced); 2 usage, settings,',
      'DATABASE_PATH cannot be opened, or FILE exists (give --overwrite to replace it).',
    ].join('\n'),
    options: { overwrite: { type: 'boolean', description: 'replace FILE if it exists' } },
    positionals: { name: 'FILE', min: 1 },
    check: (args) => (args.positionals.length > 1 ? 'give one FILE' : undefined),
    load: () => import('./backup.js'),
  },
  score: {
    summary: 'scores conversation files offline with a rubric (no network, no database)',
    synopsis: '[--rubric FILE] [--format json|table] FILE...',
    details: [
      'Each FILE holds one conversation {"id", "transcript"} or JSON Lines of them. Prints JSON Lines',
      '(the default when stdout is not a terminal) or a readable table.',
      '',
      'Exit codes: 0 all scored; 1 some file or line could not be read; 2 usage or rubric error.',
    ].join('\n'),
    options: {
      rubric: {
        type: 'string',
        short: 'r',
        value: 'FILE',
        description: 'rubric file, YAML or JSON (default: the bundled rubrics/tutorial.yaml)',
      },
      format: {
        type: 'string',
        short: 'f',
        value: 'FORMAT',
        choices: ['json', 'table'],
        description: 'json (JSON Lines) or table; default json unless stdout is a terminal',
      },
    },
    positionals: { name: 'FILE', min: 1 },
    load: () => import('./score.js'),
  },
  'rubric:test': {
    summary: "checks a rubric's labelled examples against the engine",
    synopsis: 'RUBRIC_FILE...',
    details: [
      "Scores each rubric's labelled examples and prints every disagreement with its evidence, then the",
      'agreement per rule and overall.',
      '',
      'Exit codes: 0 all agree; 1 a disagreement or an unreadable example; 2 usage or invalid rubric.',
    ].join('\n'),
    positionals: { name: 'RUBRIC_FILE', min: 1 },
    load: () => import('./rubric-test.js'),
  },
  demo: {
    summary: 'the service against its built-in CXone simulator: no credentials, no network',
    synopsis: '[--api tutorial|platform] [--console]',
    details: [
      'Starts the real service on loopback next to an in-memory CXone, lets 36 sample conversations end',
      '(lost webhooks, late transcripts, a few faults), prints evaluations as CXone receives them and a',
      'table of scores. About 15 s. --api platform: the platform profile (NICE CXone documented APIs)',
      'against a simulator of them: Studio pushes, the sweep over Reporting, IA and chat transcripts,',
      'business data written back. --console: afterwards the service keeps serving (Ctrl-C stops it),',
      'with an account "demo" (admin, a fresh password printed) to look at the results in the QA console.',
      '',
      'Exit codes: 0; 1 if anything went wrong.',
    ].join('\n'),
    options: {
      api: {
        type: 'string',
        value: 'API',
        choices: ['tutorial', 'platform'],
        description: 'which CXone API profile to show (default tutorial)',
      },
      console: {
        type: 'boolean',
        description: 'keep serving afterwards, with a demo account for the QA console',
      },
    },
    load: () => import('./demo.js'),
  },
  user: {
    summary: "the QA console's accounts and API tokens",
    synopsis:
      'add NAME --role ROLE | password NAME | role NAME ROLE | remove NAME | token NAME | revoke-tokens NAME | list',
    details: [
      'add: a new account (admin, reviewer or viewer); the password is read from standard input (asked',
      'twice without echo on a terminal, else the first line), at least 10 characters. password: a new',
      "password the same way; ends the account's sessions. role: changes the role. remove: the account,",
      'its sessions and tokens (its reviews stay). token: prints a new API token alone on stdout, once',
      '(only its hash is kept). revoke-tokens: deletes them all. list: accounts, roles, tokens, last seen.',
      'Reads DATABASE_PATH; never creates a database (start the service once first).',
      SETTINGS_NOTE,
      '',
      'Exit codes: 0 done; 1 unknown or taken name, password too short; 2 usage, settings or database.',
    ].join('\n'),
    options: {
      role: {
        type: 'string',
        value: 'ROLE',
        choices: ['admin', 'reviewer', 'viewer'],
        description: 'for add: what the account may do',
      },
    },
    positionals: { name: 'COMMAND', min: 1 },
    load: () => import('./user.js'),
  },
  rescore: {
    summary: 'backtest: stored transcripts scored with another rubric; what would change, nothing written',
    synopsis:
      '--rubric FILE [--since 7d|DAY|INSTANT|all] [--until DAY|INSTANT] [--destination KEY] [--threads N] [--json]',
    details: [
      'Scores the stored transcripts of the window (default the last 7 days) with FILE and reports per',
      'rule how many outcomes would change and how, a few changed conversations, and the agreement with',
      "reviewers' verdicts before and after. Results the active rubric (RUBRIC_PATH) scored rerun only the",
      'rules FILE changes. Opens the database read-only; uses worker threads (default: up to 4 cores).',
      SETTINGS_NOTE,
      '',
      'Exit codes: 0 reported; 2 usage, settings, database, or a rubric that does not load; 1 unexpected.',
    ].join('\n'),
    options: {
      rubric: { type: 'string', short: 'r', value: 'FILE', description: 'the rubric to try (YAML or JSON)' },
      since: {
        type: 'string',
        value: 'WHEN',
        description: 'from: 7d, 24h, a day (TIME_ZONE), an ISO instant, or all',
      },
      until: {
        type: 'string',
        value: 'WHEN',
        description: 'up to: a day (included), an ISO instant, or a span',
      },
      destination: { type: 'string', value: 'KEY', description: 'only results of this form or rubric key' },
      threads: { type: 'string', value: 'N', description: 'worker threads, 1-64' },
      json: { type: 'boolean', description: 'print the whole report as one JSON object' },
    },
    check: (args) => (typeof args.values.rubric === 'string' ? undefined : '--rubric FILE is required'),
    load: () => import('./rescore.js'),
  },
  examples: {
    summary: "reviewed conversations as a rubric's labelled examples, for rubric:test",
    synopsis: '--reviewed [--since 7d|DAY|all] [--rubric FILE] [--out FILE]',
    details: [
      'Writes a copy of the rubric (RUBRIC_PATH unless --rubric) with each reviewed conversation of the',
      "window added to its examples: the stored transcript, and per rule the reviewers' outcome (the",
      'majority; a tie is left out). Comments are kept; an example of the same name, or one made earlier',
      "from the same conversation, is replaced. To --out or stdout. A rubric in the tutorial's shape has no",
      'examples: the examples alone are printed.',
      SETTINGS_NOTE,
      '',
      'Exit codes: 0 written; 1 nothing reviewed in the window; 2 usage, settings, database or rubric.',
    ].join('\n'),
    options: {
      reviewed: { type: 'boolean', description: 'from reviewed conversations (the only source there is)' },
      since: {
        type: 'string',
        value: 'WHEN',
        description: 'verdicts given from: 7d, a day, an ISO instant, or all',
      },
      rubric: { type: 'string', short: 'r', value: 'FILE', description: 'the rubric to add them to' },
      out: { type: 'string', short: 'o', value: 'FILE', description: 'where to write (default stdout)' },
    },
    check: (args) => (args.values.reviewed === true ? undefined : '--reviewed is required'),
    load: () => import('./examples.js'),
  },
};

/** Own entries only: `qm constructor` is an unknown command, not Object's. */
function findCommand(name: string): CommandSpec | undefined {
  return Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
}

function usageLine(name: string, spec: CommandSpec): string {
  return `usage: qm ${name}${spec.synopsis ? ` ${spec.synopsis}` : ''}`;
}

function commandHelp(name: string, spec: CommandSpec): string {
  const lines = [usageLine(name, spec), '', spec.summary, '', spec.details, '', 'options:'];
  const options = Object.entries(spec.options ?? {});
  const label = ([long, o]: [string, OptionSpec]) =>
    `${o.short ? `-${o.short}, ` : '    '}--${long}${o.type === 'string' ? ` ${o.value ?? 'VALUE'}` : ''}`;
  const rows: [string, string][] = [
    ...options.map((entry) => [label(entry), entry[1].description] as [string, string]),
    ['-h, --help', 'print this help and exit'],
  ];
  const width = Math.max(...rows.map(([l]) => l.length));
  for (const [l, d] of rows) lines.push(`  ${l.padEnd(width)}  ${d}`);
  return `${lines.join('\n')}\n`;
}

function overview(): string {
  const names = Object.keys(COMMANDS);
  const width = Math.max(...names.map((n) => n.length));
  return [
    'usage: qm COMMAND [OPTIONS]',
    '',
    'commands:',
    ...names.map((n) => `  ${n.padEnd(width)}  ${COMMANDS[n]!.summary}`),
    '',
    "`qm COMMAND --help` for a command's options and exit codes; `qm --version` for the version.",
    '',
  ].join('\n');
}

function usageError(message: string, usage: string): void {
  process.stderr.write(`qm: ${message}\n${usage}\n`);
  process.exitCode = EXIT_USAGE;
}

/** `--help`/`-h` anywhere before a `--` terminator: help wins over every other argument. */
function asksForHelp(argv: string[]): boolean {
  const end = argv.indexOf('--');
  return (end === -1 ? argv : argv.slice(0, end)).some((a) => a === '--help' || a === '-h');
}

/** Parses `argv` for command `name` and runs it; usage errors exit 2, `--help` exits 0 and runs nothing. */
export async function runCommand(name: string, argv: string[]): Promise<void> {
  const spec = findCommand(name);
  if (!spec) return usageError(`unknown command '${name}'`, overview().trimEnd());
  if (asksForHelp(argv)) {
    process.stdout.write(commandHelp(name, spec));
    return;
  }
  let args: CommandArgs;
  try {
    const parsed = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: spec.positionals !== undefined,
      options: Object.fromEntries(
        Object.entries(spec.options ?? {}).map(([long, o]) => [
          long,
          o.short ? { type: o.type, short: o.short } : { type: o.type },
        ]),
      ),
    });
    args = { values: parsed.values as CommandArgs['values'], positionals: parsed.positionals };
  } catch (error) {
    // parseArgs' messages name the offending flag or argument.
    return usageError((error as Error).message, usageLine(name, spec));
  }
  for (const [long, o] of Object.entries(spec.options ?? {})) {
    const value = args.values[long];
    if (o.choices && typeof value === 'string' && !o.choices.includes(value)) {
      return usageError(`--${long} must be ${o.choices.join(' or ')}, not '${value}'`, usageLine(name, spec));
    }
  }
  if (spec.positionals && args.positionals.length < spec.positionals.min) {
    return usageError(`no ${spec.positionals.name} given`, usageLine(name, spec));
  }
  const problem = spec.check?.(args);
  if (problem) return usageError(problem, usageLine(name, spec));

  try {
    const command = await spec.load();
    await command.run(args);
  } catch (error) {
    // Commands report their expected failures themselves; this is the net for everything else.
    process.stderr.write(`unexpected error: ${(error as Error)?.stack ?? String(error)}\n`);
    process.exitCode = EXIT.unexpected;
  }
}

/** `qm ARGS...`: the bin. */
export async function runCli(argv: string[]): Promise<void> {
  const [first, ...rest] = argv;
  if (first === undefined) return usageError('no command given', overview().trimEnd());
  if (first === '--help' || first === '-h' || first === 'help') {
    const topic = first === 'help' ? rest[0] : undefined;
    const spec = topic === undefined ? undefined : findCommand(topic);
    if (topic !== undefined && !spec) return usageError(`unknown command '${topic}'`, overview().trimEnd());
    process.stdout.write(spec && topic ? commandHelp(topic, spec) : overview());
    return;
  }
  if (first === '--version' || first === '-V') {
    process.stdout.write(`${readVersion()}\n`);
    return;
  }
  if (first.startsWith('-')) return usageError(`unknown option '${first}'`, overview().trimEnd());
  return runCommand(first, rest);
}

function readVersion(): string {
  // src/cli/ and dist/cli/ are both two levels below package.json.
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  return pkg.version;
}

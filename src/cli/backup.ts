import { loadOperatorConfig } from '../config.js';
import { backupDatabase } from '../store/backup.js';
import { openExistingStore } from '../store/reports.js';
import type { CommandArgs } from './commands.js';
import { readEnvironment, reportProblems } from './env.js';
import { EXIT } from './exit.js';

/**
 * `qm backup FILE [--overwrite]` (`npm run backup -- FILE`): a consistent copy of DATABASE_PATH in FILE, taken while the
 * service runs (src/store/backup.ts says how and why not `cp`). Refuses to replace an existing FILE
 * unless --overwrite; never creates a database at DATABASE_PATH (a wrong path is one line, exit 2);
 * backs up a database of an older version too (back up before an upgrade). Prints what it wrote.
 *
 * Exit codes: 0 written and checked; 1 the copy failed (disk full, failed its check: nothing replaced);
 * 2 usage, settings, DATABASE_PATH cannot be opened, or FILE exists.
 */
export async function run(args: CommandArgs): Promise<void> {
  // The dispatcher checked the arguments (exactly one FILE): see COMMANDS.backup.
  const file = args.positionals[0]!;
  const loaded = loadOperatorConfig(readEnvironment());
  if (!loaded.ok) return reportProblems(loaded.problems, EXIT.config);
  const path = loaded.config.databasePath;
  // Read-write only to take part in WAL's locking like any reader; nothing is written to it.
  let opened = openExistingStore(path, { write: true, acceptOlder: true });
  if (!opened.ok && /not writable/.test(opened.problem))
    opened = openExistingStore(path, { write: false, acceptOlder: true });
  if (!opened.ok) return reportProblems([opened.problem], EXIT.config);
  try {
    const outcome = await backupDatabase(opened.store, file, { overwrite: args.values.overwrite === true });
    if (!outcome.ok) {
      return reportProblems([outcome.problem], outcome.kind === 'refused' ? EXIT.config : EXIT.unexpected);
    }
    const r = outcome.result;
    const mib = (r.bytes / 1024 / 1024).toFixed(1);
    process.stdout.write(
      `backup of ${path} written to ${r.path}: ${mib} MiB, ${r.jobs} job(s), ${r.webhookEvents} webhook delivery(ies), ${r.migrations} migration(s), integrity ok, in ${(r.durationMs / 1000).toFixed(1)} s\n`,
    );
  } finally {
    opened.store.close();
  }
}

import { systemClock } from '../clock.js';
import { loadConfig } from '../config.js';
import { loadRubricFile } from '../rubric-file.js';
import { EXIT } from '../service.js';
import { migrate, openStore } from '../store/db.js';
import { JobStore } from '../store/jobs.js';
import { readEnvironment, reportProblems } from './env.js';

/**
 * `npm run requeue -- --failed | ID...`: gives failed (or, by id, skipped) conversations of the
 * configured form another go, e.g. after fixing the QM form or the credentials. A running
 * `npm start` picks them up within seconds; or run `npm run sweep`, which also works what is due.
 */
function main(): void {
  const args = process.argv.slice(2);
  const allFailed = args.includes('--failed');
  const ids = args.filter((a) => !a.startsWith('--'));
  if (!allFailed && ids.length === 0) {
    return void reportProblems(['usage: npm run requeue -- --failed | CONVERSATION_ID...'], EXIT.config);
  }
  const env = readEnvironment();
  const loaded = loadConfig(env, 'sweep');
  const databasePath = loaded.ok ? loaded.config.databasePath : (env.DATABASE_PATH ?? './data/qm.sqlite');
  // The form the jobs belong to: the rubric's own, else QM_FORM_ID, as for npm start.
  const rubric = loadRubricFile(loaded.ok ? loaded.config.rubricPath : (env.RUBRIC_PATH ?? null));
  if (!rubric.ok) return void reportProblems(rubric.problems, EXIT.config);
  const formId = rubric.rubric.formId ?? env.QM_FORM_ID;
  if (!formId)
    return void reportProblems(['QM_FORM_ID: required (the rubric names no form_id)'], EXIT.config);

  const store = openStore(databasePath);
  try {
    migrate(store);
    const changed = new JobStore(store, formId).requeue(allFailed ? 'all-failed' : ids, systemClock.now());
    process.stdout.write(`requeued ${changed} conversation(s) for form ${formId}\n`);
  } finally {
    store.close();
  }
}

main();

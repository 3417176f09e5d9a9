import { systemClock } from '../clock.js';
import { loadOperatorConfig } from '../config.js';
import { rubricKey } from '../pipeline/destinations.js';
import { loadRubricFile } from '../rubric-file.js';
import { type Job, JobStore } from '../store/jobs.js';
import { formsOfConversation, openExistingStore } from '../store/reports.js';
import type { CommandArgs } from './commands.js';
import { readEnvironment, reportProblems } from './env.js';
import { EXIT } from './exit.js';

/**
 * `qm requeue --failed | ID...` (`npm run requeue -- ...`): gives failed (or, by id, skipped) conversations of the
 * configured form another go, e.g. after fixing the QM form or the credentials. A running
 * `npm start` picks them up within seconds; or run `npm run sweep`, which also works what is due.
 *
 * It only opens a database the service made (never creates one). By id, it says for each id what it
 * did or why not. Exit 0 when every id given is requeued or already on its way (waiting or being
 * worked on); 1 when some id is unknown, already submitted or cannot be evaluated; 2 on a usage,
 * settings or database problem.
 */
export function run(args: CommandArgs): void {
  // Usage (--failed or ids, not both, no other flag) is checked by the dispatcher (./commands.ts).
  const allFailed = args.values.failed === true;
  const ids = args.positionals;
  const loaded = loadOperatorConfig(readEnvironment());
  if (!loaded.ok) return void reportProblems(loaded.problems, EXIT.config);
  const { config } = loaded;
  // The key the jobs belong to, as for npm start: the rubric's form, else QM_FORM_ID; in the platform
  // profile (no QM form) the rubric itself.
  const rubric = loadRubricFile(config.rubricPath);
  if (!rubric.ok) return void reportProblems(rubric.problems, EXIT.config);
  const formId =
    config.api === 'platform' ? rubricKey(rubric.rubric) : (rubric.rubric.formId ?? config.formId);
  if (!formId)
    return void reportProblems(['QM_FORM_ID: required (the rubric names no form_id)'], EXIT.config);

  const opened = openExistingStore(config.databasePath, { write: true });
  if (!opened.ok) return void reportProblems([opened.problem], EXIT.config);
  const { store } = opened;
  try {
    const jobs = new JobStore(store, formId);
    const now = systemClock.now();
    if (allFailed) {
      const changed = jobs.requeue('all-failed', now);
      process.stdout.write(`requeued ${changed} conversation(s) for form ${formId}\n`);
      return;
    }
    // One transaction: each explanation is of the state the requeue itself saw.
    const outcomes = jobs.transaction(() =>
      [...new Set(ids)].map((id) => {
        // The store decides what may be requeued; the job's state only explains a refusal.
        if (jobs.requeue([id], now) === 1) return { id, requeued: true, onItsWay: true, why: 'requeued' };
        return { id, requeued: false, ...whyNot(jobs.get(id), () => formsOfConversation(store, id), formId) };
      }),
    );
    for (const o of outcomes)
      process.stdout.write(`${o.id}: ${o.requeued ? 'requeued' : `not requeued: ${o.why}`}\n`);
    const requeued = outcomes.filter((o) => o.requeued).length;
    process.stdout.write(`requeued ${requeued} of ${outcomes.length} conversation(s) for form ${formId}\n`);
    if (outcomes.some((o) => !o.onItsWay)) process.exitCode = EXIT.unexpected;
  } catch (error) {
    // A lock held past the busy timeout, a disk error: one line, no stack trace.
    reportProblems(
      [`DATABASE_PATH: cannot requeue in '${config.databasePath}' (${(error as Error).message})`],
      EXIT.config,
    );
  } finally {
    store.close();
  }
}

/** Why a job was not requeued, in the operator's words, from what the store returned. */
function whyNot(
  job: Job | undefined,
  otherForms: () => string[],
  formId: string,
): { why: string; onItsWay: boolean } {
  if (!job) {
    const elsewhere = otherForms();
    return {
      why: `no such conversation for form ${formId}${elsewhere.length > 0 ? ` (known for form ${elsewhere.join(', ')})` : ''}`,
      onItsWay: false,
    };
  }
  switch (job.state) {
    case 'submitted':
      return {
        why: `already submitted${job.evaluationId ? ` (evaluation ${job.evaluationId})` : ''}; submitted conversations are never reopened`,
        onItsWay: false,
      };
    case 'in_progress':
      return {
        why: `being worked on right now${job.leaseOwner ? ` (by ${job.leaseOwner})` : ''}`,
        onItsWay: true,
      };
    case 'due':
    case 'waiting_transcript':
    case 'waiting_agent':
      return { why: `already in the queue (${job.state})`, onItsWay: true };
    default:
      // Skipped or failed, and the store would not requeue it: no agent, so nothing to evaluate.
      return {
        why: `${job.state}: ${job.reason ?? (job.agentId ? 'not requeueable' : 'no agent: it cannot be evaluated')}`,
        onItsWay: false,
      };
  }
}

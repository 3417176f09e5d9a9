import PQueue from 'p-queue';
import type { Logger } from 'pino';
import type { Clock } from '../clock.js';
import type { CxoneError } from '../cxone/types.js';
import { EMPTY_TRANSCRIPT, formatScore, isEmptyTranscript, type Scorer } from '../scoring/index.js';
import { isBusy, retryWhileBusy } from '../store/db.js';
import {
  type Job,
  type JobStore,
  NO_AGENT_REASON,
  type QuarantinedJob,
  type ReasonCode,
  type RetryCode,
  type SubmittedResult,
} from '../store/jobs.js';
import type { PreparedResult, Delivery as ResultDelivery, ResultInput } from '../store/results.js';
import { backoffDelay } from './backoff.js';
import type { Destination } from './destinations.js';
import { resultInput } from './result.js';
import type { TranscriptSource } from './sources.js';

/** The part of the result store the worker uses: CPU work first, then the write inside the transition. */
export interface ResultRecorder {
  prepare(input: ResultInput): PreparedResult;
  write(prepared: PreparedResult): number;
}

/** A scored conversation's result, given what became of its delivery. */
type KeepResult = (delivery: ResultDelivery, overallScore?: number) => PreparedResult;

export interface WorkerOptions {
  jobs: JobStore;
  /** Where transcripts come from: the profile's CXone API (sources.ts). */
  source: TranscriptSource;
  scorer: Scorer;
  /** Where results go besides the database: a QM evaluation, business data, or nothing (destinations.ts). */
  destination: Destination;
  clock: Clock;
  log: Logger;
  /** Unique per process: whose lease a job is under. */
  owner: string;
  concurrency: number;
  maxAttempts: number;
  transcriptMaxWaitMs: number;
  /** Lease length. Renewed every third of it while the job runs, so it only lapses when we died. */
  leaseMs: number;
  retryBaseMs: number;
  retryMaxMs?: number;
  transcriptRetryBaseMs: number;
  transcriptRetryMaxMs?: number;
  /** Longest idle wait between looks at the database (other processes may add work). */
  idlePollMs?: number;
  /**
   * How long a run's outcome may wait for a lock another process holds before it is given up (the
   * lease then lapses and the job is run again; its Idempotency-Key makes that harmless). Defaults to
   * the lease length.
   */
  busyBudgetMs?: number;
  random?: () => number;
  /**
   * Where scored conversations are kept (docs/contract.md §8): each result, with its transcript, is
   * written in the transaction of the transition that follows the scoring, so a result exists exactly
   * when that transition happened. Absent: results are not kept (tests about the pipeline alone).
   */
  results?: ResultRecorder;
}

export type JobOutcome =
  | 'submitted'
  | 'skipped'
  | 'failed'
  | 'retry'
  /** CXone refused the credentials (401 after a fresh token, or 403): the operator must act. */
  | 'credentials_refused'
  | 'waiting_transcript'
  | 'lease_lost';

export interface Worker {
  /** Starts working runnable jobs and keeps doing so until stop(). */
  start(): void;
  /** Something became runnable (a webhook, a sweep): look now rather than at the next poll. */
  notify(): void;
  /**
   * Works every job runnable now, and retries due within `waitForRetriesMs`, then resolves. Jobs
   * waiting for a transcript are waited for only with `waitForTranscripts` (a transcript still being
   * made can take hours; `npm run sweep` reports those as still waiting instead).
   */
  runUntilIdle(waitForRetriesMs: number, options?: { waitForTranscripts?: boolean }): Promise<void>;
  /** Stops claiming, lets running jobs finish for up to graceMs, then hands back unfinished leases. */
  stop(graceMs: number): Promise<void>;
  readonly inFlight: number;
  onJobDone?: (job: Job, outcome: JobOutcome, reason?: string, details?: JobDoneDetails) => void;
}

/** What else onJobDone hears of a run: the stored reason code, and the score of a submitted one. */
export interface JobDoneDetails {
  code?: ReasonCode;
  /** The composite this run scored and submitted (submitted runs only). */
  overallScore?: number;
}

/** How a run ended: the outcome, and why (the stored code and its text for people). */
interface Ended {
  outcome: JobOutcome;
  code?: ReasonCode;
  reason?: string;
  overallScore?: number;
  /** Worth a warning although it is no failure (CXone kept an earlier evaluation with another score). */
  loud?: boolean;
}

const ONE_MINUTE = 60_000;
// Claims that refill slots in the loop turn their jobs ended, before the next claim waits for a turn
// of its own: jobs that end without I/O (no agent, an error before the first call) must not chain
// claim after claim and keep HTTP from ever being answered.
const SAME_TURN_CLAIMS = 4;
// A claim that found nothing although something looked due waits at least this long before looking
// again, so no row the claim cannot take can make the worker spin.
const MIN_EMPTY_CLAIM_WAIT_MS = 10;

export function createWorker(options: WorkerOptions): Worker {
  const { jobs, source, scorer, destination, clock, log, owner, maxAttempts, transcriptMaxWaitMs } = options;
  const { leaseMs, retryBaseMs } = options;
  const retryMaxMs = options.retryMaxMs ?? 5 * ONE_MINUTE;
  const { transcriptRetryBaseMs } = options;
  const transcriptRetryMaxMs = options.transcriptRetryMaxMs ?? 30 * ONE_MINUTE;
  const idlePollMs = options.idlePollMs ?? 2_000;
  const busyBudgetMs = options.busyBudgetMs ?? leaseMs;
  const random = options.random ?? Math.random;
  const { results } = options;
  const queue = new PQueue({ concurrency: options.concurrency });
  // Refill a slot in the same turn its job ends ('next' fires once the slot is free): waiting for
  // another loop turn costs a measurable share of a 40 ms job. But only a few times per turn (see
  // SAME_TURN_CLAIMS): past that, the next claim waits for the loop to have run.
  let sameTurnClaims = 0;
  queue.on('next', () => {
    if (!running || pumpScheduled) return;
    if (sameTurnClaims === 0) setImmediate(() => (sameTurnClaims = 0));
    if (++sameTurnClaims <= SAME_TURN_CLAIMS) pump();
    else schedulePump();
  });
  // Consecutive claims that failed (a lock held by another process, a database fault).
  let claimFailures = 0;

  /** A run's outcome, written when another process's lock allows (waited for with timers). */
  const record = (write: () => boolean): Promise<boolean> =>
    retryWhileBusy(write, { clock, budgetMs: busyBudgetMs });

  /**
   * A transition and the result it records, as one transaction (written when locks allow, like any
   * outcome), fenced by the lease like the transition alone: a run that lost its lease writes neither.
   */
  const recordWith = (transition: () => boolean, prepared: PreparedResult | undefined): Promise<boolean> =>
    record(
      !prepared || !results
        ? transition
        : () =>
            jobs.transaction(() => {
              const applied = transition();
              if (applied) results.write(prepared);
              return applied;
            }),
    );

  let running = false;
  let stopped = false;
  let pumpScheduled = false;
  let wakeTimer: NodeJS.Timeout | undefined;
  let renewTimer: NodeJS.Timeout | undefined;

  const worker: Worker = {
    start() {
      if (running || stopped) return;
      running = true;
      renewTimer = setInterval(renew, Math.max(50, Math.floor(leaseMs / 3)));
      renewTimer.unref();
      schedulePump();
    },
    notify() {
      if (running) schedulePump();
    },
    async runUntilIdle(waitForRetriesMs, { waitForTranscripts = false } = {}) {
      renewTimer ??= setInterval(renew, Math.max(50, Math.floor(leaseMs / 3)));
      for (;;) {
        try {
          claimInto(options.concurrency - queue.size - queue.pending);
          claimFailures = 0;
        } catch (error) {
          // A lock held by another process is waited out (growing pauses, never a tight loop); any
          // other failure is the caller's to report.
          if (!isBusy(error) || stopped) throw error;
          await clock.sleep(claimFailurePause(error));
          continue;
        }
        if (queue.size + queue.pending > 0) {
          // Refill as soon as any job ends, not when the whole batch has.
          await new Promise((resolve) => queue.once('next', resolve));
          continue;
        }
        const next = waitForTranscripts ? jobs.nextWakeAt() : jobs.nextRetryAt();
        const wait = next === null ? Number.POSITIVE_INFINITY : next - clock.now();
        if (wait > waitForRetriesMs || stopped) break;
        await clock.sleep(Math.max(0, wait) + 5);
      }
      clearInterval(renewTimer);
      renewTimer = undefined;
    },
    async stop(graceMs) {
      stopped = true;
      running = false;
      clearTimeout(wakeTimer);
      queue.clear();
      const idle = queue.onIdle();
      const timedOut = await Promise.race([
        idle.then(() => false),
        new Promise<boolean>((r) => setTimeout(() => r(true), graceMs).unref()),
      ]);
      clearInterval(renewTimer);
      // Jobs still running after the grace period are handed back: the next process repeats them,
      // and the Idempotency-Key makes a repeated submission harmless. Should the database stay locked,
      // their leases lapse instead and the next process takes them over all the same.
      const released = await retryWhileBusy(() => jobs.releaseLeases(owner, clock.now()), {
        clock,
        budgetMs: Math.min(1_000, busyBudgetMs),
      }).catch((error: unknown) => {
        log.warn({ err: error }, 'could not hand back leases; they will lapse');
        return 0;
      });
      log.info({ released, timedOut }, 'worker stopped');
    },
    get inFlight() {
      return queue.pending + queue.size;
    },
  };

  function renew(): void {
    if (queue.pending === 0) return;
    try {
      jobs.renewLeases(owner, clock.now(), leaseMs);
    } catch (error) {
      // Locked by another process: the next renewal, a third of a lease later, tries again.
      if (!isBusy(error)) log.error({ err: error }, 'lease renewal failed');
    }
  }

  function schedulePump(): void {
    if (pumpScheduled || !running) return;
    pumpScheduled = true;
    setImmediate(pump);
  }

  function pump(): void {
    pumpScheduled = false;
    if (!running) return;
    clearTimeout(wakeTimer);
    let wait: number;
    try {
      const free = options.concurrency - queue.size - queue.pending;
      const claimed = claimInto(free);
      claimFailures = 0;
      // A full claim may have left more behind: look again when a slot frees (run() re-pumps).
      if (claimed >= free) return;
      const next = jobs.nextWakeAt();
      wait = next === null ? idlePollMs : Math.min(idlePollMs, Math.max(0, next - clock.now()));
      if (claimed === 0) wait = Math.max(wait, MIN_EMPTY_CLAIM_WAIT_MS);
    } catch (error) {
      wait = claimFailurePause(error);
    }
    wakeTimer = setTimeout(schedulePump, wait + 1);
  }

  /** After a claim that failed: how long to wait (growing), logging the first of a run of failures. */
  function claimFailurePause(error: unknown): number {
    claimFailures++;
    if (claimFailures === 1) {
      if (isBusy(error)) log.warn('the database is locked by another process; claiming waits');
      else log.error({ err: error }, 'claiming jobs failed');
    }
    return Math.min(idlePollMs, 10 * 2 ** Math.min(claimFailures, 10));
  }

  function claimInto(free: number): number {
    if (free <= 0 || stopped) return 0;
    const claimed = jobs.claim(owner, free, clock.now(), leaseMs, quarantined);
    for (const job of claimed) {
      void queue.add(() => run(job));
    }
    return claimed.length;
  }

  /** A row the claim failed because it cannot be addressed: its one line, like any finished job. */
  function quarantined(job: QuarantinedJob): void {
    log.warn(
      { conversationId: job.conversationId, outcome: 'failed', reasonCode: 'invalid_id', reason: job.reason },
      'job finished',
    );
  }

  async function run(job: Job): Promise<void> {
    const started = clock.now();
    const jobLog = log.child({ conversationId: job.conversationId, attempt: job.attempts + 1 });
    let how: Ended;
    try {
      how = await processJob(job);
    } catch (error) {
      if (isBusy(error)) {
        // Another process held the database for longer than the outcome could wait: nothing was
        // written, the lease lapses and the job is run again (its Idempotency-Key makes that safe).
        // Not the job's fault, so it uses up no attempt.
        jobLog.warn('the database stayed locked; the job will run again once its lease lapses');
        how = { outcome: 'retry', reason: 'outcome not recorded: the database was locked' };
      } else {
        // Unexpected (a bug, a database fault): logged once here with context, then retried like a
        // transient failure, and failed as 'job_error' when it keeps happening, so one bad job can
        // neither stop the worker nor come back for ever.
        jobLog.error({ err: error }, 'job failed unexpectedly');
        const message = `unexpected error: ${(error as Error).message}`;
        how = await safely(() => retryLater(job, 'unexpected', message));
      }
    }
    const { outcome, code, reason, overallScore } = how;
    const level = outcome === 'failed' || how.loud ? 'warn' : 'info';
    jobLog[level](
      { outcome, reasonCode: code, reason, durationMs: clock.now() - started, agentId: job.agentId },
      'job finished',
    );
    worker.onJobDone?.(job, outcome, reason, {
      ...(code ? { code } : {}),
      ...(overallScore !== undefined ? { overallScore } : {}),
    });
  }

  async function safely(fn: () => Promise<Ended>): Promise<Ended> {
    try {
      return await fn();
    } catch (error) {
      log.error({ err: error }, 'could not record job outcome');
      return { outcome: 'retry', reason: 'outcome not recorded' };
    }
  }

  /** What the run's transition answered: the lease may have been lost meanwhile. */
  function ended(applied: boolean, outcome: JobOutcome, code?: ReasonCode, reason?: string): Ended {
    if (!applied) return { outcome: 'lease_lost', reason: 'lease expired and the job was taken over' };
    return { outcome, ...(code ? { code } : {}), ...(reason ? { reason } : {}) };
  }

  async function processJob(job: Job): Promise<Ended> {
    const id = job.conversationId;
    if (!job.agentId) {
      const why = { code: 'no_agent', reason: NO_AGENT_REASON } as const;
      return ended(
        await record(() => jobs.skip(owner, id, why, clock.now())),
        'skipped',
        why.code,
        why.reason,
      );
    }
    const transcript = await source.fetch(id);
    if (transcript.kind === 'not_ready') return transcriptNotReady(job, transcript.reason);
    if (transcript.kind === 'failed') return failedCall(job, transcript.error);
    if (transcript.kind === 'no_source') {
      // Nothing to score until the operator changes something in CXone (a licence, a permission,
      // recording); the reason says what. `npm run requeue` brings the conversation back after.
      const why = {
        code: 'no_transcript_source',
        reason: `no usable transcript source: ${transcript.reason}`,
      } as const;
      return ended(
        await record(() => jobs.skip(owner, id, why, clock.now())),
        'skipped',
        why.code,
        why.reason,
      );
    }
    if (transcript.warnings.length > 0) {
      log.warn({ conversationId: id, warnings: transcript.warnings }, 'transcript assembled with warnings');
    }
    if (isEmptyTranscript(transcript.lines)) {
      const why = { code: 'empty_transcript', reason: EMPTY_TRANSCRIPT } as const;
      return ended(
        await record(() => jobs.skip(owner, id, why, clock.now())),
        'skipped',
        why.code,
        why.reason,
      );
    }
    const result = await scorer.score(transcript.lines);
    const comment = scorer.comment(result);
    // The result as kept, with whatever became of its delivery: recorded by the transition below.
    const agentId = job.agentId;
    const keep: KeepResult | undefined = results
      ? (delivery, overallScore) =>
          results.prepare(
            resultInput({
              job: { ...job, agentId },
              rubric: scorer.rubric,
              result,
              // As delivered when it was; else as it would be (two decimals, 0-100).
              overallScore:
                overallScore ?? Number(formatScore(Math.min(100, Math.max(0, result.overallScore)))),
              comment,
              transcript: transcript.lines,
              delivery,
              now: clock.now(),
            }),
          )
      : undefined;
    const delivered = await destination.deliver({
      conversationId: id,
      agentId: job.agentId,
      result,
      comment,
    });
    if (!delivered.ok) return failedCall(job, delivered.error, keep);
    const { target, id: deliveryId, overallScore } = delivered.value;
    const already = delivered.value.alreadyEvaluated
      ? alreadyEvaluated(deliveryId ?? '(no id)', overallScore, delivered.value.alreadyEvaluated.heldScore)
      : undefined;
    const accepted: SubmittedResult = {
      delivery: { target, id: deliveryId },
      overallScore,
      rubric: { name: scorer.rubric.name, version: scorer.rubric.version, hash: scorer.rubric.hash },
      ...(already ? { note: { code: already.code, reason: already.reason } } : {}),
    };
    const now = clock.now();
    const applied = await recordWith(
      () => jobs.submitted(owner, id, accepted, now),
      keep?.(
        target === 'none'
          ? { state: 'not_configured', note: 'no write-back configured' }
          : { state: 'delivered', target, id: deliveryId, at: now },
        overallScore,
      ),
    );
    if (!applied) return ended(applied, 'submitted');
    const said = target === 'cxone-qm' ? `evaluation ${deliveryId}` : target === 'none' ? 'kept' : target;
    return {
      outcome: 'submitted',
      reason: already?.reason ?? said,
      overallScore,
      ...(already ? { code: already.code, loud: already.differs } : {}),
    };
  }

  /**
   * CXone answered the submission with an evaluation it already had (a repeated Idempotency-Key):
   * say so, rather than "submitted", because what CXone holds is that earlier evaluation, which may
   * have been scored by another rubric or database. Re-scoring history is `npm run rescore`, never a
   * resubmission: CXone keeps one evaluation per conversation and form.
   */
  function alreadyEvaluated(evaluationId: string, scored: number, held: number | undefined) {
    const differs = held !== undefined && held !== scored;
    const scores =
      held === undefined
        ? `this run scored ${scored}`
        : differs
          ? `it holds ${held}, this run scored ${scored}`
          : `same score, ${scored}`;
    return {
      code: 'already_evaluated' as const,
      differs,
      reason: `already evaluated: CXone kept its earlier evaluation ${evaluationId} (${scores})`,
    };
  }

  async function transcriptNotReady(job: Job, why: string): Promise<Ended> {
    const now = clock.now();
    const checks = job.transcriptChecks + 1;
    const deadline = job.firstSeenAt + transcriptMaxWaitMs;
    if (now >= deadline) {
      const hours = Math.round((transcriptMaxWaitMs / 3_600_000) * 10) / 10;
      // The source's last word says what was still missing (e.g. which segment IA had not analysed).
      const reason = `transcript not ready after ${hours} h (${checks} checks): ${why}`;
      return ended(
        await record(() => jobs.transcriptTimedOut(owner, job.conversationId, { reason }, now)),
        'failed',
        'transcript_timeout',
        reason,
      );
    }
    // Growing waits: a transcript that is late is probably very late; but never past the deadline,
    // so the last check happens at it. If transcript.ready arrived while this fetch was in flight,
    // the 404 is already stale: look again now.
    const announcedMeanwhile =
      !job.transcriptAnnounced && jobs.get(job.conversationId)?.transcriptAnnounced === true;
    const delay = announcedMeanwhile
      ? 0
      : backoffDelay(checks, transcriptRetryBaseMs, transcriptRetryMaxMs, random);
    const wait = { reason: why, at: Math.min(deadline, now + delay) };
    return ended(
      await record(() => jobs.waitForTranscript(owner, job.conversationId, wait, now)),
      'waiting_transcript',
      'transcript_not_ready',
      wait.reason,
    );
  }

  /**
   * A CXone call failed. When it was the delivery, the conversation was scored: its result is kept
   * with why it was not delivered (pending while it will be tried again, failed when not).
   */
  async function failedCall(job: Job, error: CxoneError, keep?: KeepResult): Promise<Ended> {
    // The client's messages already name the call ("submitEvaluation: HTTP 422: ...").
    const reason = error.message;
    const now = clock.now();
    if (error.kind === 'unauthorized' || error.kind === 'forbidden') {
      // Refused credentials are the operator's to fix, not this job's fault: wait without using up
      // attempts, so the job is done once they are fixed.
      const retry = { reason, at: now + retryMaxMs };
      return ended(
        await recordWith(
          () => jobs.credentialsRefused(owner, job.conversationId, retry, now),
          keep?.({ state: 'pending', target: null, note: reason }),
        ),
        'credentials_refused',
        'credentials_refused',
        reason,
      );
    }
    if (!error.retryable) {
      const why = { code: error.kind === 'too_large' ? 'too_large' : 'rejected', reason } as const;
      return ended(
        await recordWith(
          () => jobs.fail(owner, job.conversationId, why, now),
          keep?.({ state: 'failed', target: null, note: reason }),
        ),
        'failed',
        why.code,
        reason,
      );
    }
    return retryLater(job, 'transient', reason, keep);
  }

  async function retryLater(job: Job, code: RetryCode, reason: string, keep?: KeepResult): Promise<Ended> {
    const now = clock.now();
    const attempts = job.attempts + 1;
    if (attempts >= maxAttempts) {
      // After an outage ('transient') this is not final: the next sweep that lists the conversation
      // makes it due again. A job whose own runs keep failing unexpectedly is isolated for good
      // ('job_error'): the sweep reviving it would only let it fail again, for ever.
      const why = {
        code: code === 'unexpected' ? 'job_error' : 'attempts_exhausted',
        reason: `gave up after ${attempts} attempts: ${reason}`,
      } as const;
      return ended(
        await recordWith(
          () => jobs.fail(owner, job.conversationId, why, now),
          keep?.({ state: 'failed', target: null, note: why.reason }),
        ),
        'failed',
        why.code,
        why.reason,
      );
    }
    const retry = { code, reason, at: now + backoffDelay(attempts, retryBaseMs, retryMaxMs, random) };
    return ended(
      await recordWith(
        () => jobs.retryLater(owner, job.conversationId, retry, now),
        keep?.({ state: 'pending', target: null, note: `will try again: ${reason}` }),
      ),
      'retry',
      code,
      reason,
    );
  }

  return worker;
}

import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { Clock } from '../clock.js';
import type { AttemptReport } from '../cxone/api-caller.js';

/**
 * The service's Prometheus series (GET /metrics, docs/contract.md §9). One Metrics per service
 * instance, on a registry of its own (never prom-client's global one), so two services in one process
 * (tests) and a test's own registry never see each other's counts.
 *
 * Every label value is from a bounded set (an outcome, a reason code, a call name, an HTTP status, a
 * job state): never an id, so the number of series stays small however long the service runs.
 * Callers in src/http, src/pipeline and src/cxone do not know prom-client: they take plain callbacks
 * that the service wiring points here.
 */

/** What the webhook route answered: 'accepted', 'duplicate', or the error code it refused with. */
export type WebhookOutcome = string;

/** Jobs not finished yet, per state, read from the database at scrape time. */
export interface QueueDepth {
  byState: Record<string, number>;
  /** How long the most overdue due job has been waiting past its time (seconds), 0 when none. */
  dueLagSeconds: number;
}

export interface Metrics {
  readonly registry: Registry;
  readonly contentType: string;
  /** The text exposition of every series. */
  render(): Promise<string>;
  webhookAnswered(outcome: WebhookOutcome, signatureFailure?: string): void;
  jobDone(outcome: string, reasonCode: string | undefined): void;
  cxoneAttempt(attempt: AttemptReport): void;
  evaluationScored(score: number): void;
  retentionDeleted(table: string, rows: number): void;
  /** Where qm_queue_jobs is read from at scrape time (set once the database is open). */
  readQueueFrom(read: () => QueueDepth): void;
}

/** HTTP statuses as label values: the status itself, or its class when it is not a real status. */
function statusLabel(status: AttemptReport['status']): string {
  if (typeof status !== 'number') return status;
  return Number.isInteger(status) && status >= 100 && status <= 599 ? String(status) : 'other';
}

export function createMetrics(options: { clock: Clock; defaultMetrics?: boolean }): Metrics {
  const { clock } = options;
  const registry = new Registry();
  if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: registry });

  const webhooks = new Counter({
    name: 'qm_webhooks_total',
    help: 'Webhook requests answered, by outcome: accepted, duplicate, or the error code (invalid_signature, invalid_body, store_busy, ...).',
    labelNames: ['outcome'],
    registers: [registry],
  });
  const signatureFailures = new Counter({
    name: 'qm_webhook_signature_failures_total',
    help: 'Webhooks refused 401, by reason: no_match (wrong WEBHOOK_SECRET?), stale or future (clock skew?), missing_headers, bad_timestamp.',
    labelNames: ['reason'],
    registers: [registry],
  });
  const lastAccepted = new Gauge({
    name: 'qm_webhook_last_accepted_timestamp_seconds',
    help: 'Unix time of the last webhook this process accepted (recorded or duplicate); 0 = none yet.',
    registers: [registry],
  });
  const jobs = new Counter({
    name: 'qm_jobs_total',
    help: 'Job runs finished, by outcome (submitted, skipped, failed, retry, waiting_transcript, credentials_refused, lease_lost) and reason code (none when there is none).',
    labelNames: ['outcome', 'reason'],
    registers: [registry],
  });
  const cxoneRequests = new Counter({
    name: 'qm_cxone_requests_total',
    help: 'HTTP attempts to CXone, by call and status (the HTTP status, or timeout / network when no answer came).',
    labelNames: ['call', 'status'],
    registers: [registry],
  });
  const cxoneDuration = new Histogram({
    name: 'qm_cxone_request_duration_seconds',
    help: 'Duration of HTTP attempts to CXone, from sending (after the call budget allowed it) to the end of the answer, by call.',
    labelNames: ['call'],
    buckets: [0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  });
  const scores = new Histogram({
    name: 'qm_evaluation_score',
    help: 'Overall score (0-100) of each evaluation submitted.',
    buckets: [10, 20, 30, 40, 50, 60, 70, 80, 90, 100],
    registers: [registry],
  });
  const retention = new Counter({
    name: 'qm_retention_deleted_total',
    help: 'Rows deleted by retention (RETENTION_DAYS, RESULTS_RETENTION_DAYS, expired sessions), by table.',
    labelNames: ['table'],
    registers: [registry],
  });

  let readQueue: (() => QueueDepth) | undefined;
  // Read once per scrape for both gauges (each metric's collect runs on its own).
  let lastRead: { at: number; depth: QueueDepth } | undefined;
  const queueNow = (): QueueDepth | undefined => {
    if (!readQueue) return undefined;
    const now = clock.now();
    if (!lastRead || now - lastRead.at > 100) {
      try {
        lastRead = { at: now, depth: readQueue() };
      } catch {
        // Locked by another process past the busy timeout: the gauges keep their last values rather
        // than fail the whole scrape.
        return undefined;
      }
    }
    return lastRead.depth;
  };
  new Gauge({
    name: 'qm_queue_jobs',
    help: 'Jobs not finished yet, by state (waiting_agent, waiting_transcript, due, in_progress), read from the database at scrape time.',
    labelNames: ['state'],
    registers: [registry],
    collect() {
      const depth = queueNow();
      if (!depth) return;
      for (const [state, n] of Object.entries(depth.byState)) this.set({ state }, n);
    },
  });
  new Gauge({
    name: 'qm_queue_due_lag_seconds',
    help: 'How long the most overdue due job has waited past its time (0 when none is overdue): grows when the queue does not drain.',
    registers: [registry],
    collect() {
      const depth = queueNow();
      if (depth) this.set(depth.dueLagSeconds);
    },
  });

  return {
    registry,
    contentType: registry.contentType,
    render: () => registry.metrics(),
    webhookAnswered(outcome, signatureFailure) {
      webhooks.inc({ outcome });
      if (signatureFailure) signatureFailures.inc({ reason: signatureFailure });
      if (outcome === 'accepted' || outcome === 'duplicate') lastAccepted.set(clock.now() / 1000);
    },
    jobDone(outcome, reasonCode) {
      jobs.inc({ outcome, reason: reasonCode ?? 'none' });
    },
    cxoneAttempt(attempt) {
      cxoneRequests.inc({ call: attempt.call, status: statusLabel(attempt.status) });
      cxoneDuration.observe({ call: attempt.call }, Math.max(0, attempt.durationMs) / 1000);
    },
    evaluationScored(score) {
      if (Number.isFinite(score)) scores.observe(score);
    },
    retentionDeleted(table, rows) {
      if (rows > 0) retention.inc({ table }, rows);
    },
    readQueueFrom(read) {
      readQueue = read;
    },
  };
}

/**
 * SIGTERM of `npm start` with jobs in flight: no new webhook is answered 2xx, running jobs finish
 * (or, past SHUTDOWN_GRACE_SECONDS, are handed back), the process exits 0 within one grace period (a
 * sweep pass in flight included), no job stays leased, and the next process finishes the rest with
 * exactly one evaluation each.
 */
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { deliverWebhook, webhookEvent } from '../../src/simulator/index.js';
import {
  addConversations,
  announce,
  jobStates,
  type ProcessFixture,
  useProcessFixture,
} from '../support/process.js';
import { sleep, waitFor } from '../support/wait.js';

const fx = useProcessFixture();

/** Delivers new webhooks until `done` resolves; answers the statuses (0 = connection refused/reset). */
async function keepDelivering(url: string, secret: string, done: Promise<unknown>): Promise<number[]> {
  let finished = false;
  void done.then(() => {
    finished = true;
  });
  const statuses: number[] = [];
  while (!finished) {
    const body = JSON.stringify(
      webhookEvent('conversation.ended', {
        conversation_id: `late-${randomUUID()}`,
        agent_id: 'agent-1',
        media_type: 'voice',
        start_time: new Date(Date.now() - 60_000).toISOString(),
        end_time: new Date().toISOString(),
      }),
    );
    try {
      statuses.push((await deliverWebhook({ url, secret, body })).status);
    } catch {
      statuses.push(0);
    }
    await sleep(20);
  }
  return statuses;
}

async function sigtermWithJobsInFlight(options: { latencyMs: number; graceSeconds: number }) {
  fx.sim.setLatency(options.latencyMs);
  const ids = addConversations(fx.sim, 24, 'term');
  const settings = {
    WORKER_CONCURRENCY: '4',
    SHUTDOWN_GRACE_SECONDS: String(options.graceSeconds),
    JOB_LEASE_SECONDS: '60',
  };
  const first = await fx.startService(settings);
  const answers = (await Promise.all(ids.map((id) => announce(first.url, fx.secret, fx.sim, id)))).flat();
  expect(answers.every((a) => a.status === 202)).toBe(true);

  const db = fx.openDb();
  // Leased and not yet evaluated by CXone: really in flight.
  const leased = () =>
    [...jobStates(db)]
      .filter(
        ([id, j]) => j.state === 'in_progress' && j.leaseOwner && fx.sim.evaluationsFor(id).length === 0,
      )
      .map(([id]) => id);
  // The first batch (claimed together) is done and the next batch is half-way through a CXone call.
  await waitFor('jobs in flight', () => fx.sim.evaluations.length >= 4 && leased().length >= 2, 20_000, 10);
  await sleep(options.latencyMs / 2);
  const inFlight = leased();
  expect(inFlight.length).toBeGreaterThan(0);

  const termAt = Date.now();
  first.child.kill('SIGTERM');
  await sleep(100); // let the signal land
  const statuses = await keepDelivering(first.url, fx.secret, first.child.exited);
  const exit = await first.child.exited;
  const tookMs = Date.now() - termAt;

  expect(exit.code, first.child.stderr).toBe(0);
  expect(tookMs).toBeLessThan(options.graceSeconds * 1000 + 3_000);
  expect(statuses.length).toBeGreaterThan(0);
  expect(statuses.filter((s) => s >= 200 && s < 300)).toEqual([]);
  // Nothing the refused deliveries carried was recorded.
  const late = db.prepare("SELECT count(*) AS n FROM jobs WHERE conversation_id LIKE 'late-%'").get() as {
    n: number;
  };
  expect(late.n).toBe(0);

  // No job is left leased by the stopped process.
  const states = jobStates(db);
  expect([...states].filter(([, j]) => j.state === 'in_progress' || j.leaseOwner !== null)).toEqual([]);
  expect(fx.sim.evaluations.length).toBeLessThan(ids.length);
  expect(first.child.logLines().some((l) => l.msg === 'stopped')).toBe(true);
  return { ids, inFlight, states, settings, db, first };
}

async function restartFinishes(
  ids: string[],
  settings: Record<string, string>,
  db: ReturnType<ProcessFixture['openDb']>,
) {
  await fx.startService(settings);
  await waitFor(
    'every job submitted after the restart',
    () => ids.every((id) => jobStates(db).get(id)?.state === 'submitted'),
    15_000,
    100,
  );
  await sleep(200);
  for (const id of ids) expect(fx.sim.evaluationsFor(id), id).toHaveLength(1);
  expect(fx.sim.evaluations).toHaveLength(ids.length);
}

describe('SIGTERM', () => {
  it('refuses new webhooks, lets running jobs finish, exits 0; a restart finishes the rest', async () => {
    const { ids, inFlight, states, settings, db, first } = await sigtermWithJobsInFlight({
      latencyMs: 400,
      graceSeconds: 5,
    });
    // The jobs running at SIGTERM had time to finish inside the grace period.
    for (const id of inFlight) expect(states.get(id)?.state, id).toBe('submitted');
    expect(first.child.logLines().some((l) => l.msg === 'worker stopped' && l.timedOut === false)).toBe(true);
    await restartFinishes(ids, settings, db);
  });

  it('jobs still running when the grace period ends are handed back as due, and done once by the next process', async () => {
    const { ids, inFlight, states, settings, db, first } = await sigtermWithJobsInFlight({
      latencyMs: 1_500,
      graceSeconds: 0.3,
    });
    // Cut short: at least one of the jobs in flight went back to 'due' for the next process.
    expect(inFlight.some((id) => states.get(id)?.state === 'due')).toBe(true);
    const stopped = first.child.logLines().find((l) => l.msg === 'worker stopped');
    expect(stopped?.timedOut).toBe(true);
    expect(stopped?.released).toBeGreaterThan(0);
    fx.sim.setLatency(50);
    await restartFinishes(ids, settings, db);
  });

  // A sweep pass in flight is stopped within the same grace period as the jobs, not after it: two
  // grace periods in a row (20 s by default) would outlast Docker's 10 s stop timeout.
  it('a job and a sweep both in flight: SIGTERM exits within one grace period', async () => {
    const [id] = addConversations(fx.sim, 1, 'term');
    fx.sim.hangNext('query', 10);
    fx.sim.hangNext('transcript', 10);
    const { child, url } = await fx.startService({
      SWEEP_INTERVAL_SECONDS: '3600',
      SHUTDOWN_GRACE_SECONDS: '2',
      CXONE_TIMEOUT_MS: '20000',
    });
    await announce(url, fx.secret, fx.sim, id!);
    await waitFor(
      'a sweep query and a transcript fetch both hanging',
      () => fx.sim.callsOf('query').length > 0 && fx.sim.callsOf('transcript').length > 0,
      10_000,
      10,
    );
    const termAt = Date.now();
    child.kill('SIGTERM');
    const exit = await child.exited;
    const tookMs = Date.now() - termAt;
    expect(exit.code).toBe(0);
    expect(tookMs).toBeLessThan(2_000 + 1_300);
  });
});

/**
 * kill -9 of `npm start`: (a) every webhook answered 2xx is in the database afterwards; (b) jobs in
 * flight at the crash are finished by the next process on the same database, with exactly one
 * evaluation per conversation, including one whose submission CXone stored but whose answer was lost.
 */
import { randomUUID } from 'node:crypto';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { deliverStudioCall, deliverWebhook, webhookEvent } from '../../src/simulator/index.js';
import { addPlatformContacts, platformProcessFixture, STUDIO_TOKEN } from '../support/platform-process.js';
import {
  addConversations,
  announce,
  inParallel,
  jobStates,
  TRANSCRIPT_MARKER,
  useProcessFixture,
} from '../support/process.js';
import { waitFor } from '../support/wait.js';

const fx = useProcessFixture();

describe('kill -9', () => {
  it('every webhook answered 2xx survives a kill -9 mid-stream', async () => {
    const { child, url } = await fx.startService();
    const total = 400;
    const answered = new Map<string, number>();
    let failedToConnect = 0;
    let killedAfter = -1;
    const deliveries = Array.from({ length: total }, (_, i) => i);
    await inParallel(deliveries, 64, async (i) => {
      const body = JSON.stringify(
        webhookEvent('conversation.ended', {
          conversation_id: `conv-${i}`,
          agent_id: 'agent-1',
          media_type: 'voice',
          start_time: new Date(Date.now() - 60_000).toISOString(),
          end_time: new Date().toISOString(),
        }),
      );
      try {
        const { status, webhookId } = await deliverWebhook({
          url,
          secret: fx.secret,
          body,
          webhookId: `msg_${i}_${randomUUID()}`,
        });
        answered.set(webhookId, status);
      } catch {
        failedToConnect++;
      }
      // Mid-stream: once 150 answers are in, with 64 more requests on the wire.
      if (answered.size >= 150 && killedAfter < 0) {
        killedAfter = answered.size;
        child.kill('SIGKILL');
      }
    });
    const exit = await child.exited;
    expect(exit.signal).toBe('SIGKILL');
    // The crash really cut deliveries off.
    expect(failedToConnect).toBeGreaterThan(0);

    const accepted = [...answered].filter(([, status]) => status === 202 || status === 200).map(([id]) => id);
    expect(accepted.length).toBeGreaterThanOrEqual(killedAfter);
    expect([...answered.values()].every((s) => s === 202 || s === 200)).toBe(true);

    const db = fx.openDb();
    const stored = new Set(
      (db.prepare('SELECT webhook_id AS id FROM webhook_events').all() as { id: string }[]).map((r) => r.id),
    );
    const lost = accepted.filter((id) => !stored.has(id));
    expect(lost).toEqual([]);
  });

  it('jobs in flight at a kill -9 are finished by the next process: exactly one evaluation each', async () => {
    // The dead process's leases expire after JOB_LEASE_SECONDS; the next one takes its jobs over then.
    await crashAndRestart({ leaseSeconds: '2' });
  });

  // With the default lease (JOB_LEASE_SECONDS=15) the takeover waits ~15 s: opt-in, QM_SLOW_TESTS=1.
  it.runIf(process.env.QM_SLOW_TESTS === '1')(
    'the same with the default lease length',
    async () => {
      await crashAndRestart({ leaseSeconds: undefined });
    },
    90_000,
  );
});

async function crashAndRestart(options: { leaseSeconds: string | undefined }): Promise<void> {
  const settings: Record<string, string> = { WORKER_CONCURRENCY: '4' };
  if (options.leaseSeconds) settings.JOB_LEASE_SECONDS = options.leaseSeconds;
  fx.sim.setLatency(150);
  const ids = addConversations(fx.sim, 30, 'crash');
  const first = await fx.startService(settings);
  const answers = (await Promise.all(ids.map((id) => announce(first.url, fx.secret, fx.sim, id)))).flat();
  expect(answers.every((a) => a.status === 202)).toBe(true);

  // Some evaluations made; then one more is stored by CXone but its answer lost; then kill -9.
  await waitFor('some evaluations', () => fx.sim.evaluations.length >= 8, 15_000, 10);
  fx.sim.dropResponseAfterCommitNext(1);
  await waitFor(
    'a lost evaluation answer',
    () => fx.sim.callsOf('evaluation').some((c) => c.dropped),
    15_000,
    5,
  );
  first.child.kill('SIGKILL');
  await first.child.exited;

  const evaluatedBeforeCrash = fx.sim.evaluations.length;
  expect(evaluatedBeforeCrash).toBeLessThan(ids.length);
  {
    // What the dead process left: some jobs leased to it.
    const db = new Database(fx.dbPath, { readonly: true });
    const leased = db.prepare("SELECT count(*) AS n FROM jobs WHERE state = 'in_progress'").get() as {
      n: number;
    };
    expect(leased.n).toBeGreaterThan(0);
    db.close();
  }

  const crashedAt = Date.now();
  const second = await fx.startService(settings);
  const db = fx.openDb();
  await waitFor(
    'every job submitted',
    () => [...jobStates(db).values()].filter((j) => j.state === 'submitted').length === ids.length,
    options.leaseSeconds ? 15_000 : 60_000,
    100,
  );
  console.info(`kill -9 → every job submitted by the next process: ${Date.now() - crashedAt} ms`);
  for (const id of ids) expect(fx.sim.evaluationsFor(id), id).toHaveLength(1);
  expect(fx.sim.evaluations).toHaveLength(ids.length);
  const states = jobStates(db);
  for (const id of ids) expect(states.get(id)?.state, id).toBe('submitted');
  // The conversation whose answer was lost was repeated with its Idempotency-Key and answered 200.
  expect(fx.sim.callsOf('evaluation').some((c) => c.status === 200)).toBe(true);

  for (const child of [first.child, second.child]) {
    expect(child.stdout).not.toContain(TRANSCRIPT_MARKER);
    expect(child.stdout).not.toContain(fx.secret.slice(6));
    expect(child.stdout).not.toContain(fx.sim.clientSecret);
    expect(child.stdout).not.toMatch(/Bearer [A-Za-z0-9_-]{10,}/);
  }
}

describe('kill -9, platform profile', () => {
  it('jobs in flight are finished by the next process: one result per contact, its business data written with one set of values', async () => {
    const pf = await platformProcessFixture({ latencyMs: 120 });
    try {
      const ids = addPlatformContacts(pf.sim, 16, 9, '810000000001');
      const settings = { WORKER_CONCURRENCY: '4', JOB_LEASE_SECONDS: '2' };
      const first = await pf.startService(settings);
      const pushed = await Promise.all(
        ids.map((contactId) =>
          deliverStudioCall({ url: first.url, token: STUDIO_TOKEN, contactId, agentId: '10001' }),
        ),
      );
      expect(pushed.every((s) => s === 202)).toBe(true);
      await waitFor('some writes', () => pf.sim.businessDataWrites.length >= 4, 30_000, 10);
      // One write CXone stores but whose answer is lost; then kill -9.
      pf.sim.dropResponseAfterCommitNext(1);
      await waitFor('a lost answer', () => pf.sim.callsOf('businessData').some((c) => c.dropped), 20_000, 5);
      first.child.kill('SIGKILL');
      await first.child.exited;
      expect(new Set(pf.sim.businessDataWrites.map((w) => w.contactId)).size).toBeLessThan(ids.length);

      const second = await pf.startService(settings);
      const db = pf.openDb();
      await waitFor(
        'every contact submitted',
        () => [...jobStates(db).values()].filter((j) => j.state === 'submitted').length === ids.length,
        30_000,
        100,
      );
      const writes = new Map<string, string[]>();
      for (const w of pf.sim.businessDataWrites)
        writes.set(w.contactId, [...(writes.get(w.contactId) ?? []), JSON.stringify(w.body)]);
      for (const id of ids) {
        const bodies = writes.get(id) ?? [];
        expect(bodies.length, id).toBeGreaterThanOrEqual(1);
        // A write is repeated only when its answer was lost or the crash cut it: the same values again.
        expect(new Set(bodies).size, id).toBe(1);
      }
      const lost = pf.sim.callsOf('businessData').find((c) => c.dropped)!.contactId!;
      expect(writes.get(lost)).toHaveLength(2);
      const repeated = [...writes.values()].filter((b) => b.length > 1).length;
      expect(repeated).toBeLessThanOrEqual(1 + 4); // the lost answer, and at most the jobs in flight
      expect(jobStates(db).size).toBe(ids.length);
      second.child.kill('SIGTERM');
      await second.child.exited;
    } finally {
      await pf.close();
    }
  }, 90_000);
});

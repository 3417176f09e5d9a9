/**
 * The worker keeps every scored conversation as a result (docs/contract.md §8), written in the
 * transaction of the transition that follows the scoring: one result per conversation and form,
 * with the transcript it was scored from and what became of its delivery.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ResultStore } from '../../src/store/results.js';
import { goodTranscript, pipelineHarness, tutorialKeywords } from '../support/harness.js';

let h: Awaited<ReturnType<typeof pipelineHarness>>;
let results: ResultStore;
beforeEach(async () => {
  h = await pipelineHarness();
  results = new ResultStore(h.store);
});
afterEach(async () => {
  await h.close();
});

const worker = (owner = 'w1', overrides = {}) => h.worker(owner, { results, ...overrides });
const count = () => (h.store.sqlite.prepare('SELECT count(*) AS n FROM results').get() as { n: number }).n;

describe('results kept by the worker', () => {
  it('a submitted evaluation is kept with its rules, delivery and transcript', async () => {
    h.addConversation('c1');
    await worker().runUntilIdle(0, { waitForTranscripts: true });
    const job = h.jobs.get('c1')!;
    expect(job.state).toBe('submitted');
    const [row] = results.forConversation('c1');
    expect(row).toMatchObject({
      conversationId: 'c1',
      destination: 'form-demo',
      agentId: 'agent-1',
      overallScore: 100,
      passed: true,
      rubricName: 'keywords',
      deliveryState: 'delivered',
      deliveryTarget: 'cxone-qm',
      deliveryId: job.evaluationId,
    });
    expect(row!.rules.map((r) => [r.name, r.outcome])).toEqual([
      ['greeting', 'pass'],
      ['verification', 'pass'],
      ['compliance_disclosure', 'pass'],
      ['closing_summary', 'pass'],
    ]);
    expect(results.transcript('c1')).toEqual(goodTranscript);
  });

  it('a 422 keeps the result as not delivered, with the reason', async () => {
    h.addConversation('c1');
    h.sim.failNext('evaluation', { status: 422, body: { error: { message: 'item-x is not on the form' } } });
    await worker().runUntilIdle(1_000, { waitForTranscripts: true });
    expect(h.jobs.get('c1')!.state).toBe('failed');
    const [row] = results.forConversation('c1');
    expect(row!.deliveryState).toBe('failed');
    expect(row!.deliveryNote).toMatch(/item-x is not on the form/);
  });

  it('a retried submission leaves one result, delivered in the end', async () => {
    h.addConversation('c1');
    h.sim.failNext('evaluation', { status: 500, count: 2 });
    await worker().runUntilIdle(1_000, { waitForTranscripts: true });
    expect(h.jobs.get('c1')!.state).toBe('submitted');
    expect(count()).toBe(1);
    expect(results.forConversation('c1')[0]!.deliveryState).toBe('delivered');
    const daily = h.store.sqlite.prepare('SELECT sum(results) AS n FROM daily_stats').get() as { n: number };
    expect(daily.n).toBe(1);
  });

  it('nothing is kept for a conversation that was not scored', async () => {
    h.addConversation('empty', []);
    await worker().runUntilIdle(0);
    expect(h.jobs.get('empty')!.state).toBe('skipped');
    expect(count()).toBe(0);
  });

  it('a run that lost its lease keeps no result (the transition and the result are one step)', async () => {
    h.addConversation('c1');
    // While the run scores, another process takes the job over.
    const thief = {
      ...tutorialKeywords,
      score(lines: Parameters<typeof tutorialKeywords.score>[0]) {
        h.store.sqlite.prepare("UPDATE jobs SET lease_owner = 'another-process'").run();
        return tutorialKeywords.score(lines);
      },
    };
    const w = worker('w1', { scorer: thief });
    await w.runUntilIdle(0);
    expect(h.jobs.get('c1')!.state).toBe('in_progress');
    expect(count()).toBe(0);
  });
});

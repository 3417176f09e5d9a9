import pino from 'pino';
import { systemClock } from '../../src/clock.js';
import type { CxoneClient } from '../../src/cxone/types.js';
import type { TranscriptLine } from '../../src/domain/transcript.js';
import { qmDestination } from '../../src/pipeline/destinations.js';
import { mapRubricToForm } from '../../src/pipeline/evaluation.js';
import { tutorialSource } from '../../src/pipeline/sources.js';
import { createWorker, type WorkerOptions } from '../../src/pipeline/worker.js';
import type { Scorer } from '../../src/scoring/index.js';
import {
  type CxoneSimulator,
  createCxoneSimulator,
  DEFAULT_SIMULATOR_FORM,
  type SimulatorForm,
} from '../../src/simulator/index.js';
import { createEventRecorder } from '../../src/store/event-recorder.js';
import { JobStore } from '../../src/store/jobs.js';
import { tempStore } from './db.js';
import { clientFor } from './simulator.js';

/**
 * A stand-in scorer for pipeline tests that are about the pipeline, not the rubric: each rule passes
 * when its keyword appears. The real engine has its own tests and is used end to end elsewhere.
 */
export function keywordScorer(rules: Record<string, string>): Scorer {
  const names = Object.keys(rules);
  return {
    rubric: {
      name: 'keywords',
      version: '1',
      hash: 'test',
      rules: names.map((name) => ({ name, weight: 1, critical: false })),
    },
    async score(lines: TranscriptLine[]) {
      const text = lines
        .map((l) => l.text)
        .join(' ')
        .toLowerCase();
      const results = names.map((name) => {
        const found = text.includes(rules[name]!);
        return {
          name,
          outcome: found ? ('pass' as const) : ('fail' as const),
          score: found ? 100 : 0,
          weight: 1,
          comment: `[${name.toUpperCase()}] ${found ? 'found' : 'missing'}`,
          evidence: '',
        };
      });
      return { overallScore: results.reduce((s, r) => s + r.score, 0) / results.length, rules: results };
    },
    comment: (result) =>
      `Automated compliance evaluation. Composite score: ${result.overallScore.toFixed(2)}`,
  };
}

export const tutorialKeywords = keywordScorer({
  greeting: 'hello',
  verification: 'verify',
  compliance_disclosure: 'recorded',
  closing_summary: 'anything else',
});

export const goodTranscript: TranscriptLine[] = [
  { speaker: 'AGENT', text: 'Hello, thanks for calling. This call may be recorded.', timestamp: '00:00:01' },
  { speaker: 'CUSTOMER', text: 'Hi, I need help with my bill.', timestamp: '00:00:05' },
  { speaker: 'AGENT', text: 'Sure, let me verify your date of birth first.', timestamp: '00:00:09' },
  { speaker: 'AGENT', text: 'Is there anything else I can help with?', timestamp: '00:02:00' },
];

/** Simulator on a port, a client, a temp database and helpers to create jobs and run a worker. */
export async function pipelineHarness(
  options: { scorer?: Scorer; worker?: Partial<WorkerOptions>; form?: SimulatorForm } = {},
) {
  const form = options.form ?? DEFAULT_SIMULATOR_FORM;
  const sim: CxoneSimulator = createCxoneSimulator({ forms: [form] });
  const server = await sim.listen(0);
  const db = tempStore();
  const jobs = new JobStore(db.store, form.id);
  const clients: CxoneClient[] = [];
  const log = pino({ level: 'silent' });
  const scorer = options.scorer ?? tutorialKeywords;
  const mapped = mapRubricToForm(scorer.rubric, {
    id: form.id,
    name: form.name,
    sections: form.sections.map((s) => ({
      sectionId: s.section_id,
      name: s.name,
      items: s.items.map((i) => ({ itemId: i.item_id, name: i.name })),
    })),
  });
  if (!mapped.ok) throw new Error(mapped.problems.join('; '));
  const recorder = createEventRecorder({
    store: db.store,
    jobs,
    clock: systemClock,
    firstTranscriptCheckMs: 0,
  });

  const client = (timeoutMs = 2_000) => {
    const c = clientFor(sim, server.url, { timeoutMs });
    clients.push(c);
    return c;
  };

  const worker = (owner: string, overrides: Partial<WorkerOptions> = {}) =>
    createWorker({
      jobs,
      source: tutorialSource(client()),
      scorer,
      destination: qmDestination(client(), mapped.mapping, scorer.rubric),
      clock: systemClock,
      log,
      owner,
      concurrency: 4,
      maxAttempts: 4,
      transcriptMaxWaitMs: 60_000,
      retryBaseMs: 20,
      retryMaxMs: 100,
      transcriptRetryBaseMs: 20,
      transcriptRetryMaxMs: 100,
      leaseMs: 3_000,
      idlePollMs: 50,
      ...options.worker,
      ...overrides,
    });

  /** Adds a conversation to CXone and tells the service about it as a sweep would. */
  const addConversation = (
    id: string,
    transcript: TranscriptLine[] = goodTranscript,
    extra: { agentId?: string | null; readyAt?: number } = {},
  ) => {
    const agentId = extra.agentId === undefined ? 'agent-1' : extra.agentId;
    sim.addConversation({
      id,
      ...(agentId ? { agentId } : {}),
      type: 'voice',
      startTime: Date.now() - 60_000,
      endTime: Date.now() - 1_000,
      transcript,
      ...(extra.readyAt ? { transcriptReadyAt: extra.readyAt } : {}),
    });
    jobs.transaction(() => jobs.onSwept({ conversationId: id, agentId }, Date.now()));
  };

  return {
    sim,
    url: server.url,
    store: db.store,
    dbPath: db.path,
    jobs,
    recorder,
    client,
    worker,
    addConversation,
    mapping: mapped.mapping,
    async close() {
      for (const c of clients) await c.close();
      await server.close();
      db.cleanup();
    },
  };
}

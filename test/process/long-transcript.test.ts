/**
 * Issue 10 item 4: a long transcript must never starve HTTP or lease renewal. In the live service a
 * 60 KB transcript blocked every request for 20 s. The service scores on worker threads
 * (src/scoring-pool): /healthz answers at once while a pathological transcript is being scored.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { parseRubric, scoreTranscript } from '../../src/scoring/index.js';
import { announce, useProcessFixture } from '../support/process.js';
import { waitFor } from '../support/wait.js';

const fx = useProcessFixture();

// The tutorial's rules, with one pattern near the automaton's limit: over a text of `a`s every state
// stays alive at every character, the slowest search a rubric may contain.
const RUBRIC = `greeting: {pattern: '\\b(hello|hi)\\b', weight: 1}
verification: {pattern: 'verify', weight: 1}
compliance_disclosure: {pattern: 'recorded', weight: 1}
closing_summary: {pattern: '(?:(?:.*a){100}){3}b', weight: 1}
`;

it('answers /healthz at once while a pathological transcript is being scored', {
  timeout: 180_000,
}, async () => {
  // Size the transcript to take ~3 s to score here (the cost is linear in its length).
  const parsed = parseRubric(RUBRIC, 'slow.yaml');
  if (!parsed.ok) throw new Error(parsed.errors.join('\n'));
  const probe = [{ speaker: 'AGENT', text: 'a'.repeat(2_000), timestamp: '' }];
  scoreTranscript(parsed.rubric, probe);
  const t0 = performance.now();
  scoreTranscript(parsed.rubric, probe);
  const perChar = (performance.now() - t0) / 2_000;
  const chars = Math.min(3_000_000, Math.max(30_000, Math.round(3_000 / perChar)));

  const rubricPath = join(fx.dir, 'slow.yaml');
  writeFileSync(rubricPath, RUBRIC);
  fx.sim.addConversation({
    id: 'long-call',
    agentId: 'agent-1',
    type: 'voice',
    startTime: Date.now() - 3_600_000,
    endTime: Date.now() - 60_000,
    transcript: [
      { speaker: 'AGENT', text: 'Hello, this call is recorded.', timestamp: '00:00:01' },
      { speaker: 'CUSTOMER', text: 'a'.repeat(chars), timestamp: '00:00:05' },
    ],
  });
  const { child, url } = await fx.startService({ RUBRIC_PATH: rubricPath, JOB_LEASE_SECONDS: '3' });
  await announce(url, fx.secret, fx.sim, 'long-call');

  // Ask /healthz over and over until the evaluation arrives; note the slowest answer.
  let slowest = 0;
  let asked = 0;
  await waitFor(
    'the evaluation of the long call',
    async () => {
      const started = performance.now();
      const response = await fetch(`${url}/healthz`);
      await response.arrayBuffer();
      expect(response.status).toBe(200);
      slowest = Math.max(slowest, performance.now() - started);
      asked++;
      return child.logLines().find((l) => l.msg === 'job finished' && l.outcome === 'submitted');
    },
    150_000,
    20,
  );
  const finished = child.logLines().find((l) => l.msg === 'job finished')!;
  const took = Number(finished.durationMs);
  // The scoring was long enough to matter, and no answer waited for it (on the main thread one would
  // have waited for all of it). The short lease (renewed every second) did not lapse meanwhile.
  expect(took).toBeGreaterThan(1_500);
  expect(asked).toBeGreaterThan(10);
  expect(slowest).toBeLessThan(took / 3);
  expect(fx.sim.evaluationsFor('long-call')).toHaveLength(1);
});

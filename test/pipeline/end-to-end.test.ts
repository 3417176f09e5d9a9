import { afterEach, expect, it } from 'vitest';
import { DEFAULT_RUBRIC_PATH, loadRubricFile } from '../../src/rubric-file.js';
import type { SimulatorForm } from '../../src/simulator/index.js';
import { pipelineHarness } from '../support/harness.js';

/** The real rubric engine in the real pipeline: what an agent finally reads in CXone. */

let h: Awaited<ReturnType<typeof pipelineHarness>> | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

function scorer(path: string | null) {
  const loaded = loadRubricFile(path);
  if (!loaded.ok) throw new Error(loaded.problems.join('\n'));
  return loaded;
}

it('the default tutorial rubric: one item per rule with its evidence, the tutorial composite', async () => {
  const { scorer: tutorial } = scorer(null);
  h = await pipelineHarness({ scorer: tutorial });
  h.addConversation('c1', [
    {
      speaker: 'AGENT',
      text: 'Hello, this call may be recorded for quality assurance.',
      timestamp: '00:00:01',
    },
    { speaker: 'CUSTOMER', text: 'I want to check my', timestamp: '00:00:04' },
    // The tutorial searches the lines joined by spaces: "last four" across two lines still counts.
    { speaker: 'AGENT', text: 'Sure. Please give me the last', timestamp: '00:00:09' },
    { speaker: 'AGENT', text: 'four of your card.', timestamp: '00:00:12' },
  ]);
  await h.worker('w1').runUntilIdle(0, { waitForTranscripts: true });
  const [evaluation] = h.sim.evaluationsFor('c1');
  // greeting 0.2 + verification 0.3 + disclosure 0.3 pass, closing 0.2 fails: 80.
  expect(evaluation!.body.overall_score).toBe(80);
  const items = evaluation!.body.sections.flatMap((s) => s.items);
  expect(items.map((i) => [i.item_id, i.score])).toEqual([
    ['item-greeting', 100],
    ['item-verification', 100],
    ['item-disclosure', 100],
    ['item-closing', 0],
  ]);
  expect(items[0]!.comment).toMatch(/^\[GREETING\] Agent provided standard greeting\. Matched "Hello"/);
  expect(items[3]!.comment).toMatch(/^\[CLOSING_SUMMARY\] Closing protocol incomplete\. No match/);
  expect(evaluation!.body.comment).toMatch(/^Automated compliance evaluation\. Composite score: 80\.00/);
  expect(evaluation!.body.comment).toContain('tutorial');
  expect(DEFAULT_RUBRIC_PATH).toMatch(/rubrics\/tutorial\.yaml$/);
});

it('the example rubric: a failed critical rule zeroes the composite and says why; N/A rules are not submitted', async () => {
  const loaded = scorer('rubrics/example.yaml');
  const sections = new Map<string, string[]>();
  for (const rule of loaded.rubric.rules)
    sections.set(rule.sectionId!, [...(sections.get(rule.sectionId!) ?? []), rule.itemId!]);
  const form: SimulatorForm = {
    id: loaded.rubric.formId!,
    name: 'Collections',
    sections: [...sections].map(([section_id, items]) => ({
      section_id,
      name: section_id,
      items: items.map((item_id) => ({ item_id, name: item_id, max_score: 100 })),
    })),
  };
  h = await pipelineHarness({ scorer: loaded.scorer, form });
  // No recording notice (critical), and the customer never mentions hardship (hardship_offer N/A).
  h.addConversation('c1', [
    {
      speaker: 'AGENT',
      text: 'Good morning, thank you for calling Northwind Recovery.',
      timestamp: '00:00:02',
    },
    { speaker: 'CUSTOMER', text: 'Hi, I got a letter about my account.', timestamp: '00:00:08' },
    { speaker: 'AGENT', text: 'Can you confirm your date of birth please?', timestamp: '00:00:15' },
    { speaker: 'AGENT', text: 'Thank you. Your balance is 420 dollars.', timestamp: '00:01:15' },
    { speaker: 'AGENT', text: 'Is there anything else I can help you with today?', timestamp: '00:05:00' },
  ]);
  await h.worker('w1').runUntilIdle(0, { waitForTranscripts: true });
  const [evaluation] = h.sim.evaluationsFor('c1');
  expect(evaluation, JSON.stringify(h.jobs.get('c1'))).toBeDefined();
  expect(evaluation!.body.overall_score).toBe(0);
  expect(evaluation!.body.comment).toMatch(/recording_notice/i);
  const items = evaluation!.body.sections.flatMap((s) => s.items).map((i) => i.item_id);
  expect(items).toContain('item-recording');
  expect(items).not.toContain('item-hardship');
  expect(evaluation!.body.comment).toMatch(/hardship_offer/);
});

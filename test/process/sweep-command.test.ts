/**
 * `npm run sweep` as a process: exit 3 when CXone cannot be reached, 4 when it refuses the
 * credentials (one clear stderr line each besides the JSON log), and exit 0 with a summary whose counts
 * match what happened when some transcripts are still being made.
 */
import { describe, expect, it } from 'vitest';
import {
  addConversations,
  freePort,
  jobStates,
  spawnSweep,
  TRANSCRIPT_MARKER,
  useProcessFixture,
} from '../support/process.js';

const fx = useProcessFixture();

/** stderr without the JSON log lines: what an operator reads. */
const plainLines = (stderr: string) =>
  stderr.split('\n').filter((l) => l.trim() !== '' && !l.startsWith('{'));

/** Waits for exit up to `ms`; kills the child and answers undefined when it takes longer. */
async function exitWithin(child: ReturnType<typeof spawnSweep>, ms: number) {
  const timer = new Promise<undefined>((r) => setTimeout(() => r(undefined), ms));
  const exit = await Promise.race([child.exited, timer]);
  if (!exit) child.kill('SIGKILL');
  return exit;
}

describe('npm run sweep', () => {
  it('CXone unreachable: exit 3 after SWEEP_CONNECT_TIMEOUT_SECONDS, one clear line', async () => {
    const closed = await freePort();
    const started = Date.now();
    const child = spawnSweep(
      await fx.settings({ CXONE_BASE_URL: `http://127.0.0.1:${closed}`, SWEEP_CONNECT_TIMEOUT_SECONDS: '2' }),
    );
    const exit = await exitWithin(child, 15_000);
    const tookMs = Date.now() - started;
    expect(exit?.code, child.stderr).toBe(3);
    expect(tookMs).toBeLessThan(10_000);
    const lines = plainLines(child.stderr);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/CXone/);
    expect(child.stderr).not.toMatch(/^\s+at /m);
    expect(child.stdout).toBe('');
  });

  it('wrong client secret: exit 4, one clear line', async () => {
    const child = spawnSweep(await fx.settings({ CXONE_CLIENT_SECRET: 'wrong-secret-value' }));
    const exit = await exitWithin(child, 15_000);
    expect(exit?.code, child.stderr).toBe(4);
    const lines = plainLines(child.stderr);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/credentials/);
    expect(child.stderr).not.toContain('wrong-secret-value');
    expect(child.stderr).not.toMatch(/^\s+at /m);
    expect(fx.sim.evaluations).toHaveLength(0);
  });

  it('some transcripts still 404: exit 0, summary counts evaluated, skipped and still waiting', async () => {
    const ready = addConversations(fx.sim, 6, 'ready');
    // Transcription still running for an hour: CXone answers 404.
    const later = addConversations(fx.sim, 3, 'later', { readyAt: () => Date.now() + 3_600_000 });
    // No agent: cannot be evaluated, skipped.
    fx.sim.addConversation({
      id: 'noagent-000',
      agentId: null,
      type: 'chat',
      startTime: Date.now() - 120_000,
      endTime: Date.now() - 90_000,
      transcript: [{ speaker: 'AGENT', text: 'hello', timestamp: '' }],
    });
    // A transcript retry further off than the sweep waits for (60 s): left for later at once.
    const child = spawnSweep(await fx.settings({ TRANSCRIPT_RETRY_SECONDS: '120' }));
    const exit = await exitWithin(child, 15_000);
    expect(exit?.code, child.stderr).toBe(0);
    const summary = child.stdout.trim().split('\n');
    expect(summary).toHaveLength(3);
    expect(summary[0]).toBe('sweep: 10 completed conversation(s) in the window, 10 new, 1 page(s)');
    // The conversation without an agent is skipped by the sweep itself when it records it.
    expect(summary[1]).toBe('this run: 6 submitted, 1 skipped, 0 failed');
    expect(summary[2]).toBe('of the conversations found: 6 evaluated, 1 skipped, 0 failed, 3 still waiting');
    for (const id of ready) expect(fx.sim.evaluationsFor(id), id).toHaveLength(1);
    for (const id of later) expect(fx.sim.evaluationsFor(id), id).toHaveLength(0);
    expect(fx.sim.evaluations).toHaveLength(6);

    const states = jobStates(fx.openDb());
    for (const id of later) expect(states.get(id)?.state, id).toBe('waiting_transcript');
    expect(states.get('noagent-000')?.state).toBe('skipped');
    // Logs (JSON on stderr) carry no transcript text and no secrets.
    expect(child.stderr).not.toContain(TRANSCRIPT_MARKER);
    expect(child.stderr).not.toContain(fx.sim.clientSecret);
  });

  // npm run sweep waits for short retries (5xx, 429) but not for transcripts still being made: with
  // the default TRANSCRIPT_RETRY_SECONDS=30 it once sat ~87 s on one 404 transcript.
  it('a conversation whose transcript is 404 does not hold the sweep for a minute and more', async () => {
    addConversations(fx.sim, 2, 'ready');
    addConversations(fx.sim, 1, 'later', { readyAt: () => Date.now() + 3_600_000 });
    // The defaults an operator runs with: TRANSCRIPT_RETRY_SECONDS=30.
    const env = await fx.settings();
    delete env.TRANSCRIPT_RETRY_SECONDS;
    const child = spawnSweep(env);
    const exit = await exitWithin(child, 8_000);
    expect(exit?.code).toBe(0);
  });
});

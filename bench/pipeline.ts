/**
 * Pipeline benchmark: webhook → queue → transcript → score → evaluation, against the CXone simulator
 * answering every call in 20 ms.
 *
 * Two processes: this one is "CXone" (the simulator's API and the webhook sender, pinned to core 0),
 * the other is the service as `npm start` runs it (pinned to core 1). Keeping the simulator out of
 * the service's process keeps its JSON, timers and HTTP parsing off the service's event loop; the
 * 202 times and the evaluations' createdAt are both read from this process's clock.
 *
 * Phases: a warm-up; a steady 20 conversations/s (conversation.ended, then transcript.ready once
 * the first is answered; latency from transcript.ready's 202 to the evaluation's createdAt); a burst
 * of 600 conversations sent at once over 32 connections (throughput from the first webhook sent to
 * the last evaluation created). Then CXone calls per conversation from the simulator's call log.
 * Last, "flaky CXone": batches of 50 conversations sent at once while every CXone call has a 25 %
 * chance of a 500 (bench/lib/flaky-cxone.ts), each timed from its first webhook to its last
 * evaluation; the healthy phases' call count is taken before it.
 *
 * Prints a Markdown section to stdout.
 * usage: node --import tsx bench/pipeline.ts [--steady-seconds S] [--rate N] [--burst N] [--profile DIR]
 *          [--flaky-batches N] [--flaky-only] [--call-retries N]
 * (--flaky-only: a short warm-up and the flaky batches only; --call-retries: the service's
 * CXONE_CALL_RETRIES, e.g. 0 to see the batches without quick repeats inside the call.)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createCxoneSimulator,
  generateSampleConversations,
  type SampleConversation,
  settingsForSimulator,
  signedRequest,
  webhookEvent,
} from '../src/simulator/index.js';
import { spawnServer } from './lib/child.js';
import { listenFlaky } from './lib/flaky-cxone.js';
import { canPin, pinSelf, processCpuMs } from './lib/machine.js';
import { arg, targetComment } from './lib/report.js';
import { fmtInt, fmtMs, passFail, summarize } from './lib/stats.js';

const LATENCY_MS = 20;
const CONCURRENCY = Number(arg('--concurrency', '4'));
const RATE = Number(arg('--rate', '20'));
const STEADY_S = Number(arg('--steady-seconds', '30'));
const WARMUP_COUNT = Number(arg('--warmup', '60'));
const BURST = Number(arg('--burst', '600'));
const BURST_CONNECTIONS = 32;
const PROFILE_DIR = arg('--profile', '');
const BUDGET = 100_000;
const FLAKY_BATCHES = Number(arg('--flaky-batches', '5'));
const FLAKY_BATCH = 50;
const FLAKY_RATE = 0.25;
/** A batch of 50 under 25 % 500s done within this, every time ("well inside 50 s"). */
const FLAKY_TARGET_S = 20;
const FLAKY_ONLY = process.argv.includes('--flaky-only');
const CALL_RETRIES = arg('--call-retries', '');

const agent = new Agent({ keepAlive: true, maxSockets: BURST_CONNECTIONS });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function post(url: string, init: { headers: Record<string, string>; body: string }): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', agent, headers: init.headers }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(init.body);
  });
}

async function main(): Promise<void> {
  const pinned = pinSelf(0);
  const dir = mkdtempSync(join(tmpdir(), 'qm-bench-pipeline-'));
  // Precise: a plain 20 ms timer answers 20-22 ms late, which is not the condition the targets state.
  const sim = createCxoneSimulator({ latencyMs: LATENCY_MS, preciseLatency: true });
  const simServer = await listenFlaky(sim, LATENCY_MS);
  const secret = `whsec_${Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString('base64')}`;
  const service = await spawnServer({
    script: 'bench/lib/service-server.ts',
    core: 1,
    logFile: join(dir, 'service.log'),
    ...(PROFILE_DIR ? { profileDir: PROFILE_DIR } : {}),
    env: {
      ...settingsForSimulator(sim, simServer.url),
      PORT: '0',
      DATABASE_PATH: join(dir, 'qm.sqlite'),
      WEBHOOK_SECRET: secret,
      WORKER_CONCURRENCY: String(CONCURRENCY),
      CXONE_MAX_REQUESTS_PER_MINUTE: String(BUDGET),
      SWEEP_INTERVAL_SECONDS: '0',
      LOG_LEVEL: 'info',
      ...(CALL_RETRIES ? { CXONE_CALL_RETRIES: CALL_RETRIES } : {}),
    },
  });

  let webhookErrors = 0;
  const deliver = async (body: string): Promise<number> => {
    const { url, init } = signedRequest({ url: service.url, secret, body });
    const status = await post(url, { headers: init.headers as Record<string, string>, body });
    if (status !== 202) webhookErrors++;
    return Date.now();
  };

  /** Makes the conversations known to CXone (transcript ready at once) and returns them. */
  const prepare = (prefix: string, count: number, seed: number): SampleConversation[] => {
    const list = generateSampleConversations(count, seed, {
      idPrefix: `conv-${prefix}-`,
      endAt: Date.now(),
      spacingMs: 1_000,
      withoutAgentRate: 0,
      emptyTranscriptRate: 0,
    });
    for (const c of list) {
      sim.addConversation({
        id: c.id,
        agentId: c.agentId,
        type: c.type,
        startTime: c.startTime,
        endTime: c.endTime,
        transcript: c.transcript,
      });
    }
    return list;
  };

  /** conversation.ended, then transcript.ready: answers when transcript.ready got its 202. */
  const conversationEnds = async (c: SampleConversation): Promise<number> => {
    const data = {
      conversation_id: c.id,
      agent_id: c.agentId,
      media_type: c.type,
      start_time: c.startTime,
      end_time: c.endTime,
    };
    await deliver(JSON.stringify(webhookEvent('conversation.ended', data)));
    return deliver(JSON.stringify(webhookEvent('transcript.ready', { conversation_id: c.id })));
  };

  const evaluatedAt = (ids: string[]): Map<string, number> => {
    const wanted = new Set(ids);
    const at = new Map<string, number>();
    for (const e of sim.evaluations) if (wanted.has(e.conversationId)) at.set(e.conversationId, e.createdAt);
    return at;
  };
  const waitForEvaluations = async (ids: string[], timeoutMs: number): Promise<Map<string, number>> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const at = evaluatedAt(ids);
      if (at.size === ids.length || Date.now() > deadline) return at;
      await sleep(20);
    }
  };

  /** Sends `list` at `rate` conversations/s on a fixed schedule; latencies from transcript.ready's 202. */
  const steady = async (list: SampleConversation[], rate: number) => {
    const readyAccepted = new Map<string, number>();
    const start = Date.now();
    const sends: Promise<void>[] = [];
    for (const [i, c] of list.entries()) {
      const due = start + (i * 1000) / rate;
      const wait = due - Date.now();
      if (wait > 0) await sleep(wait);
      sends.push(conversationEnds(c).then((at) => void readyAccepted.set(c.id, at)));
    }
    await Promise.all(sends);
    const ids = list.map((c) => c.id);
    const at = await waitForEvaluations(ids, 60_000);
    const latencies = ids.flatMap((id) => {
      const done = at.get(id);
      const accepted = readyAccepted.get(id);
      return done !== undefined && accepted !== undefined ? [done - accepted] : [];
    });
    return { latencies, evaluated: at.size, elapsedMs: Date.now() - start };
  };

  /** Sends every conversation of `list` at once over 8 connections; seconds to its last evaluation. */
  const batch = async (list: SampleConversation[]): Promise<number> => {
    const ids = list.map((c) => c.id);
    const first = Date.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (next < list.length) await conversationEnds(list[next++]!);
      }),
    );
    const at = await waitForEvaluations(ids, 120_000);
    return at.size === ids.length ? (Math.max(...at.values()) - first) / 1000 : Number.POSITIVE_INFINITY;
  };

  /** The flaky-CXone phase: FLAKY_BATCHES batches of 50 under FLAKY_RATE 500s. */
  const flaky = async () => {
    const injectedBefore = simServer.injected;
    const callsBefore = sim.callLog.length;
    simServer.setFailureRate(FLAKY_RATE);
    const seconds: number[] = [];
    for (let b = 0; b < FLAKY_BATCHES; b++) {
      seconds.push(await batch(prepare(`flaky${b}`, FLAKY_BATCH, 100 + b)));
      await sleep(200);
    }
    simServer.setFailureRate(0);
    const injected = simServer.injected - injectedBefore;
    const served = sim.callLog.length - callsBefore;
    const worst = Math.max(...seconds);
    const fmtS = (x: number) => (Number.isFinite(x) ? `${x.toFixed(1)} s` : 'not done in 120 s');
    const ok = worst <= FLAKY_TARGET_S;
    const lines = [
      `Flaky CXone: ${FLAKY_BATCHES} batches of ${FLAKY_BATCH} conversations, each sent at once, while every CXone call had a ${FLAKY_RATE * 100} % chance of a 500 ` +
        `(after the same ${LATENCY_MS} ms; ${injected} 500s injected, ${served} calls served; service CXONE_CALL_RETRIES=${CALL_RETRIES || 'default (2)'}). ` +
        `First webhook to last evaluation per batch: ${seconds.map(fmtS).join(', ')}; worst **${fmtS(worst)}**.`,
      '',
      '| target | measured | result |',
      '| --- | --- | --- |',
      `| every batch of ${FLAKY_BATCH} under ${FLAKY_RATE * 100} % 500s done ≤ ${FLAKY_TARGET_S} s | worst ${fmtS(worst)} | ${passFail(ok)} |`,
    ];
    const target = {
      id: 'flaky',
      name: `Batch of ${FLAKY_BATCH} under ${FLAKY_RATE * 100} % 500s done ≤ ${FLAKY_TARGET_S} s, every time`,
      ok,
      measured: `worst of ${FLAKY_BATCHES}: ${fmtS(worst)}`,
    };
    return { lines, target, ok };
  };

  const pid = service.child.pid ?? 0;
  try {
    if (FLAKY_ONLY) {
      await steady(prepare('warm', 20, 1), RATE);
      const f = await flaky();
      process.stdout.write(
        ['## Pipeline (flaky CXone only)', '', ...f.lines, '', targetComment([f.target]), ''].join('\n'),
      );
      if (!f.ok) process.exitCode = 1;
      return;
    }
    // Warm-up: JIT, first token, connections.
    await steady(prepare('warm', WARMUP_COUNT, 1), RATE);

    const steadyList = prepare('steady', Math.round(RATE * STEADY_S), 2);
    let cpu = processCpuMs(pid);
    const steadyResult = await steady(steadyList, RATE);
    const steadyCpu = ((processCpuMs(pid) - cpu) / steadyResult.elapsedMs) * 100;
    const s = summarize(steadyResult.latencies);

    await sleep(500);
    const burstList = prepare('burst', BURST, 3);
    const burstIds = burstList.map((c) => c.id);
    cpu = processCpuMs(pid);
    const firstSent = Date.now();
    const readyAccepted = new Map<string, number>();
    let next = 0;
    let lastWebhookAccepted = 0;
    await Promise.all(
      Array.from({ length: BURST_CONNECTIONS }, async () => {
        while (next < burstList.length) {
          const c = burstList[next++]!;
          const at = await conversationEnds(c);
          readyAccepted.set(c.id, at);
          lastWebhookAccepted = Math.max(lastWebhookAccepted, at);
        }
      }),
    );
    const burstAt = await waitForEvaluations(burstIds, 120_000);
    const lastEvaluation = Math.max(...burstAt.values());
    const burstSeconds = (lastEvaluation - firstSent) / 1000;
    const burstCpu = ((processCpuMs(pid) - cpu) / (lastEvaluation - firstSent)) * 100;
    const burstRate = burstAt.size / burstSeconds;
    // Diagnostic: the drain rate once every burst webhook was answered (ingest no longer competes).
    const afterIngest = [...burstAt.values()].filter((t) => t > lastWebhookAccepted).length;
    const drainRate = afterIngest / ((lastEvaluation - lastWebhookAccepted) / 1000);
    const burstLatency = summarize(
      burstIds.flatMap((id) => {
        const done = burstAt.get(id);
        const accepted = readyAccepted.get(id);
        return done !== undefined && accepted !== undefined ? [done - accepted] : [];
      }),
    );
    // The healthy phases' calls, before the flaky phase adds its own.
    const log = sim.callLog;
    const healthyEvaluations = sim.evaluations;

    await sleep(500);
    const flakyResult = await flaky();

    await service.stop();

    const conversations = WARMUP_COUNT + steadyList.length + burstList.length;
    const callsOf = (call: string) => log.filter((e) => e.call === call).length;
    const perConversationCalls =
      (callsOf('token') + callsOf('transcript') + callsOf('evaluation')) / conversations;
    const failedCalls = log.filter((e) => e.status < 200 || e.status >= 300).length;
    const perConversation = new Map<string, number>();
    for (const e of healthyEvaluations)
      perConversation.set(e.conversationId, (perConversation.get(e.conversationId) ?? 0) + 1);
    const twice = [...perConversation.values()].filter((n) => n > 1).length;
    const required = 0.9 * (CONCURRENCY / ((2 * LATENCY_MS) / 1000));

    const steadyOk =
      steadyResult.evaluated === steadyList.length && s.p50 <= 50 && s.p99 <= 80 && webhookErrors === 0;
    const burstOk = burstAt.size === BURST && burstRate >= required;
    const callsOk = perConversationCalls <= 2.02 && twice === 0 && perConversation.size === conversations;
    const flakyTwice = new Map<string, number>();
    for (const e of sim.evaluations)
      flakyTwice.set(e.conversationId, (flakyTwice.get(e.conversationId) ?? 0) + 1);
    const evaluatedTwice = [...flakyTwice.values()].filter((n) => n > 1).length;

    const lines = [
      '## Pipeline',
      '',
      `CXone simulator answering every call after ${LATENCY_MS} ms; service with WORKER_CONCURRENCY=${CONCURRENCY}, ` +
        `CXONE_MAX_REQUESTS_PER_MINUTE=${fmtInt(BUDGET)} (high enough never to bind: the whole run makes ~${fmtInt(log.length)} calls), ` +
        'SWEEP_INTERVAL_SECONDS=0 (no sweep queries in the call count), LOG_LEVEL=info to a file, other settings default. ' +
        'Each conversation: `conversation.ended`, then `transcript.ready` once the first got its 202 (the transcript is ready at once; ' +
        'transcript.ready makes the job due now).',
      `Processes: the service (bench/lib/service-server.ts → startService, as \`npm start\`) in one process, "CXone" (simulator API and webhook sender) in this one, ` +
        (pinned && canPin()
          ? 'pinned to cores 1 and 0 (taskset), '
          : 'not pinned (no taskset or < 2 cores), ') +
        "so the simulator does not compete with the service for its event loop. Latency is from transcript.ready's 202 (as the sender saw it) to the evaluation's `createdAt` in the simulator, both on this process's clock.",
      `Phases: ${WARMUP_COUNT} warm-up conversations at ${RATE}/s (not counted); ${steadyList.length} conversations at a steady ${RATE}/s (${STEADY_S} s); ` +
        `then a burst of ${BURST} conversations sent at once over ${BURST_CONNECTIONS} connections.`,
      '',
      '| phase | conversations | evaluated | p50 | p90 | p99 | max | service CPU |',
      '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
      `| steady ${RATE}/s | ${steadyList.length} | ${steadyResult.evaluated} | ${fmtMs(s.p50)} | ${fmtMs(s.p90)} | ${fmtMs(s.p99)} | ${fmtMs(s.max)} | ${Math.round(steadyCpu)} % |`,
      `| burst | ${BURST} | ${burstAt.size} | ${fmtMs(burstLatency.p50)} | ${fmtMs(burstLatency.p90)} | ${fmtMs(burstLatency.p99)} | ${fmtMs(burstLatency.max)} | ${Math.round(burstCpu)} % |`,
      '',
      `Burst: first webhook sent to last evaluation created: ${burstSeconds.toFixed(2)} s → **${burstRate.toFixed(1)} conversations/s** ` +
        `(ceiling WORKER_CONCURRENCY / (2 × ${LATENCY_MS} ms) = ${fmtInt(CONCURRENCY / ((2 * LATENCY_MS) / 1000))}/s; all ${BURST * 2} webhooks answered ${((lastWebhookAccepted - firstSent) / 1000).toFixed(2)} s after the first was sent, ` +
        `${BURST - afterIngest} evaluations by then; from then on ${drainRate.toFixed(1)} conversations/s).`,
      `CXone calls over ${conversations} conversations: ${callsOf('token')} token, ${callsOf('transcript')} transcript, ${callsOf('evaluation')} evaluation ` +
        `→ **${perConversationCalls.toFixed(3)} per conversation**; plus ${callsOf('form')} form read at start-up and ${callsOf('query')} sweep queries. ` +
        `${failedCalls} calls answered non-2xx; ${webhookErrors} webhooks not answered 202; ${twice === 0 ? 'no conversation evaluated twice' : `**${twice} conversations evaluated twice**`}.`,
      '',
      '| target | measured | result |',
      '| --- | --- | --- |',
      `| steady ${RATE}/s: webhook-202-to-evaluation p50 ≤ 50 ms, p99 ≤ 80 ms | p50 ${fmtMs(s.p50)}, p99 ${fmtMs(s.p99)} | ${passFail(steadyOk)} |`,
      `| burst of ${BURST} drained at ≥ ${fmtInt(required)} conversations/s | ${burstRate.toFixed(1)}/s | ${passFail(burstOk)} |`,
      `| ≤ 2.02 CXone calls per conversation | ${perConversationCalls.toFixed(3)} | ${passFail(callsOk)} |`,
      '',
      ...flakyResult.lines,
      '',
      `Over the whole run, ${evaluatedTwice === 0 ? 'no conversation was evaluated twice' : `**${evaluatedTwice} conversations were evaluated twice**`} (the quick repeats of a submission carry its Idempotency-Key).`,
      '',
      targetComment([
        {
          id: 'steady',
          name: `Steady ${RATE}/s: 202→evaluation p50 ≤ 50 ms, p99 ≤ 80 ms`,
          ok: steadyOk,
          measured: `p50 ${fmtMs(s.p50)}, p99 ${fmtMs(s.p99)}`,
        },
        {
          id: 'burst',
          name: `Burst of ${BURST} drained ≥ ${fmtInt(required)}/s`,
          ok: burstOk,
          measured: `${burstRate.toFixed(1)}/s`,
        },
        {
          id: 'calls',
          name: '≤ 2.02 CXone calls per conversation',
          ok: callsOk,
          measured: perConversationCalls.toFixed(3),
        },
        flakyResult.target,
      ]),
      '',
    ];
    process.stdout.write(lines.join('\n'));
    if (!steadyOk || !burstOk || !callsOk || !flakyResult.ok || evaluatedTwice > 0) process.exitCode = 1;
  } finally {
    await service.stop();
    agent.destroy();
    await simServer.close();
    if (!PROFILE_DIR) rmSync(dir, { recursive: true, force: true });
    else process.stderr.write(`pipeline: logs and database kept in ${dir}\n`);
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`pipeline benchmark failed: ${(error as Error)?.stack ?? String(error)}\n`);
  process.exitCode = 2;
});

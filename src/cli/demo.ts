import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { systemClock } from '../clock.js';
import { loadConfig } from '../config.js';
import { createLogger } from '../logger.js';
import { startService } from '../service.js';
import {
  createCxoneSimulator,
  DEFAULT_SIMULATOR_FORM,
  deliverWebhook,
  generateSampleConversations,
  settingsForSimulator,
  webhookEvent,
} from '../simulator/index.js';
import { countWebhookEvents, listJobs } from '../store/reports.js';
import type { CommandArgs } from './commands.js';
import { serveConsoleUntilInterrupted } from './demo-console.js';
import { runPlatformDemo } from './demo-platform.js';
import { waitUntilEveryJobEnds } from './demo-wait.js';
import { processOwner, reportProblems } from './env.js';
import { EXIT, StartupError } from './exit.js';

/**
 * `qm demo` (`npm run demo`): the real service (HTTP ingest, SQLite queue, worker, sweep, CXone client) against
 * the built-in CXone simulator, on loopback, with no credentials. Conversations end one after
 * another; CXone sends signed webhooks for most of them, misses some (the sweep finds those), makes
 * some transcripts late, and throws in a few faults. Evaluations are printed as CXone receives them.
 */

const COUNT = 36;
const tty = process.stdout.isTTY === true;
const color = (code: number) => (text: string) => (tty ? `\x1b[${code}m${text}\x1b[0m` : text);
const green = color(32);
const red = color(31);
const dim = color(2);
const bold = color(1);
const say = (line = '') => process.stdout.write(`${line}\n`);

async function main(keepConsole: boolean): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'qm-demo-'));
  const secret = `whsec_${randomBytes(24).toString('base64')}`;
  const sim = createCxoneSimulator({ latencyMs: 20, tokenTtlSeconds: 15 });
  const simServer = await sim.listen(0);

  const loaded = loadConfig({
    ...settingsForSimulator(sim, simServer.url),
    PORT: '0',
    DATABASE_PATH: join(dir, 'qm.sqlite'),
    WEBHOOK_SECRET: secret,
    WORKER_CONCURRENCY: '4',
    CXONE_MAX_REQUESTS_PER_MINUTE: '600',
    SWEEP_INTERVAL_SECONDS: '3',
    TRANSCRIPT_FIRST_CHECK_SECONDS: '1',
    TRANSCRIPT_RETRY_SECONDS: '0.5',
    RETRY_BASE_SECONDS: '0.3',
    SHUTDOWN_GRACE_SECONDS: '2',
    LOG_LEVEL: 'info',
  });
  if (!loaded.ok) throw new StartupError(loaded.problems, EXIT.config);
  const logFile = join(dir, 'service.log');
  const log = createLogger('info', pino.destination({ dest: logFile, sync: false }));
  const service = await startService(loaded.config, { clock: systemClock, log, owner: processOwner('demo') });
  await service.ready;

  say(bold('CXone QM autoscore: demo'));
  say(
    dim(
      `service ${service.url}  ·  CXone simulator ${simServer.url} (20 ms per call)  ·  database ${loaded.config.databasePath}`,
    ),
  );
  say(dim(`service log (pino JSON): ${logFile}`));
  say();

  const conversations = generateSampleConversations(COUNT, 7, {
    endAt: Date.now(),
    spacingMs: 1_000,
  }).reverse();
  const plan = conversations.map((c, i) => ({
    conversation: c,
    // Every sixth conversation's webhooks are lost: only the sweep can find it.
    webhook: i % 6 !== 5,
    // Some transcripts take a few seconds (404 meanwhile); some transcript.ready events never come.
    readyAfterMs: i % 5 === 2 ? 2_500 : 200,
    announceTranscript: i % 4 !== 3,
  }));
  const formItems = new Map(
    DEFAULT_SIMULATOR_FORM.sections.flatMap((s) => s.items.map((item) => [item.item_id, item.name])),
  );

  // A few faults CXone really produces.
  sim.failNext('evaluation', { status: 503, count: 2 });
  sim.failNext('transcript', { status: 429, retryAfter: 1 });

  let printed = 0;
  const printArrivals = () => {
    for (const evaluation of sim.evaluations.slice(printed)) {
      printed++;
      const items = evaluation.body.sections.flatMap((s) => s.items);
      const marks = items.map((item) => {
        const name = formItems.get(item.item_id) ?? item.item_id;
        return item.score >= 100 ? green(`✓ ${name}`) : red(`✗ ${name}`);
      });
      const score = evaluation.overallScore.toFixed(2).padStart(6);
      say(
        `  ${dim(new Date(evaluation.createdAt).toISOString().slice(11, 23))}  ${evaluation.conversationId}  ${evaluation.agentId}  ${bold(score)}  ${marks.join('  ')}`,
      );
    }
  };
  const printer = setInterval(printArrivals, 100);

  say(bold(`${COUNT} conversations end, one every 150 ms; evaluations as CXone receives them:`));
  const deliveries: Promise<unknown>[] = [];
  let revoked = false;
  for (const [i, step] of plan.entries()) {
    const c = step.conversation;
    const now = Date.now();
    sim.addConversation({
      id: c.id,
      ...(c.agentId ? { agentId: c.agentId } : {}),
      type: c.type,
      startTime: now - 5 * 60_000,
      endTime: now,
      transcript: c.transcript,
      transcriptReadyAt: now + step.readyAfterMs,
    });
    if (step.webhook) {
      const data = {
        conversation_id: c.id,
        agent_id: c.agentId,
        media_type: c.type,
        start_time: c.startTime,
        end_time: c.endTime,
      };
      const body = JSON.stringify(webhookEvent('conversation.ended', data));
      deliveries.push(
        deliverWebhook({ url: service.url, secret, body }).then(async (first) => {
          // CXone retries deliveries it is unsure of: the same webhook-id must change nothing.
          if (i === 4) await deliverWebhook({ url: service.url, secret, body, webhookId: first.webhookId });
        }),
      );
      if (step.announceTranscript) {
        const ready = JSON.stringify(webhookEvent('transcript.ready', { conversation_id: c.id }));
        deliveries.push(
          new Promise((r) => setTimeout(r, step.readyAfterMs)).then(() =>
            deliverWebhook({ url: service.url, secret, body: ready }),
          ),
        );
      }
    }
    if (i === 10) {
      // A forged delivery: refused with 401, nothing recorded.
      const forged = await deliverWebhook({
        url: service.url,
        secret: `whsec_${randomBytes(24).toString('base64')}`,
        body: '{}',
      });
      if (forged.status !== 401) throw new Error(`forged webhook answered ${forged.status}`);
    }
    if (i === COUNT / 2 && !revoked) {
      revoked = true;
      sim.revokeTokens(); // the next call answers 401; the client fetches a new token once and repeats
    }
    await new Promise((r) => setTimeout(r, 150));
  }
  await Promise.all(deliveries);

  const { store, gaveUp } = await waitUntilEveryJobEnds(loaded.config.databasePath, COUNT, 'conversation');
  if (gaveUp) {
    say(red(gaveUp));
    process.exitCode = EXIT.unexpected;
  }
  clearInterval(printer);
  printArrivals();

  const rows = listJobs(store);
  const events = countWebhookEvents(store);
  store.close();

  say();
  say(bold('Scores'));
  say(dim('  conversation   agent         channel  found by  score   status'));
  for (const r of rows) {
    const score = r.overallScore === null ? '     -' : r.overallScore.toFixed(2).padStart(6);
    const status =
      r.state === 'submitted'
        ? green('evaluated')
        : r.state === 'skipped'
          ? dim(`skipped: ${r.reason}`)
          : red(`${r.state}: ${r.reason}`);
    const notes = [
      r.transcriptChecks ? `${r.transcriptChecks}× transcript not ready` : '',
      r.attempts ? `${r.attempts} retried` : '',
    ]
      .filter(Boolean)
      .join(', ');
    say(
      `  ${r.conversationId.padEnd(13)}  ${(r.agentId ?? '-').padEnd(12)}  ${(r.mediaType ?? '-').padEnd(7)}  ${r.source.padEnd(8)}  ${score}  ${status}${notes ? dim(`  (${notes})`) : ''}`,
    );
  }
  const submitted = rows.filter((r) => r.state === 'submitted');
  const scores = submitted.map((r) => r.overallScore ?? 0);
  const perConversation = new Map<string, number>();
  for (const e of sim.evaluations)
    perConversation.set(e.conversationId, (perConversation.get(e.conversationId) ?? 0) + 1);
  const twice = [...perConversation.values()].filter((n) => n > 1).length;
  say();
  say(
    `${bold(String(submitted.length))} evaluated (mean score ${(scores.reduce((a, b) => a + b, 0) / Math.max(1, scores.length)).toFixed(2)}), ` +
      `${rows.filter((r) => r.state === 'skipped').length} skipped, ${rows.filter((r) => r.state === 'failed').length} failed; ` +
      `${rows.filter((r) => r.source === 'sweep').length} found by the sweep; ${events} webhook deliveries recorded.`,
  );
  say(
    `${twice === 0 ? green('no conversation evaluated twice') : red(`${twice} conversation(s) evaluated twice`)}; ` +
      `${sim.callLog.length} CXone calls, at most ${sim.maxCallsInAnyWindow()} in any minute (budget ${loaded.config.cxone.maxRequestsPerMinute}).`,
  );
  if (twice > 0) process.exitCode = EXIT.unexpected;
  if (keepConsole) {
    await serveConsoleUntilInterrupted({
      databasePath: loaded.config.databasePath,
      adminUrl: service.adminUrl,
      say,
    });
  }
  await service.stop();
  await simServer.close();
}

/** `qm demo [--api tutorial|platform] [--console]`: the tutorial profile's demo, or the platform profile's. */
export function run(args?: CommandArgs): Promise<void> {
  const api = args?.values.api ?? 'tutorial';
  const keepConsole = args?.values.console === true;
  return (api === 'platform' ? runPlatformDemo(keepConsole) : main(keepConsole)).catch((error: unknown) => {
    if (error instanceof StartupError) return reportProblems(error.lines, error.exitCode);
    process.stderr.write(`demo failed: ${(error as Error)?.stack ?? String(error)}\n`);
    process.exitCode = EXIT.unexpected;
  });
}

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
  createPlatformSimulator,
  deliverStudioCall,
  generatePlatformSamples,
  settingsForPlatformSimulator,
} from '../simulator/index.js';
import { listJobs } from '../store/reports.js';
import { serveConsoleUntilInterrupted } from './demo-console.js';
import { waitUntilEveryJobEnds } from './demo-wait.js';
import { processOwner } from './env.js';
import { EXIT, StartupError } from './exit.js';

/**
 * `npm run demo -- --api platform`: the real service against the built-in simulator of NICE CXone's
 * documented APIs, on loopback, with no credentials. Contacts end one after another: calls of one to
 * three segments, chats, digital contacts, one without an agent, one not recorded, an email. Studio
 * pushes most of them; the sweep over Reporting finds the rest. IA analyses some segments late, the
 * Media Playback API answers a 429 without Retry-After, Business Data a 503, the tokens are revoked
 * once. Business data writes are printed as CXone receives them.
 */

const COUNT = 30;
const MEDIA_NAMES = {
  call: 'Call',
  'unrecorded-call': 'Call',
  chat: 'Chat',
  digital: 'Digital',
  email: 'Email',
};
const tty = process.stdout.isTTY === true;
const color = (code: number) => (text: string) => (tty ? `\x1b[${code}m${text}\x1b[0m` : text);
const green = color(32);
const red = color(31);
const dim = color(2);
const bold = color(1);
const say = (line = '') => process.stdout.write(`${line}\n`);

export async function runPlatformDemo(keepConsole = false): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'qm-demo-platform-'));
  const token = randomBytes(24).toString('hex');
  const sim = createPlatformSimulator({ latencyMs: 20, tokenTtlSeconds: 90 });
  const simServer = await sim.listen(0);
  const loaded = loadConfig({
    ...settingsForPlatformSimulator(sim, simServer.url),
    PORT: '0',
    DATABASE_PATH: join(dir, 'qm.sqlite'),
    STUDIO_WEBHOOK_TOKEN: token,
    CXONE_BUSINESS_DATA_FIELDS: 'score=QA_Score,result=QA_Result,rubric=QA_Rubric,summary=QA_Summary',
    WORKER_CONCURRENCY: '4',
    CXONE_MAX_REQUESTS_PER_MINUTE: '900',
    SWEEP_INTERVAL_SECONDS: '3',
    TRANSCRIPT_FIRST_CHECK_SECONDS: '0.5',
    TRANSCRIPT_RETRY_SECONDS: '0.5',
    RETRY_BASE_SECONDS: '0.3',
    SHUTDOWN_GRACE_SECONDS: '2',
  });
  if (!loaded.ok) throw new StartupError(loaded.problems, EXIT.config);
  const logFile = join(dir, 'service.log');
  const log = createLogger('info', pino.destination({ dest: logFile, sync: false }));
  const service = await startService(loaded.config, { clock: systemClock, log, owner: processOwner('demo') });
  await service.ready;

  say(bold('CXone QM autoscore: demo of the platform profile (NICE CXone documented APIs)'));
  say(
    dim(
      `service ${service.url}  ·  CXone simulator ${simServer.url} (20 ms per call)  ·  ${loaded.config.databasePath}`,
    ),
  );
  say(dim('discovery, password grant (HTTP Basic), API host from the token tenantId: done at start-up'));
  say(dim(`service log (pino JSON): ${logFile}`));
  say();

  const now = Date.now();
  const samples = generatePlatformSamples(COUNT, 11, {
    endAt: now,
    spacingMs: 1_000,
    withoutAgentRate: 0.04,
    unrecordedRate: 0.08,
  }).reverse();
  // Faults CXone really produces: 429s without Retry-After, a 503, revoked tokens (below).
  sim.failNext('contactMedia', { status: 429, count: 2 });
  sim.failNext('businessData', { status: 503 });

  let printed = 0;
  const printWrites = () => {
    for (const write of sim.businessDataWrites.slice(printed)) {
      printed++;
      const fields = write.body[0] ?? {};
      const result = String(fields.QA_Result ?? '');
      say(
        `  ${dim(new Date(write.at).toISOString().slice(11, 23))}  contact ${write.contactId}  ${bold(String(fields.QA_Score ?? '').padStart(6))}  ${result === 'pass' ? green(result) : red(result)}  ${dim(String(fields.QA_Summary ?? ''))}`,
      );
    }
  };
  const printer = setInterval(printWrites, 100);

  say(bold(`${COUNT} contacts end, one every 150 ms; business data as CXone receives it:`));
  const pushes: Promise<unknown>[] = [];
  for (const [i, sample] of samples.entries()) {
    const at = Date.now();
    const c = sample.contact;
    const start = typeof c.startTime === 'number' ? c.startTime : Date.parse(c.startTime);
    const end = typeof c.endTime === 'number' ? c.endTime : Date.parse(c.endTime);
    // Shift the sample to end now; some calls' last segment is analysed a few seconds later.
    const shift = at - end;
    sim.addContact({
      ...c,
      startTime: start + shift,
      endTime: at,
      ...(c.segments
        ? {
            segments: c.segments.map((s, k) => ({
              ...s,
              startTime: Number(s.startTime) + shift,
              endTime: Number(s.endTime) + shift,
              analysedAt: at + (i % 4 === 1 && k === c.segments!.length - 1 ? 2_500 : 300),
            })),
          }
        : {}),
      ...(c.messages
        ? { messages: c.messages.map((m) => ({ ...m, timeStamp: Number(m.timeStamp) + shift })) }
        : {}),
    });
    // Every fifth contact's Studio call is lost: only the sweep over Reporting finds it.
    if (i % 5 !== 4) {
      pushes.push(
        deliverStudioCall({
          url: service.url,
          token,
          contactId: c.contactId,
          agentId: c.agentId ?? null,
          mediaType: MEDIA_NAMES[sample.kind],
        }),
      );
    }
    if (i === 8) {
      const forged = await deliverStudioCall({
        url: service.url,
        token: 'not-the-token',
        contactId: c.contactId,
      });
      if (forged !== 401) throw new Error(`a Studio call with a wrong token answered ${forged}`);
    }
    if (i === COUNT / 2) sim.revokeTokens(); // a 401: the client refreshes once and repeats
    await new Promise((r) => setTimeout(r, 150));
  }
  await Promise.all(pushes);

  const { store, gaveUp } = await waitUntilEveryJobEnds(loaded.config.databasePath, COUNT, 'contact');
  if (gaveUp) {
    say(red(gaveUp));
    process.exitCode = EXIT.unexpected;
  }
  clearInterval(printer);
  printWrites();
  const rows = listJobs(store);
  store.close();

  say();
  say(bold('Results'));
  say(dim('  contact        agent   channel  found by  score   status'));
  for (const r of rows) {
    const score = r.overallScore === null ? '     -' : r.overallScore.toFixed(2).padStart(6);
    const status =
      r.state === 'submitted'
        ? green('scored, written back')
        : r.state === 'skipped'
          ? dim(`skipped: ${r.reason}`)
          : red(`${r.state}: ${r.reason}`);
    const notes = r.transcriptChecks ? dim(`  (${r.transcriptChecks}× not analysed yet)`) : '';
    say(
      `  ${r.conversationId.padEnd(13)}  ${(r.agentId ?? '-').padEnd(6)}  ${(r.mediaType ?? '-').padEnd(7)}  ${(r.source === 'webhook' ? 'studio' : r.source).padEnd(8)}  ${score}  ${status}${notes}`,
    );
  }
  const writesPer = new Map<string, number>();
  for (const w of sim.businessDataWrites) writesPer.set(w.contactId, (writesPer.get(w.contactId) ?? 0) + 1);
  const twice = [...writesPer.values()].filter((n) => n > 1).length;
  const submitted = rows.filter((r) => r.state === 'submitted').length;
  say();
  say(
    `${bold(String(submitted))} scored, ${rows.filter((r) => r.state === 'skipped').length} skipped, ` +
      `${rows.filter((r) => r.state === 'failed').length} failed; ${rows.filter((r) => r.source === 'sweep').length} found by the sweep.`,
  );
  say(
    `${twice === 0 ? green('no contact written twice') : red(`${twice} contact(s) written twice`)}; ` +
      `${sim.callLog.length} CXone calls (${sim.callsOf('token').length} token, ${sim.callsOf('segmentTranscript').length} IA, ${sim.callsOf('contactMedia').length} Media Playback), ` +
      `at most ${sim.maxCallsInAnyWindow()} in any minute (budget ${loaded.config.cxone.maxRequestsPerMinute}).`,
  );
  if (twice > 0 || writesPer.size !== submitted) process.exitCode = EXIT.unexpected;
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

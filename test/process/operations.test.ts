/**
 * What an operator running the service for a year relies on, with the real process: a backup taken
 * while webhooks stream in holds every delivery answered before it started; /metrics on the admin
 * listener behind METRICS_TOKEN; a wrong signing secret warned about, counted and shown by status.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { deliverWebhook, webhookEvent } from '../../src/simulator/index.js';
import {
  addConversations,
  announce,
  freePort,
  QM_SOURCE,
  REPO_ROOT,
  useProcessFixture,
  waitForHttp,
} from '../support/process.js';
import { makeWebhookSecret } from '../support/signing.js';
import { waitFor } from '../support/wait.js';

const run = promisify(execFile);
const fx = useProcessFixture();

/** `qm ARGS` as an operator runs it (from the source, clean environment), without blocking the test. */
function command(args: string[], env: Record<string, string>) {
  return run(process.execPath, ['--import', 'tsx', QM_SOURCE, ...args], { cwd: REPO_ROOT, env }).then(
    (r) => ({ code: 0, ...r }),
    (e: { code: number; stdout: string; stderr: string }) => e,
  );
}

describe('operations', () => {
  it('a backup taken while the service takes webhooks opens with every delivery answered before it began', async () => {
    // No transcript checks during the test: the worker stays quiet, the webhooks are the load.
    const { url } = await fx.startService({ TRANSCRIPT_FIRST_CHECK_SECONDS: '3600' });
    const env = await fx.settings();
    const accepted: { webhookId: string; at: number }[] = [];
    let stop = false;
    const send = async (lane: number) => {
      for (let i = 0; !stop; i++) {
        const body = JSON.stringify(
          webhookEvent('conversation.ended', { conversation_id: `conv-${lane}-${i}`, agent_id: 'agent-1' }),
        );
        const r = await deliverWebhook({ url, secret: fx.secret, body });
        if (r.status === 202) accepted.push({ webhookId: r.webhookId, at: Date.now() });
      }
    };
    const lanes = [0, 1, 2, 3].map(send);
    await waitFor('some deliveries', () => accepted.length >= 200, 20_000);
    const startedAt = Date.now();
    const before = accepted.filter((a) => a.at < startedAt).map((a) => a.webhookId);
    const file = join(fx.dir, 'backup.sqlite');
    const backup = await command(['backup', file], env);
    const countDuring = accepted.length;
    // Deliveries kept coming while the backup ran.
    await waitFor('more deliveries', () => accepted.length > countDuring + 20, 20_000);
    stop = true;
    await Promise.all(lanes);
    expect(backup.code, backup.stderr).toBe(0);
    expect(backup.stdout).toMatch(/integrity ok/);

    const copy = new Database(file, { readonly: true, fileMustExist: true });
    expect(copy.pragma('integrity_check', { simple: true })).toBe('ok');
    const ids = new Set(copy.prepare('SELECT webhook_id FROM webhook_events').pluck().all() as string[]);
    const missing = before.filter((id) => !ids.has(id));
    expect(missing).toEqual([]);
    // Each recorded delivery came with its job, in the same transaction.
    expect(copy.prepare('SELECT count(*) FROM jobs').pluck().get()).toBe(ids.size);
    copy.close();
  });

  it('/metrics on the admin listener behind METRICS_TOKEN; a wrong signing secret is warned about, counted and shown by status', async () => {
    const [id] = addConversations(fx.sim, 1, 'conv');
    const adminPort = await freePort();
    const token = 'metrics-token-for-the-test';
    const { child, url } = await fx.startService({
      ADMIN_PORT: String(adminPort),
      ADMIN_HOST: '127.0.0.1',
      METRICS_TOKEN: token,
    });
    const admin = `http://127.0.0.1:${adminPort}`;
    await waitForHttp(`${admin}/healthz`);
    await announce(url, fx.secret, fx.sim, id!);
    await waitFor('the evaluation', () => fx.sim.evaluationsFor(id!).length === 1, 15_000);
    // CXone signs with another secret: every delivery is refused.
    const wrong = makeWebhookSecret();
    for (let i = 0; i < 3; i++) {
      const body = JSON.stringify(webhookEvent('conversation.ended', { conversation_id: `x-${i}` }));
      expect((await deliverWebhook({ url, secret: wrong, body })).status).toBe(401);
    }

    expect((await fetch(`${url}/metrics`)).status).toBe(404);
    expect((await fetch(`${admin}/metrics`)).status).toBe(401);
    const text = await waitFor('the job counted', async () => {
      const res = await fetch(`${admin}/metrics`, { headers: { authorization: `Bearer ${token}` } });
      const body = await res.text();
      return /^qm_jobs_total\{outcome="submitted",reason="none"\} 1$/m.test(body) ? body : undefined;
    });
    expect(text).toMatch(/^qm_webhooks_total\{outcome="accepted"\} 2$/m);
    expect(text).toMatch(/^qm_webhooks_total\{outcome="invalid_signature"\} 3$/m);
    expect(text).toMatch(/^qm_webhook_signature_failures_total\{reason="no_match"\} 3$/m);
    expect(text).toMatch(/^qm_cxone_requests_total\{call="submitEvaluation",status="201"\} 1$/m);
    expect(text).toMatch(/^qm_cxone_request_duration_seconds_count\{call="getTranscript"\} 1$/m);
    expect(text).toMatch(/^qm_evaluation_score_count 1$/m);
    expect(text).toMatch(/^qm_queue_jobs\{state="due"\} 0$/m);
    expect(text).toMatch(/^process_resident_memory_bytes \d+/m);

    // One warning for the first refusal (the next ones wait for the minute to end), naming the setting.
    const warnings = child
      .logLines()
      .filter((l) => l.level === 40 && /refused for their signature/.test(String(l.msg)));
    expect(warnings).toHaveLength(1);
    expect(String(warnings[0]!.hint)).toContain('WEBHOOK_SECRET');
    // The first refusal's count is in the database at once: status, another process, shows it.
    const status = await command(['status'], await fx.settings());
    expect(status.code, status.stderr).toBe(0);
    expect(status.stdout).toMatch(/webhooks refused for their signature: [1-3] in the last hour/);
  });
});

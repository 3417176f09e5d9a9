/**
 * The production start as the README and the Dockerfile give it: `node dist/main.js` in the app
 * folder, node itself the process, so the PID an operator (or `docker stop`) signals is the service's.
 * Runs a fresh build of the current source (never a stale dist/), as `npm ci` builds it.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { deliverWebhook, webhookEvent } from '../../src/simulator/index.js';
import { buildProduction, spawnChild, useProcessFixture, waitForHttp } from '../support/process.js';

const fx = useProcessFixture();
let app: string;
beforeAll(() => {
  app = buildProduction();
}, 120_000);

describe('node dist/main.js', () => {
  it('serves, and SIGTERM to its PID drains and exits 0', async () => {
    const env = await fx.settings();
    const url = `http://127.0.0.1:${env.PORT}`;
    const child = spawnChild(['dist/main.js'], env, app);
    await waitForHttp(`${url}/readyz`, 200, 20_000);

    const body = JSON.stringify(webhookEvent('transcript.ready', { conversation_id: 'conv-prod-1' }));
    expect((await deliverWebhook({ url, secret: fx.secret, body })).status).toBe(202);

    child.process.kill('SIGTERM');
    const exit = await child.exited;
    expect(exit, child.stderr).toEqual({ code: 0, signal: null });
    const messages = child.logLines().map((l) => l.msg);
    expect(messages).toContain('shutting down');
    expect(messages.at(-1)).toBe('stopped');
  });

  it('the compiled bin runs from dist/ and prints only its answer on stdout', async () => {
    const child = spawnChild(['dist/cli/qm.js', '--version'], await fx.settings(), app);
    const exit = await child.exited;
    const pkg = JSON.parse(readFileSync(join(app, 'package.json'), 'utf8')) as { version: string };
    expect(exit.code, child.stderr).toBe(0);
    expect(child.stdout).toBe(`${pkg.version}\n`);
  });
});

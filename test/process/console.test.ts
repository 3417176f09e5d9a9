/**
 * The console and the results API as `npm start` serves them: conversations that end are scored,
 * kept as results, and readable with an API token made by `npm run user`; the console asks for a
 * session; transcript text never reaches the log.
 */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import {
  addConversations,
  announce,
  freePort,
  TRANSCRIPT_MARKER,
  useProcessFixture,
} from '../support/process.js';
import { waitFor } from '../support/wait.js';

const fx = useProcessFixture();

function userCommand(args: string[], input = '') {
  return spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/qm.ts', 'user', ...args], {
    encoding: 'utf8',
    input,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', DATABASE_PATH: fx.dbPath },
  });
}

describe('npm start serves the results', { timeout: 120_000 }, () => {
  it('keeps each evaluated conversation as a result, readable through the API with a token', async () => {
    const { child, url } = await fx.startService();
    const ids = addConversations(fx.sim, 5, 'conv');
    for (const id of ids) await announce(url, fx.secret, fx.sim, id);
    await waitFor('five evaluations', () => fx.sim.evaluations.length === 5, 20_000);

    expect(userCommand(['add', 'bi-robot', '--role', 'viewer'], 'a long enough password\n').status).toBe(0);
    const token = userCommand(['token', 'bi-robot']).stdout.trim();
    expect((await fetch(`${url}/api/v1/results`)).status).toBe(401);
    const res = await fetch(`${url}/api/v1/results?limit=10`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as {
      results: {
        conversation_id: string;
        agent_id: string;
        overall_score: number;
        rules: unknown[];
        delivery: { state: string; id: string };
      }[];
      next_cursor: string | null;
    };
    expect(body.results.map((r) => r.conversation_id).sort()).toEqual([...ids].sort());
    const evaluation = fx.sim.evaluationsFor(ids[0]!)[0]!;
    const result = body.results.find((r) => r.conversation_id === ids[0])!;
    expect(result.overall_score).toBe(evaluation.body.overall_score);
    expect(result.delivery).toMatchObject({ state: 'delivered', id: evaluation.id });
    expect(result.rules).toHaveLength(4);
    expect(body.next_cursor).toBeNull();

    const page = await fetch(`${url}/console/conversations`, { redirect: 'manual' });
    expect(page.status).toBe(303);
    expect(page.headers.get('location')).toBe('/console/login?next=%2Fconsole%2Fconversations');
    // The transcripts are stored, but their words never reach the log.
    expect(child.stdout).not.toContain(TRANSCRIPT_MARKER);
    const db = fx.openDb();
    expect((db.prepare('SELECT count(*) AS n FROM transcripts').get() as { n: number }).n).toBe(5);
  });

  it('with ADMIN_PORT, the console and the API are on the admin listener only', async () => {
    const adminPort = await freePort();
    const { url } = await fx.startService({ ADMIN_PORT: String(adminPort), ADMIN_HOST: '127.0.0.1' });
    const admin = `http://127.0.0.1:${adminPort}`;
    expect((await fetch(`${admin}/console/login`)).status).toBe(200);
    expect((await fetch(`${admin}/api/v1/results`)).status).toBe(401);
    expect((await fetch(`${url}/console/login`)).status).toBe(404);
    expect((await fetch(`${url}/api/v1/results`)).status).toBe(404);
  });
});

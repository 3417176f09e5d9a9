import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../../src/clock.js';
import { createSlidingWindowBudget } from '../../../src/cxone/budget.js';
import { readJwtClaims } from '../../../src/cxone/platform/client.js';
import { createUndiciTransport } from '../../../src/cxone/transport.js';
import type { PlatformSimContact } from '../../../src/simulator/index.js';
import {
  countingBudget,
  type PlatformSimulatorHarness,
  startPlatformSimulator,
} from '../../support/platform-simulator.js';

const T0 = Date.UTC(2026, 0, 5, 10, 0, 0);
let harness: PlatformSimulatorHarness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

function contact(id: string, extra: Partial<PlatformSimContact> = {}): PlatformSimContact {
  return {
    contactId: id,
    agentId: '789',
    media: 'call',
    startTime: T0,
    endTime: T0 + 60_000,
    segments: [
      {
        segmentId: `${id}-s1`,
        startTime: T0,
        endTime: T0 + 60_000,
        blocks: [{ side: 'AGENT', text: 'Hello', startMs: 1_000 }],
      },
    ],
    ...extra,
  };
}

const since = new Date(T0 - 3_600_000).toISOString();

describe('platform client: authentication', () => {
  it('discovers the token endpoint, grants with the access key and HTTP Basic, finds the API host from tenantId, then caches', async () => {
    harness = await startPlatformSimulator();
    const { sim } = harness;
    sim.addContact(contact('1001'));
    const client = harness.client();
    expect(await client.contactMedia('1001')).toMatchObject({ ok: true });
    expect(await client.segmentTranscript('1001-s1')).toMatchObject({ ok: true, value: [{ text: 'Hello' }] });
    expect(sim.callLog.map((e) => e.call)).toEqual([
      'oidcDiscovery',
      'token',
      'apiDiscovery',
      'contactMedia',
      'segmentTranscript',
    ]);
    const [token] = sim.callsOf('token');
    expect(token).toMatchObject({ grantType: 'password', clientAuth: 'basic', status: 200 });
    expect(sim.callsOf('apiDiscovery')[0]!.query).toEqual({ tenantId: sim.tenantId });
  });

  it('sends the client in the form when discovery offers only client_secret_post', async () => {
    harness = await startPlatformSimulator({ clientAuth: 'post' });
    const client = harness.client();
    expect(await client.connect()).toMatchObject({ ok: true });
    expect(harness.sim.callsOf('token')[0]).toMatchObject({ clientAuth: 'post', status: 200 });
  });

  it('CXONE_API_ENDPOINT skips the API host discovery', async () => {
    harness = await startPlatformSimulator();
    const client = harness.client({ apiEndpoint: `${harness.url}${harness.sim.apiPrefix}` });
    expect(await client.connect()).toMatchObject({ ok: true });
    expect(harness.sim.callsOf('apiDiscovery')).toEqual([]);
  });

  it('refreshes shortly before expires_in with the refresh token, and grants anew when that is refused', async () => {
    const clock = new ManualClock(T0 + 120_000);
    harness = await startPlatformSimulator({ clock, tokenTtlSeconds: 600 });
    const { sim } = harness;
    sim.addContact(contact('1002'));
    const client = harness.client();
    expect(await client.contactMedia('1002')).toMatchObject({ ok: true });
    await clock.advance(541_000); // past 90 % of 600 s
    expect(await client.contactMedia('1002')).toMatchObject({ ok: true });
    expect(sim.callsOf('token').map((e) => e.grantType)).toEqual(['password', 'refresh_token']);

    sim.revokeRefreshTokens();
    await clock.advance(541_000);
    expect(await client.contactMedia('1002')).toMatchObject({ ok: true });
    expect(sim.callsOf('token').map((e) => [e.grantType, e.status])).toEqual([
      ['password', 200],
      ['refresh_token', 200],
      ['refresh_token', 400],
      ['password', 200],
    ]);
  });

  it('a token said to live 0 s (or a year) is believed as the tutorial profile believes it: 2 min .. 24 h', async () => {
    const clock = new ManualClock(T0 + 120_000);
    harness = await startPlatformSimulator({ clock, tokenTtlSeconds: 3 * 86_400 });
    const { sim } = harness;
    sim.addContact(contact('1005'));
    let statedSeconds = 0;
    // The token endpoint's answer with its expires_in replaced; the token itself stays good.
    const { transport } = createUndiciTransport();
    const client = harness.client({
      fetch: async (url, init) => {
        const answer = await transport(url, init);
        if (!url.endsWith('/auth/token')) return answer;
        const body = JSON.parse(await answer.text()) as Record<string, unknown>;
        const text = JSON.stringify({ ...body, expires_in: statedSeconds });
        return { status: answer.status, headers: answer.headers, text: async () => text };
      },
    });
    const grants = () => sim.tokensIssued;
    for (let i = 0; i < 5; i++) expect(await client.contactMedia('1005')).toMatchObject({ ok: true });
    expect(grants()).toBe(1);
    // Refreshed a minute after it was obtained (90 % of 2 min would be later), not before.
    await clock.advance(59_000);
    await client.contactMedia('1005');
    expect(grants()).toBe(1);
    await clock.advance(2_000);
    await client.contactMedia('1005');
    expect(grants()).toBe(2);
    // A year is believed for a day at most.
    statedSeconds = 365 * 86_400;
    await clock.advance(61_000);
    await client.contactMedia('1005');
    expect(grants()).toBe(3);
    await clock.advance(86_400_000 * 0.9 - 1_000);
    await client.contactMedia('1005');
    expect(grants()).toBe(3);
    await clock.advance(2_000);
    await client.contactMedia('1005');
    expect(grants()).toBe(4);
  });

  it('a 401 gets one new token (one grant in flight for every caller) and one repeat', async () => {
    harness = await startPlatformSimulator();
    const { sim } = harness;
    sim.addContact(contact('1003'));
    const client = harness.client();
    expect(await client.connect()).toMatchObject({ ok: true });
    sim.revokeTokens();
    const answers = await Promise.all(Array.from({ length: 5 }, () => client.contactMedia('1003')));
    expect(answers.every((a) => a.ok)).toBe(true);
    expect(sim.callsOf('token').map((e) => e.grantType)).toEqual(['password', 'refresh_token']);
    // Each call repeated at most once after its 401.
    expect(sim.callsOf('contactMedia').filter((e) => e.status === 200)).toHaveLength(5);
  });

  it('names the setting CXone refused', async () => {
    harness = await startPlatformSimulator();
    const badKey = harness.client({ accessKeySecret: 'wrong' });
    const refused = await badKey.connect();
    expect(refused).toMatchObject({
      ok: false,
      error: { kind: 'unauthorized', call: 'token', retryable: false },
    });
    if (!refused.ok) expect(refused.error.message).toMatch(/CXONE_ACCESS_KEY_ID.*invalid_grant/);
    const badApp = harness.client({ clientSecret: 'wrong' });
    const app = await badApp.connect();
    if (!app.ok) expect(app.error.message).toMatch(/CXONE_CLIENT_ID.*invalid_client/);
    else throw new Error('expected a refusal');
  });

  it('a wrong issuer is an error naming CXONE_ISSUER', async () => {
    harness = await startPlatformSimulator();
    const client = harness.client({ issuer: `${harness.url}/nowhere` });
    const answer = await client.connect();
    expect(answer).toMatchObject({ ok: false, error: { call: 'oidcDiscovery', retryable: false } });
    if (!answer.ok) expect(answer.error.message).toMatch(/CXONE_ISSUER/);
  });

  it('reads the tenantId claim of the JWT', () => {
    const token = `x.${Buffer.from(JSON.stringify({ tenantId: 't-1' })).toString('base64url')}.y`;
    expect(readJwtClaims(token)).toEqual({ tenantId: 't-1' });
    expect(readJwtClaims('garbage')).toBeNull();
    expect(readJwtClaims('a.!!!.b')).toBeNull();
  });
});

describe('platform client: the budget and rate limits', () => {
  it('every call, discovery and token included, takes a budget slot of its API family', async () => {
    harness = await startPlatformSimulator();
    harness.sim.addContact(contact('2001'));
    const budget = countingBudget(
      createSlidingWindowBudget({ maxPerMinute: 1_000, clock: { now: Date.now, sleep: async () => {} } }),
    );
    const client = harness.client({ budget });
    await client.completedContacts({ updatedSince: since, skip: 0, top: 10 });
    await client.contactMedia('2001');
    await client.segmentTranscript('2001-s1');
    await client.writeBusinessData('2001', [{ QA_Score: '1.00' }]);
    expect(budget.acquired).toEqual([
      'cxone-auth',
      'cxone-auth',
      'cxone-auth',
      'cxone-reporting',
      'cxone-mediaPlayback',
      'cxone-interactionAnalytics',
      'cxone-businessData',
    ]);
    expect(budget.acquired).toHaveLength(harness.sim.callLog.length);
  });

  it('a 429 without Retry-After pauses that API only, backs off and repeats', async () => {
    harness = await startPlatformSimulator();
    harness.sim.addContact(contact('2002'));
    const budget = countingBudget(
      createSlidingWindowBudget({ maxPerMinute: 1_000, clock: { now: Date.now, sleep: async () => {} } }),
    );
    const client = harness.client({ budget });
    await client.connect();
    harness.sim.failNext('segmentTranscript', { status: 429, count: 2 });
    expect(await client.segmentTranscript('2002-s1')).toMatchObject({ ok: true });
    expect(budget.pauses.map((p) => p.scope)).toEqual([
      'cxone-interactionAnalytics',
      'cxone-interactionAnalytics',
    ]);
    expect(harness.sim.callsOf('segmentTranscript').map((e) => e.status)).toEqual([429, 429, 200]);
  });
});

describe('platform client: answers', () => {
  it('pages completed contacts with exact int64 ids; 204 is an empty last page; bad rows are refused alone', async () => {
    harness = await startPlatformSimulator();
    const { sim } = harness;
    sim.addContact(contact('9007199254740993'));
    sim.addContact(contact('1004', { agentId: null, endTime: T0 + 70_000 }));
    const client = harness.client();
    const first = await client.completedContacts({ updatedSince: since, skip: 0, top: 1 });
    expect(first).toMatchObject({
      ok: true,
      value: {
        contacts: [{ contactId: '9007199254740993', agentId: '789', mediaTypeName: 'Call' }],
        more: true,
      },
    });
    if (first.ok) expect(first.value.contacts[0]!.endTime).toBe(new Date(T0 + 60_000).toISOString());
    const second = await client.completedContacts({ updatedSince: since, skip: 1, top: 1 });
    expect(second).toMatchObject({ ok: true, value: { contacts: [{ contactId: '1004', agentId: null }] } });
    const none = await client.completedContacts({ updatedSince: since, skip: 2, top: 1 });
    expect(none).toEqual({ ok: true, value: { contacts: [], refused: [], lastPollTime: null, more: false } });

    sim.failNext('completedContacts', {
      status: 200,
      body: { completedContacts: [{ contactId: '..' }, { contactId: 55, agentId: 0 }], lastPollTime: 'x' },
    });
    const mixed = await client.completedContacts({ updatedSince: since, skip: 0, top: 10 });
    expect(mixed).toMatchObject({
      ok: true,
      value: {
        contacts: [{ contactId: '55', agentId: null }],
        refused: [{ index: 0, reason: 'completedContacts.0.contactId is not an int64 id' }],
      },
    });
  });

  it('an answer of the wrong shape is an error naming the call and the field', async () => {
    harness = await startPlatformSimulator();
    const client = harness.client();
    harness.sim.failNext('completedContacts', { status: 200, body: { completedContacts: 'nope' } });
    const answer = await client.completedContacts({ updatedSince: since, skip: 0, top: 10 });
    expect(answer).toMatchObject({ ok: false, error: { kind: 'bad_response', call: 'completedContacts' } });
    if (!answer.ok)
      expect(answer.error.message).toMatch(
        /^completedContacts: unexpected response shape at completedContacts:/,
      );
    harness.sim.failNext('segmentTranscript', { status: 200, body: '<html>' });
    const html = await client.segmentTranscript('s');
    if (!html.ok) expect(html.error.message).toBe('segmentTranscript: response body is not JSON');
  });

  it('refuses a segment id that is a dot segment, in an answer or asked for', async () => {
    harness = await startPlatformSimulator();
    const client = harness.client();
    harness.sim.failNext('contactMedia', {
      status: 200,
      body: { interactions: [{ '@type': 'call', data: { segmentsDataList: [{ segmentId: '..' }] } }] },
    });
    const media = await client.contactMedia('1');
    expect(media).toMatchObject({ ok: false, error: { kind: 'bad_response' } });
    if (!media.ok)
      expect(media.error.message).toMatch(
        /interactions\.0\.data\.segmentsDataList\.0\.segmentId: is a dot segment/,
      );
    expect(await client.segmentTranscript('..')).toMatchObject({
      ok: false,
      error: { kind: 'bad_response' },
    });
    expect(harness.sim.callsOf('segmentTranscript')).toEqual([]);
  });

  it('each family error body is read into the message; IA 404 and Media Playback 404 are not_ready', async () => {
    harness = await startPlatformSimulator();
    const { sim } = harness;
    sim.addContact(
      contact('3001', {
        segments: [
          {
            segmentId: 'late',
            startTime: T0,
            endTime: T0 + 1,
            blocks: [],
            analysedAt: Date.now() + 3_600_000,
          },
        ],
      }),
    );
    const client = harness.client({ transientRetries: 0 });
    expect(await client.segmentTranscript('late')).toMatchObject({
      ok: false,
      error: { kind: 'not_ready', retryable: true },
    });
    expect(await client.contactMedia('4242')).toMatchObject({ ok: false, error: { kind: 'not_ready' } });
    const unknownField = await client.writeBusinessData('3001', [{ QA_Scor: '1' }]);
    expect(unknownField).toMatchObject({
      ok: false,
      error: { kind: 'rejected', retryable: false, status: 400 },
    });
    if (!unknownField.ok)
      expect(unknownField.error.message).toMatch(
        /^businessData: HTTP 400: .*businessDataName: UNKNOWN_FIELD .*CXONE_BUSINESS_DATA_FIELDS/,
      );
    sim.failNext('segmentTranscript', { status: 500 });
    const server = await client.segmentTranscript('late');
    expect(server).toMatchObject({ ok: false, error: { kind: 'server', retryable: true } });
    if (!server.ok) expect(server.error.message).toBe('segmentTranscript: HTTP 500: Injected failure 500');
  });

  it('no IA licence: 403 is forbidden, saying which licence or permission', async () => {
    harness = await startPlatformSimulator({ iaLicensed: false });
    harness.sim.addContact(contact('3002'));
    const answer = await harness.client().segmentTranscript('3002-s1');
    expect(answer).toMatchObject({ ok: false, error: { kind: 'forbidden' } });
    if (!answer.ok) expect(answer.error.message).toMatch(/Interaction Analytics licence/);
  });

  it('a call that hangs is a timeout', async () => {
    harness = await startPlatformSimulator();
    const client = harness.client({ timeoutMs: 300, transientRetries: 0 });
    await client.connect();
    harness.sim.hangNext('contactMedia');
    expect(await client.contactMedia('1')).toMatchObject({
      ok: false,
      error: { kind: 'timeout', retryable: true },
    });
  });

  it('writes business data; secrets never appear in messages', async () => {
    harness = await startPlatformSimulator();
    const { sim } = harness;
    sim.addContact(contact('3003'));
    const client = harness.client();
    expect(await client.writeBusinessData('3003', [{ QA_Score: '85.50', QA_Result: 'pass' }])).toEqual({
      ok: true,
      value: undefined,
    });
    expect(sim.writesFor('3003')[0]!.body).toEqual([{ QA_Score: '85.50', QA_Result: 'pass' }]);
    sim.failNext('token', {
      status: 400,
      body: {
        error: 'invalid_request',
        error_description: `echo ${sim.accessKeySecret} ${encodeURIComponent(sim.clientSecret)}`,
      },
    });
    const echoed = await harness.client().connect();
    if (echoed.ok) throw new Error('expected a refusal');
    expect(echoed.error.message).not.toContain(sim.accessKeySecret);
    expect(echoed.error.message).not.toContain(encodeURIComponent(sim.clientSecret));
    expect(echoed.error.message).toMatch(/: invalid_request$/);
  });
});

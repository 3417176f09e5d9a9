import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { parseJsonKeepingBigIntegers } from '../../src/cxone/platform/json.js';
import {
  analyzedTranscriptSchema,
  apiDiscoverySchema,
  completedContactsSchema,
  contactMediaSchema,
  oidcDiscoverySchema,
  tokenAnswerSchema,
} from '../../src/cxone/platform/schemas.js';
import {
  createPlatformSimulator,
  type PlatformSimContact,
  type PlatformSimulatorOptions,
} from '../../src/simulator/index.js';

type Sim = ReturnType<typeof createPlatformSimulator>;
const T0 = Date.UTC(2026, 0, 5, 10, 0, 0);

function basic(id: string, secret: string): string {
  return `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;
}

async function grant(sim: Sim, body: Record<string, string>, headers: Record<string, string> = {}) {
  return sim.app.request('/auth/token', {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams(body).toString(),
  });
}

async function passwordGrant(sim: Sim) {
  const res = await grant(
    sim,
    { grant_type: 'password', username: sim.accessKeyId, password: sim.accessKeySecret },
    { authorization: basic(sim.clientId, sim.clientSecret) },
  );
  expect(res.status).toBe(200);
  return tokenAnswerSchema.parse(await res.json());
}

function call(
  media: PlatformSimContact['media'],
  id: string,
  extra: Partial<PlatformSimContact> = {},
): PlatformSimContact {
  return {
    contactId: id,
    agentId: '789',
    media,
    startTime: T0,
    endTime: T0 + 120_000,
    segments: [
      {
        segmentId: `${id}-s1`,
        startTime: T0,
        endTime: T0 + 60_000,
        blocks: [{ side: 'AGENT', text: 'Hello', startMs: 1000 }],
      },
      {
        segmentId: `${id}-s2`,
        startTime: T0 + 60_000,
        endTime: T0 + 120_000,
        blocks: [{ side: 'CLIENT', text: 'Bye', startMs: 2000 }],
        analysedAt: T0 + 600_000,
      },
    ],
    ...extra,
  };
}

function setup(options: PlatformSimulatorOptions = {}) {
  const clock = new ManualClock(T0 + 180_000);
  const sim = createPlatformSimulator({ clock, ...options });
  return { sim, clock };
}

async function api(sim: Sim, token: string, path: string, init: RequestInit = {}) {
  return sim.app.request(`${sim.apiPrefix}${path}`, {
    ...init,
    headers: { authorization: `Bearer ${token}`, accept: 'application/json', ...(init.headers ?? {}) },
  });
}

describe('platform simulator: authentication as documented', () => {
  it('discovery names the token endpoint and client_secret_basic', async () => {
    const { sim } = setup();
    const doc = oidcDiscoverySchema.parse(
      await (await sim.app.request('/.well-known/openid-configuration')).json(),
    );
    expect(doc.token_endpoint).toBe('http://localhost/auth/token');
    expect(doc.token_endpoint_auth_methods_supported).toEqual(['client_secret_basic']);
  });

  it('the password grant needs the app as HTTP Basic and the access key; the JWT carries tenantId', async () => {
    const { sim } = setup();
    const answer = await passwordGrant(sim);
    expect(answer.expires_in).toBe(3600);
    expect(answer.refresh_token).toBeTruthy();
    const claims = JSON.parse(Buffer.from(answer.access_token.split('.')[1]!, 'base64url').toString());
    expect(claims.tenantId).toBe(sim.tenantId);

    const post = await grant(sim, {
      grant_type: 'password',
      username: sim.accessKeyId,
      password: sim.accessKeySecret,
      client_id: sim.clientId,
      client_secret: sim.clientSecret,
    });
    expect(post.status).toBe(400);
    expect(await post.json()).toMatchObject({ error: 'invalid_client' });
    const wrongKey = await grant(
      sim,
      { grant_type: 'password', username: sim.accessKeyId, password: 'nope' },
      { authorization: basic(sim.clientId, sim.clientSecret) },
    );
    expect(await wrongKey.json()).toMatchObject({ error: 'invalid_grant' });
    expect((await grant(sim, { grant_type: 'client_credentials' })).status).toBe(400);
    expect(sim.callsOf('token').map((e) => e.clientAuth)).toEqual(['basic', 'post', 'basic', 'none']);
  });

  it('accepts client_secret_post when configured so', async () => {
    const { sim } = setup({ clientAuth: 'post' });
    const res = await grant(sim, {
      grant_type: 'password',
      username: sim.accessKeyId,
      password: sim.accessKeySecret,
      client_id: sim.clientId,
      client_secret: sim.clientSecret,
    });
    expect(res.status).toBe(200);
  });

  it('tokens expire; a refresh token is good once', async () => {
    const { sim, clock } = setup({ tokenTtlSeconds: 60 });
    const first = await passwordGrant(sim);
    expect((await api(sim, first.access_token, '/media-playback/v1/contacts?acd-call-id=1')).status).toBe(
      404,
    );
    await clock.advance(61_000);
    const expired = await api(sim, first.access_token, '/media-playback/v1/contacts?acd-call-id=1');
    expect(expired.status).toBe(401);
    expect(await expired.json()).toEqual({ internalCode: '401', message: expect.any(String) });

    const refresh = {
      grant_type: 'refresh_token',
      client_id: sim.clientId,
      refresh_token: first.refresh_token!,
    };
    const refreshed = await grant(sim, refresh);
    expect(refreshed.status).toBe(200);
    expect((await grant(sim, refresh)).status).toBe(400);
  });

  it('tenant discovery answers api_endpoint for the token tenant only', async () => {
    const { sim } = setup();
    const res = await sim.app.request(`/.well-known/cxone-configuration?tenantId=${sim.tenantId}`);
    expect(apiDiscoverySchema.parse(await res.json()).api_endpoint).toBe(`http://localhost${sim.apiPrefix}`);
    expect((await sim.app.request('/.well-known/cxone-configuration?tenantId=other')).status).toBe(404);
  });
});

describe('platform simulator: Reporting completed contacts', () => {
  it('pages with top/skip in lastUpdateTime order, _links.next, lastPollTime, exact int64 ids; 204 when none', async () => {
    const { sim, clock } = setup();
    const big = '9007199254740993';
    sim.addContact(call('call', '1001', { endTime: T0 + 60_000 }));
    sim.addContact(call('call', big, { endTime: T0 + 30_000, agentId: null, segments: [] }));
    sim.addContact(call('call', '1003', { endTime: T0 + 90_000 }));
    const { access_token } = await passwordGrant(sim);
    const base = '/inContactAPI/services/v34.0/contacts/completed';
    const since = new Date(T0 - 3_600_000).toISOString();
    const res = await api(
      sim,
      access_token,
      `${base}?updatedSince=${since}&orderBy=lastUpdateTime%20asc&top=2&skip=0`,
    );
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text).toContain(`"contactId":${big}`);
    const page = completedContactsSchema.parse(parseJsonKeepingBigIntegers(text));
    expect(page.completedContacts.map((c) => c.contactId)).toEqual([big, 1001]);
    expect(page.completedContacts[0]!.agentId).toBe(0);
    expect(page.lastPollTime).toBe(new Date(clock.now()).toISOString());
    expect(page.totalRecords).toBe(3);
    const next = new URL(page._links!.next!);
    expect(next.searchParams.get('skip')).toBe('2');

    const second = await api(sim, access_token, `${base}${next.search}`);
    const rows = completedContactsSchema.parse(parseJsonKeepingBigIntegers(await second.text()));
    expect(rows.completedContacts.map((c) => c.contactId)).toEqual([1003]);
    expect(rows._links?.next).toBeUndefined();

    const none = await api(sim, access_token, `${base}?updatedSince=${new Date(clock.now()).toISOString()}`);
    expect(none.status).toBe(204);
    expect(await none.text()).toBe('');
  });

  it('a segment analysed later moves the contact lastUpdateTime, so an incremental poll sees it again', async () => {
    const { sim, clock } = setup();
    sim.addContact(call('call', '2001'));
    const { access_token } = await passwordGrant(sim);
    const base = '/inContactAPI/services/v34.0/contacts/completed';
    const poll = new Date(clock.now()).toISOString();
    expect((await api(sim, access_token, `${base}?updatedSince=${poll}`)).status).toBe(204);
    await clock.advance(600_000);
    const res = await api(sim, access_token, `${base}?updatedSince=${poll}`);
    const page = completedContactsSchema.parse(await res.json());
    expect(page.completedContacts[0]).toMatchObject({ contactId: 2001, isAnalyticsProcessed: true });
  });

  it('refuses malformed parameters with the ACD error body', async () => {
    const { sim } = setup();
    const { access_token } = await passwordGrant(sim);
    const res = await api(
      sim,
      access_token,
      '/inContactAPI/services/v34.0/contacts/completed?updatedSince=yesterday',
    );
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({
      error: 'InvalidRequest',
      error_description: expect.stringMatching(/updatedSince/),
    });
  });
});

describe('platform simulator: transcripts', () => {
  it('Media Playback lists a call segments, a chat messages', async () => {
    const { sim } = setup();
    sim.addContact(call('call', '3001'));
    sim.addContact({
      contactId: '3002',
      agentId: '789',
      media: 'chat',
      startTime: T0,
      endTime: T0 + 60_000,
      messages: [{ participantType: 'AGENT', text: 'Hi', timeStamp: T0 + 1000 }],
    });
    const { access_token } = await passwordGrant(sim);
    const voice = contactMediaSchema.parse(
      await (
        await api(
          sim,
          access_token,
          '/media-playback/v1/contacts?acd-call-id=3001&media-type=all&exclude-waveforms=true',
        )
      ).json(),
    );
    expect(voice.interactions[0]!.data!.segmentsDataList!.map((s) => s.segmentId)).toEqual([
      '3001-s1',
      '3001-s2',
    ]);
    const chat = contactMediaSchema.parse(
      await (await api(sim, access_token, '/media-playback/v1/contacts?acd-call-id=3002')).json(),
    );
    expect(chat.interactions[0]!.data!.messages).toEqual([
      {
        participantType: 'AGENT',
        participantName: 'Agent',
        text: 'Hi',
        timeStamp: new Date(T0 + 1000).toISOString(),
      },
    ]);
    const missing = await api(sim, access_token, '/media-playback/v1/contacts?acd-call-id=999');
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ internalCode: '404' });
  });

  it('IA answers 404 until a segment is analysed, then its blocks', async () => {
    const { sim, clock } = setup();
    sim.addContact(call('call', '4001'));
    const { access_token } = await passwordGrant(sim);
    const first = await api(
      sim,
      access_token,
      '/interaction-analytics-gateway/v2/segments/4001-s1/analyzed-transcript',
    );
    const blocks = analyzedTranscriptSchema.parse(await first.json()).transcriptBlocks;
    expect(blocks).toMatchObject([{ userType: 'AGENT', text: 'Hello', voiceMetadata: { startTime: 1000 } }]);
    const late = await api(
      sim,
      access_token,
      '/interaction-analytics-gateway/v2/segments/4001-s2/analyzed-transcript',
    );
    expect(late.status).toBe(404);
    expect(await late.json()).toMatchObject({ error: 'Not Found', status: 404 });
    await clock.advance(600_000);
    expect(
      (await api(sim, access_token, '/interaction-analytics-gateway/v2/segments/4001-s2/analyzed-transcript'))
        .status,
    ).toBe(200);
  });

  it('without an IA licence the gateway answers 403 with no body', async () => {
    const { sim } = setup({ iaLicensed: false });
    sim.addContact(call('call', '4002'));
    const { access_token } = await passwordGrant(sim);
    const res = await api(
      sim,
      access_token,
      '/interaction-analytics-gateway/v2/segments/4002-s1/analyzed-transcript',
    );
    expect(res.status).toBe(403);
    expect(await res.text()).toBe('');
  });
});

describe('platform simulator: Business Data', () => {
  const put = (sim: Sim, token: string, id: string, body: unknown) =>
    api(sim, token, `/business-data-manager/v1/business-data/contact/${id}`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });

  it('records every write and answers 204', async () => {
    const { sim } = setup();
    sim.addContact(call('call', '5001'));
    const { access_token } = await passwordGrant(sim);
    expect((await put(sim, access_token, '5001', [{ QA_Score: '85.50', QA_Result: 'pass' }])).status).toBe(
      204,
    );
    expect(sim.writesFor('5001')).toHaveLength(1);
    expect(sim.businessDataOf('5001')).toEqual({ QA_Score: '85.50', QA_Result: 'pass' });
  });

  it('names an unknown field or contact in its error body', async () => {
    const { sim } = setup();
    sim.addContact(call('call', '5002'));
    const { access_token } = await passwordGrant(sim);
    const unknownField = await put(sim, access_token, '5002', [{ QA_Scor: '1' }]);
    expect(unknownField.status).toBe(400);
    expect(await unknownField.json()).toMatchObject({
      errors: { businessDataName: { errorCode: 'UNKNOWN_FIELD' } },
    });
    const unknownContact = await put(sim, access_token, '5999', [{ QA_Score: '1' }]);
    expect(unknownContact.status).toBe(404);
    expect(await unknownContact.json()).toMatchObject({ errors: { contactId: { errorCode: 'NOT_FOUND' } } });
    expect((await put(sim, access_token, '5002', { QA_Score: '1' })).status).toBe(400);
    expect(sim.writesFor('5002')).toEqual([]);
  });
});

describe('platform simulator: faults', () => {
  it('its own rate limit answers 429 without Retry-After, in the family body', async () => {
    const { sim } = setup({ rateLimitPerMinute: 2 });
    sim.addContact(call('call', '6001'));
    const { access_token } = await passwordGrant(sim);
    await api(sim, access_token, '/media-playback/v1/contacts?acd-call-id=6001');
    const limited = await api(sim, access_token, '/media-playback/v1/contacts?acd-call-id=6001');
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBeNull();
    expect(await limited.json()).toEqual({
      message: 'Too Many Requests',
      route: '/media-playback/v1/contacts',
    });
  });

  it('injected failures use each family body unless given one', async () => {
    const { sim } = setup();
    const { access_token } = await passwordGrant(sim);
    sim.failNext('segmentTranscript', { status: 500 });
    const ia = await api(
      sim,
      access_token,
      '/interaction-analytics-gateway/v2/segments/x/analyzed-transcript',
    );
    expect(await ia.json()).toMatchObject({ statusCode: 500, message: 'Injected failure 500' });
    sim.failNext('completedContacts', { status: 503 });
    const rep = await api(sim, access_token, '/inContactAPI/services/v34.0/contacts/completed');
    expect(await rep.json()).toEqual({ error: 'ServerError', error_description: 'Injected failure 503' });
    sim.failNext('completedContacts', { status: 200, body: { completedContacts: 'nope' } });
    expect(
      await (await api(sim, access_token, '/inContactAPI/services/v34.0/contacts/completed')).json(),
    ).toEqual({
      completedContacts: 'nope',
    });
    expect(sim.callsOf('completedContacts').map((e) => e.status)).toEqual([503, 200]);
  });
});

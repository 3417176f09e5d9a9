import { randomBytes, randomUUID } from 'node:crypto';
import type { HttpBindings } from '@hono/node-server';
import { type Context, Hono } from 'hono';
import { type Clock, systemClock } from '../clock.js';
import { type CxonePaths, DEFAULT_CXONE_PATHS } from '../cxone/tutorial-wire.js';
import type { EvaluationBody } from '../cxone/types.js';
import type { TranscriptLine } from '../domain/transcript.js';
import {
  type BaseCallLogEntry,
  createSimulatorMachinery,
  listenSimulator,
  type RunningSimulator,
} from './machinery.js';

/**
 * An in-memory CXone speaking exactly the API of docs/contract.md section 1, for tests, the demo and the
 * benchmarks. It is deliberately strict where the real API is (credentials, ids on the form, score
 * ranges, Idempotency-Key) and lets tests inject the faults the service must survive.
 */

export type SimulatedCall = 'token' | 'query' | 'transcript' | 'form' | 'evaluation';

export interface SimulatorFormItem {
  item_id: string;
  name: string;
  max_score?: number;
}

export interface SimulatorForm {
  id: string;
  name: string;
  sections: { section_id: string; name: string; items: SimulatorFormItem[] }[];
}

export interface SimulatorConversation {
  id: string;
  agentId?: string | null;
  type?: string;
  /** ISO-8601, or epoch ms. */
  startTime: string | number;
  endTime: string | number;
  transcript: TranscriptLine[];
  /** Epoch ms; the transcript answers 404 before this. */
  transcriptReadyAt?: number;
}

export interface StoredEvaluation {
  id: string;
  idempotencyKey: string | null;
  formId: string;
  agentId: string;
  conversationId: string;
  overallScore: number;
  body: EvaluationBody;
  createdAt: number;
}

export interface CallLogEntry extends BaseCallLogEntry<SimulatedCall> {
  conversationId?: string;
  formId?: string;
  idempotencyKey?: string;
}

export interface CxoneSimulatorOptions {
  clientId?: string;
  clientSecret?: string;
  tokenTtlSeconds?: number;
  latencyMs?: number;
  /**
   * Answer after exactly `latencyMs` (a timer to ~2 ms before, then a fine wait), instead of a plain
   * timer that fires 0-2 ms late: benchmarks that promise "the simulator answers in 20 ms" use it.
   * Costs the simulator's process some CPU; real time only (ignores `clock`).
   */
  preciseLatency?: boolean;
  forms?: SimulatorForm[];
  /** Largest page_size honoured. Default 100. */
  pageSizeCap?: number;
  clock?: Clock;
  /** When set, answers 429 with Retry-After once its own sliding minute holds this many answered calls. */
  rateLimitPerMinute?: number;
  paths?: CxonePaths;
}

export const DEFAULT_SIMULATOR_FORM: SimulatorForm = {
  id: 'form-demo',
  name: 'Compliance (demo)',
  sections: [
    {
      section_id: 'section-compliance',
      name: 'Compliance',
      items: [
        { item_id: 'item-greeting', name: 'greeting', max_score: 100 },
        { item_id: 'item-verification', name: 'verification', max_score: 100 },
        { item_id: 'item-disclosure', name: 'compliance_disclosure', max_score: 100 },
        { item_id: 'item-closing', name: 'closing_summary', max_score: 100 },
      ],
    },
  ],
};

function toIso(value: string | number): string {
  return typeof value === 'number' ? new Date(value).toISOString() : value;
}

function toMs(value: string | number): number {
  return typeof value === 'number' ? value : Date.parse(value);
}

function errorBody(code: string, message: string, details?: string[]) {
  return { error: { code, message, ...(details ? { details } : {}) } };
}

/** Hono path syntax for a path template of docs/contract.md section 1: `{conversationId}` -> `:conversationId`. */
function route(template: string): string {
  return template.replace(/\{(\w+)\}/g, ':$1');
}

export function createCxoneSimulator(options: CxoneSimulatorOptions = {}) {
  const clock = options.clock ?? systemClock;
  const clientId = options.clientId ?? 'sim-client';
  const clientSecret = options.clientSecret ?? 'sim-secret';
  const tokenTtlSeconds = options.tokenTtlSeconds ?? 3600;
  const pageSizeCap = options.pageSizeCap ?? 100;
  const paths = options.paths ?? DEFAULT_CXONE_PATHS;
  const forms = new Map<string, SimulatorForm>();
  for (const form of options.forms ?? [DEFAULT_SIMULATOR_FORM]) forms.set(form.id, form);
  const conversations = new Map<string, SimulatorConversation>();
  const tokens = new Map<string, { expiresAt: number; scope: string }>();
  const evaluations: StoredEvaluation[] = [];
  const byIdempotencyKey = new Map<string, StoredEvaluation>();
  let dropAfterCommit = 0;
  let evaluationSeq = 0;

  const app = new Hono<{ Bindings: HttpBindings }>();

  const machinery = createSimulatorMachinery<SimulatedCall, CallLogEntry>({
    clock,
    ...(options.latencyMs !== undefined ? { latencyMs: options.latencyMs } : {}),
    ...(options.preciseLatency !== undefined ? { preciseLatency: options.preciseLatency } : {}),
    ...(options.rateLimitPerMinute !== undefined ? { rateLimitPerMinute: options.rateLimitPerMinute } : {}),
    rateLimited: (c, _call, seconds) => {
      c.header('retry-after', String(seconds));
      return c.json(errorBody('rate_limited', 'Too many requests'), 429);
    },
    failureBody: (_call, status) => errorBody('injected', `Injected failure ${status}`),
  });
  const { untilClientCloses } = machinery;

  /** The bearer token of an API call: held and not expired, or a 401. */
  function authenticate(c: Context): Response | undefined {
    const header = c.req.header('authorization') ?? '';
    const match = /^Bearer (.+)$/.exec(header);
    const held = match ? tokens.get(match[1]!) : undefined;
    if (!held || held.expiresAt <= clock.now()) {
      c.header('www-authenticate', 'Bearer error="invalid_token"');
      return c.json(errorBody('invalid_token', 'The access token is missing, expired or revoked'), 401);
    }
    return undefined;
  }

  function handle(
    call: SimulatedCall,
    authenticated: boolean,
    describe: (c: Context) => Partial<CallLogEntry>,
    handler: (c: Context, entry: CallLogEntry) => Promise<Response> | Response,
  ) {
    return machinery.handle(call, authenticated ? authenticate : undefined, describe, handler);
  }

  app.post(
    route(paths.token),
    handle(
      'token',
      false,
      () => ({}),
      async (c) => {
        const form = new URLSearchParams(await c.req.text());
        if (form.get('grant_type') !== 'client_credentials') {
          return c.json(
            { error: 'unsupported_grant_type', error_description: 'grant_type must be client_credentials' },
            400,
          );
        }
        if (form.get('client_id') !== clientId || form.get('client_secret') !== clientSecret) {
          return c.json({ error: 'invalid_client', error_description: 'Client authentication failed' }, 401);
        }
        const accessToken = randomBytes(24).toString('base64url');
        tokens.set(accessToken, {
          expiresAt: clock.now() + tokenTtlSeconds * 1000,
          scope: form.get('scope') ?? '',
        });
        return c.json({ access_token: accessToken, expires_in: tokenTtlSeconds, token_type: 'Bearer' });
      },
    ),
  );

  app.post(
    route(paths.conversationsQuery),
    handle(
      'query',
      true,
      () => ({}),
      async (c) => {
        let body: Record<string, unknown>;
        try {
          body = (await c.req.json()) as Record<string, unknown>;
        } catch {
          return c.json(errorBody('invalid_request', 'Body must be JSON'), 400);
        }
        const requested = typeof body.page_size === 'number' ? body.page_size : 50;
        const pageSize = Math.max(1, Math.min(pageSizeCap, Math.floor(requested)));
        // Newest first by end time, id as a tie-break, so the cursor below is a total order.
        const sorted = [...conversations.values()]
          .map((conv) => ({ conv, end: toMs(conv.endTime) }))
          .sort((a, b) => b.end - a.end || (a.conv.id < b.conv.id ? 1 : a.conv.id > b.conv.id ? -1 : 0));
        let start = 0;
        if (typeof body.next_page_token === 'string' && body.next_page_token !== '') {
          // The token is a cursor (end time and id of the last row served), not an offset, so
          // conversations arriving between pages neither repeat nor skip rows.
          let cursor: [number, string];
          try {
            cursor = JSON.parse(Buffer.from(body.next_page_token, 'base64url').toString('utf8'));
            if (!Array.isArray(cursor) || typeof cursor[0] !== 'number' || typeof cursor[1] !== 'string')
              throw 0;
          } catch {
            return c.json(errorBody('invalid_request', 'next_page_token is not valid'), 400);
          }
          const [end, id] = cursor;
          start = sorted.findIndex((row) => row.end < end || (row.end === end && row.conv.id < id));
          if (start < 0) start = sorted.length;
        }
        const page = sorted.slice(start, start + pageSize);
        const last = page[page.length - 1];
        const more = start + pageSize < sorted.length && last !== undefined;
        return c.json({
          conversations: page.map(({ conv }) => ({
            id: conv.id,
            type: conv.type ?? 'voice',
            status: 'COMPLETED',
            agent_id: conv.agentId ?? null,
            start_time: toIso(conv.startTime),
            end_time: toIso(conv.endTime),
          })),
          next_page_token: more
            ? Buffer.from(JSON.stringify([last.end, last.conv.id])).toString('base64url')
            : null,
          total_results: sorted.length,
        });
      },
    ),
  );

  app.get(
    route(paths.transcript),
    handle(
      'transcript',
      true,
      (c) => ({ conversationId: c.req.param('conversationId') ?? '' }),
      (c) => {
        const conv = conversations.get(c.req.param('conversationId') ?? '');
        if (!conv) return c.json(errorBody('not_found', 'Conversation not found'), 404);
        if (conv.transcriptReadyAt !== undefined && clock.now() < conv.transcriptReadyAt) {
          return c.json(errorBody('not_found', 'Transcript not available yet'), 404);
        }
        return c.json({ transcript: conv.transcript });
      },
    ),
  );

  app.get(
    route(paths.form),
    handle(
      'form',
      true,
      (c) => ({ formId: c.req.param('formId') ?? '' }),
      (c) => {
        const form = forms.get(c.req.param('formId') ?? '');
        if (!form) return c.json(errorBody('not_found', 'Form not found'), 404);
        return c.json(form);
      },
    ),
  );

  app.post(
    route(paths.evaluations),
    handle(
      'evaluation',
      true,
      (c) => {
        const key = c.req.header('idempotency-key');
        return key ? { idempotencyKey: key } : {};
      },
      async (c, entry) => {
        let raw: unknown;
        try {
          raw = await c.req.json();
        } catch {
          return c.json(errorBody('invalid_request', 'Body must be JSON'), 400);
        }
        if (
          raw &&
          typeof raw === 'object' &&
          typeof (raw as { conversation_id?: unknown }).conversation_id === 'string'
        ) {
          entry.conversationId = (raw as { conversation_id: string }).conversation_id;
        }
        const key = c.req.header('idempotency-key') ?? null;
        const existing = key ? byIdempotencyKey.get(key) : undefined;
        let stored: StoredEvaluation;
        let status: 200 | 201;
        if (existing) {
          // A repeated key is a retry of a submission already made: answer what was made then.
          stored = existing;
          status = 200;
        } else {
          const problems = validateEvaluation(raw);
          if (problems.length > 0) {
            return c.json(errorBody('validation_failed', problems[0]!, problems), 422);
          }
          const body = raw as EvaluationBody;
          evaluationSeq++;
          stored = {
            id: `eval-${String(evaluationSeq).padStart(6, '0')}-${randomUUID().slice(0, 8)}`,
            idempotencyKey: key,
            formId: body.form_id,
            agentId: body.agent_id,
            conversationId: body.conversation_id,
            overallScore: body.overall_score,
            body,
            createdAt: clock.now(),
          };
          evaluations.push(stored);
          if (key) byIdempotencyKey.set(key, stored);
          status = 201;
        }
        if (dropAfterCommit > 0) {
          // The lost-answer case: committed, but the client never hears about it.
          dropAfterCommit--;
          entry.dropped = true;
          const socket = (c.env as HttpBindings | undefined)?.incoming?.socket;
          socket?.destroy();
          return untilClientCloses(c, entry);
        }
        return c.json(
          {
            id: stored.id,
            status: 'COMPLETED',
            form_id: stored.formId,
            conversation_id: stored.conversationId,
            agent_id: stored.agentId,
            overall_score: stored.overallScore,
          },
          status,
        );
      },
    ),
  );

  function validateEvaluation(raw: unknown): string[] {
    const problems: string[] = [];
    if (!raw || typeof raw !== 'object' || Array.isArray(raw)) return ['body must be a JSON object'];
    const body = raw as Record<string, unknown>;
    const isText = (v: unknown): v is string => typeof v === 'string' && v.trim() !== '';
    const isScore = (v: unknown) => typeof v === 'number' && Number.isFinite(v) && v >= 0 && v <= 100;
    if (!isText(body.agent_id)) problems.push('agent_id is required');
    if (!isText(body.conversation_id)) problems.push('conversation_id is required');
    else if (!conversations.has(body.conversation_id))
      problems.push(`conversation ${body.conversation_id} is unknown`);
    if (!isScore(body.overall_score)) problems.push('overall_score must be a number from 0 to 100');
    if (body.comment !== undefined && typeof body.comment !== 'string')
      problems.push('comment must be a string');
    const form = isText(body.form_id) ? forms.get(body.form_id) : undefined;
    if (!isText(body.form_id)) problems.push('form_id is required');
    else if (!form) problems.push(`form ${body.form_id} is unknown`);
    if (!Array.isArray(body.sections) || body.sections.length === 0) {
      problems.push('sections must be a non-empty array');
      return problems;
    }
    for (const [si, section] of body.sections.entries()) {
      const s = section as Record<string, unknown> | null;
      const formSection = form?.sections.find((fs) => fs.section_id === s?.section_id);
      if (!s || typeof s.section_id !== 'string') {
        problems.push(`sections[${si}].section_id is required`);
        continue;
      }
      if (form && !formSection) problems.push(`section ${s.section_id} is not on form ${form.id}`);
      if (!Array.isArray(s.items) || s.items.length === 0) {
        problems.push(`sections[${si}].items must be a non-empty array`);
        continue;
      }
      const seen = new Set<string>();
      for (const [ii, item] of s.items.entries()) {
        const it = item as Record<string, unknown> | null;
        if (!it || typeof it.item_id !== 'string') {
          problems.push(`sections[${si}].items[${ii}].item_id is required`);
          continue;
        }
        if (formSection && !formSection.items.some((fi) => fi.item_id === it.item_id)) {
          problems.push(`item ${it.item_id} is not in section ${s.section_id}`);
        }
        if (seen.has(it.item_id)) problems.push(`item ${it.item_id} is scored twice`);
        seen.add(it.item_id);
        if (!isScore(it.score)) problems.push(`item ${it.item_id}: score must be a number from 0 to 100`);
        if (it.comment !== undefined && typeof it.comment !== 'string') {
          problems.push(`item ${it.item_id}: comment must be a string`);
        }
      }
    }
    return problems;
  }

  return {
    app,
    clientId,
    clientSecret,
    paths,

    /** Serves the app on 127.0.0.1 (port 0 = any free port). */
    listen(port = 0): Promise<RunningSimulator> {
      return listenSimulator(app, port);
    },

    addConversation(conversation: SimulatorConversation): void {
      conversations.set(conversation.id, { ...conversation, transcript: [...conversation.transcript] });
    },
    addForm(form: SimulatorForm): void {
      forms.set(form.id, form);
    },
    get conversations(): SimulatorConversation[] {
      return [...conversations.values()];
    },

    /** Every evaluation stored, in arrival order. */
    get evaluations(): StoredEvaluation[] {
      return [...evaluations];
    },
    evaluationsFor(conversationId: string): StoredEvaluation[] {
      return evaluations.filter((e) => e.conversationId === conversationId);
    },

    /** Every request seen, in arrival order, with the status answered. */
    get callLog(): CallLogEntry[] {
      return machinery.callLog;
    },
    callsOf(call: SimulatedCall, conversationId?: string): CallLogEntry[] {
      return machinery.callLog.filter(
        (e) => e.call === call && (conversationId === undefined || e.conversationId === conversationId),
      );
    },
    /** Most requests seen in any sliding window (default one minute): to check a call budget. */
    maxCallsInAnyWindow(windowMs?: number): number {
      return machinery.maxCallsInAnyWindow(windowMs);
    },

    /** Tokens issued so far become invalid: the next API call with one answers 401. */
    revokeTokens(): void {
      tokens.clear();
    },
    get tokensIssued(): number {
      return machinery.callLog.filter((e) => e.call === 'token' && e.status === 200).length;
    },

    /** The next `count` (default 1) calls of `call` answer `status` (with Retry-After / body if given). */
    failNext: machinery.failNext,
    /** The next `count` calls of `call` get no answer at all until the client gives up. */
    hangNext: machinery.hangNext,
    /** The next `count` evaluation submissions are stored, then the socket is destroyed unanswered. */
    dropResponseAfterCommitNext(count = 1): void {
      dropAfterCommit += count;
    },
    /** Delay before every answer, or only before answers to `call` when given. */
    setLatency: machinery.setLatency,
  };
}

export type CxoneSimulator = ReturnType<typeof createCxoneSimulator>;

import { z } from 'zod';
import type { CxoneCall } from '../types.js';

/**
 * Wire shapes of the documented CXone APIs the platform profile calls (NICE's developer-portal
 * descriptions). Unknown fields are ignored; a missing or mistyped field the service relies on is a
 * bad_response naming the call and the field. Fields NICE documents as required but that the service
 * does not need are optional here: a tenant that leaves one out must not stop scoring.
 */

/** The calls of the platform profile, as logs, errors and the simulator's call log name them. */
export type PlatformCall = Extract<
  CxoneCall,
  | 'oidcDiscovery'
  | 'token'
  | 'apiDiscovery'
  | 'completedContacts'
  | 'contactMedia'
  | 'segmentTranscript'
  | 'businessData'
>;

/**
 * The API families: each has its own error body and its own rate limit, so a 429 pauses every call of
 * its family (documented 429s carry no Retry-After).
 */
export type PlatformFamily = 'auth' | 'reporting' | 'mediaPlayback' | 'interactionAnalytics' | 'businessData';

export const FAMILY_OF: Record<PlatformCall, PlatformFamily> = {
  oidcDiscovery: 'auth',
  token: 'auth',
  apiDiscovery: 'auth',
  completedContacts: 'reporting',
  contactMedia: 'mediaPlayback',
  segmentTranscript: 'interactionAnalytics',
  businessData: 'businessData',
};

/** Documented paths, relative to the issuer (auth) or to the API host (the rest). */
export const PLATFORM_PATHS = {
  oidcDiscovery: '/.well-known/openid-configuration',
  apiDiscovery: '/.well-known/cxone-configuration',
  /** Pinned: field names changed between Reporting API versions. */
  completedContacts: '/inContactAPI/services/v34.0/contacts/completed',
  contactMedia: '/media-playback/v1/contacts',
  /** `{segmentId}` is one encoded path segment. */
  segmentTranscript: '/interaction-analytics-gateway/v2/segments/{segmentId}/analyzed-transcript',
  /** `{contactId}` is one encoded path segment. */
  businessData: '/business-data-manager/v1/business-data/contact/{contactId}',
} as const;

const text = z.string().nullish();
const httpUrl = z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' });

export const oidcDiscoverySchema = z.object({
  issuer: text,
  token_endpoint: httpUrl,
  token_endpoint_auth_methods_supported: z.array(z.string()).nullish(),
});

export const tokenAnswerSchema = z.object({
  access_token: z.string().min(1),
  token_type: text,
  refresh_token: text,
  expires_in: z.coerce.number(),
  id_token: text,
});

export const apiDiscoverySchema = z.object({
  api_endpoint: httpUrl,
  area: text,
  tenantId: text,
});

/** An id as CXone sends it: a number, or a digit string when it was too large to parse exactly. */
const wireId = z.union([z.number(), z.string()]).nullish();

export const completedContactSchema = z.object({
  // Checked one row at a time (ids.ts) so one malformed row is refused alone, not the whole page.
  contactId: z.unknown(),
  masterContactId: wireId,
  agentId: wireId,
  mediaTypeId: z.number().nullish(),
  mediaTypeName: text,
  contactStartDate: text,
  lastUpdateTime: text,
  totalDurationSeconds: z.number().nullish(),
  isAnalyticsProcessed: z.boolean().nullish(),
  analyticsProcessedDate: text,
  skillName: text,
  teamName: text,
});

export const completedContactsSchema = z.object({
  completedContacts: z.array(completedContactSchema),
  totalRecords: z.number().nullish(),
  lastPollTime: text,
  _links: z.object({ next: text, self: text }).nullish(),
});

const mediaMessageSchema = z.object({
  participantType: text,
  participantName: text,
  text: text,
  timeStamp: text,
});

const mediaSegmentSchema = z.object({
  segmentId: z.union([z.string(), z.number()]).nullish(),
  startTime: text,
  endTime: text,
  channelType: text,
});

export const contactMediaSchema = z.object({
  contactId: text,
  acdcontactId: z.union([z.string(), z.number()]).nullish(),
  interactions: z.array(
    z.object({
      '@type': text,
      channelType: text,
      mediaType: text,
      startTime: text,
      endTime: text,
      data: z
        .object({
          startTime: text,
          endTime: text,
          segmentsDataList: z.array(mediaSegmentSchema).nullish(),
          messages: z.array(mediaMessageSchema).nullish(),
        })
        .nullish(),
    }),
  ),
});

const analyzedBlockSchema = z.object({
  blockId: z.number().nullish(),
  channelName: text,
  userType: text,
  text: text,
  voiceMetadata: z.object({ startTime: z.number().nullish(), endTime: z.number().nullish() }).nullish(),
  chatMetadata: z.object({ timestamp: z.number().nullish() }).nullish(),
});

export const analyzedTranscriptSchema = z.object({
  transcriptBlocks: z.array(analyzedBlockSchema),
  language: text,
  annotatedDateTime: text,
});

export type CompletedContactWire = z.output<typeof completedContactSchema>;
export type ContactMediaWire = z.output<typeof contactMediaSchema>;
export type AnalyzedBlockWire = z.output<typeof analyzedBlockSchema>;
export type MediaMessageWire = z.output<typeof mediaMessageSchema>;

/** Longest piece of an error body kept in a message: enough to read CXone's reason, not a dump. */
const MAX_DETAIL_CHARS = 300;

function str(value: unknown): string | undefined {
  if (typeof value === 'string' && value.trim() !== '') return value.trim();
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  return undefined;
}

/**
 * The reason an error body gives, read the way its family writes it:
 * auth and Reporting `{error, error_description}`; Interaction Analytics `{statusCode, timestamp,
 * message}` (404 `{error, path, status}`); Media Playback `{internalCode, message}` (429 `{message,
 * route}`); Business Data `{code, details, errors: {field: {errorCode, message}}}` (401 `{error,
 * path, status}`). A body that fits none is shown as text, whitespace collapsed and cut short.
 */
export function describeErrorBody(family: PlatformFamily, body: string): string {
  const flat = body.replace(/\s+/g, ' ').trim();
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    return flat.slice(0, MAX_DETAIL_CHARS);
  }
  if (!json || typeof json !== 'object' || Array.isArray(json)) return flat.slice(0, MAX_DETAIL_CHARS);
  const o = json as Record<string, unknown>;
  const parts: string[] = [];
  const add = (value: unknown) => {
    const s = str(value);
    if (s && !parts.includes(s)) parts.push(s);
  };
  switch (family) {
    case 'auth':
    case 'reporting':
      add(o.error);
      add(o.error_description);
      break;
    case 'interactionAnalytics':
      add(o.message);
      add(o.error);
      break;
    case 'mediaPlayback':
      add(o.internalCode);
      add(o.message);
      add(o.route && `route ${str(o.route)}`);
      break;
    case 'businessData': {
      add(o.code);
      add(o.details);
      add(o.error);
      add(o.message);
      const errors = o.errors;
      if (errors && typeof errors === 'object' && !Array.isArray(errors)) {
        for (const [field, detail] of Object.entries(errors as Record<string, unknown>)) {
          const d = (detail ?? {}) as Record<string, unknown>;
          add(`${field}: ${[str(d.errorCode), str(d.message)].filter(Boolean).join(' ')}`.trim());
        }
      }
      break;
    }
  }
  // Bodies of the wrong family (a gateway's, another version's): the common fields.
  if (parts.length === 0) for (const key of ['message', 'error_description', 'error', 'details']) add(o[key]);
  const described = parts.length > 0 ? parts.join(': ') : flat;
  return described.slice(0, MAX_DETAIL_CHARS);
}

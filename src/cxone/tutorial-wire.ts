import { z } from 'zod';

/**
 * The tutorial API on the wire (docs/contract.md section 1): its paths, the scopes its client asks for, and
 * the shapes of its answers. The tutorial client speaks it and the simulator serves it, so both read
 * it from here. Unknown fields are ignored; missing or mistyped ones are a bad_response naming the field.
 */

export interface CxonePaths {
  token: string;
  conversationsQuery: string;
  /** Contains `{conversationId}`. */
  transcript: string;
  /** Contains `{formId}`. */
  form: string;
  evaluations: string;
}

/** The paths of docs/contract.md section 1; settings (CXONE_*_PATH) may move them when the platform does. */
export const DEFAULT_CXONE_PATHS: CxonePaths = {
  token: '/oauth/token',
  conversationsQuery: '/api/v2/conversations/details/query',
  transcript: '/api/v2/conversations/{conversationId}/media/transcripts',
  form: '/api/v2/qm/forms/{formId}',
  evaluations: '/api/v2/qm/evaluations',
};

/** What the client credentials grant asks for (CXONE_SCOPES overrides). */
export const DEFAULT_CXONE_SCOPES: readonly string[] = [
  'conversation:read',
  'conversation:media:transcript:read',
  'qm:evaluation:write',
  'qm:form:read',
];

export const tokenSchema = z.object({
  access_token: z.string().min(1),
  // Any value: an absurd or missing lifetime is no reason to refuse a working token; the token cache
  // clamps it to sane bounds (token-source.ts clampTokenLifetimeMs).
  expires_in: z.unknown().optional(),
  token_type: z.string().optional(),
});

/** `expires_in` in ms: a number or a numeric string; NaN for anything else (the cache's default). */
export function statedLifetimeMs(expiresIn: unknown): number {
  const seconds =
    typeof expiresIn === 'number'
      ? expiresIn
      : typeof expiresIn === 'string' && /^\s*-?\d+(\.\d+)?\s*$/.test(expiresIn)
        ? Number(expiresIn)
        : Number.NaN;
  return seconds * 1000;
}

const optionalText = z.string().nullish();

export const conversationsSchema = z.object({
  conversations: z.array(
    z.object({
      id: z.string().min(1),
      type: optionalText,
      status: optionalText,
      agent_id: optionalText,
      start_time: optionalText,
      end_time: optionalText,
    }),
  ),
  next_page_token: z.string().nullish(),
  total_results: z.number().nullish(),
});

export const transcriptSchema = z.object({
  // As the tutorial does: a line with no speaker is UNKNOWN, no text or time is empty.
  transcript: z.array(
    z.object({
      speaker: z.string().nullish(),
      text: z.string().nullish(),
      timestamp: z.union([z.string(), z.number()]).nullish(),
    }),
  ),
});

export const formSchema = z.object({
  id: z.string().min(1),
  name: z.string().nullish(),
  sections: z.array(
    z.object({
      section_id: z.string().min(1),
      name: z.string().nullish(),
      items: z.array(
        z.object({
          item_id: z.string().min(1),
          name: z.string(),
          max_score: z.number().nullish(),
        }),
      ),
    }),
  ),
});

export const evaluationSchema = z.object({
  id: z.string().min(1),
  status: z.string().nullish(),
  // Read to tell an earlier evaluation's score from this run's (already evaluated); not required.
  overall_score: z.number().nullish().catch(null),
});

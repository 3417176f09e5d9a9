/**
 * The result filters shared by the conversations page and the results API: one parser, so a
 * console link and an API call with the same query string mean the same thing. Every problem is
 * reported by parameter name; nothing malformed reaches a query.
 */
import type { ResultCursor, ResultFilter } from '../store/results.js';
import { addDays, isDay, startOfDay } from './time.js';

export interface ResultQuery {
  filter: ResultFilter;
  limit: number;
  cursor: ResultCursor | null;
}

export type ParsedQuery = { ok: true; query: ResultQuery } | { ok: false; problems: string[] };

export interface ParseOptions {
  timeZone: string;
  now: number;
  defaultLimit: number;
  maxLimit: number;
}

/** The parameters, and only these, are read (others are ignored, as most APIs do). */
export const FILTER_PARAMS = [
  'since',
  'until',
  'agent',
  'destination',
  'min_score',
  'max_score',
  'failed_rule',
  'critical',
  'reviewed',
] as const;

const RELATIVE = /^(\d{1,5})([mhdw])$/;
const UNIT_MS: Record<string, number> = { m: 60_000, h: 3_600_000, d: 86_400_000, w: 7 * 86_400_000 };
// An instant must say its offset: a bare local time would mean whatever the server's zone is.
const INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})$/;
const MAX_TEXT = 200;

/**
 * A point in time: `YYYY-MM-DD` (a calendar day in the console's zone: `since` its start, `until`
 * its end, so both days are included), an ISO-8601 instant with its offset, or a span back from
 * now (`90m`, `24h`, `7d`, `2w`).
 */
export function parseTime(
  value: string,
  edge: 'since' | 'until',
  timeZone: string,
  now: number,
): number | null {
  const v = value.trim();
  if (isDay(v)) return startOfDay(edge === 'since' ? v : addDays(v, 1), timeZone);
  const rel = RELATIVE.exec(v);
  if (rel) return now - Number(rel[1]) * UNIT_MS[rel[2]!]!;
  if (INSTANT.test(v)) {
    const ms = Date.parse(v);
    return Number.isNaN(ms) ? null : ms;
  }
  return null;
}

export function encodeCursor(cursor: ResultCursor): string {
  return Buffer.from(`${cursor.evaluatedAt}.${cursor.id}`).toString('base64url');
}

export function decodeCursor(value: string): ResultCursor | null {
  if (value.length > 64 || !/^[A-Za-z0-9_-]+$/.test(value)) return null;
  const m = /^(\d{1,15})\.(\d{1,15})$/.exec(Buffer.from(value, 'base64url').toString('latin1'));
  if (!m) return null;
  const evaluatedAt = Number(m[1]);
  const id = Number(m[2]);
  return Number.isSafeInteger(evaluatedAt) && Number.isSafeInteger(id) ? { evaluatedAt, id } : null;
}

function parseFlag(value: string): boolean | null {
  const v = value.trim().toLowerCase();
  if (['1', 'true', 'yes', 'on'].includes(v)) return true;
  if (['0', 'false', 'no', 'off'].includes(v)) return false;
  return null;
}

/** `get(name)` returns a query parameter ('' and absent are the same: no filter). */
export function parseResultQuery(
  get: (name: string) => string | undefined,
  options: ParseOptions,
): ParsedQuery {
  const problems: string[] = [];
  const filter: ResultFilter = {};
  const value = (name: string) => {
    const v = get(name)?.trim();
    return v === undefined || v === '' ? undefined : v;
  };
  for (const edge of ['since', 'until'] as const) {
    const raw = value(edge);
    if (raw === undefined) continue;
    const ms = parseTime(raw, edge, options.timeZone, options.now);
    if (ms === null)
      problems.push(
        `${edge}: must be a day (2024-05-10), an instant with its offset (2024-05-10T14:00:00Z) or a span such as 7d`,
      );
    else filter[edge] = ms;
  }
  for (const [param, key] of [
    ['agent', 'agentId'],
    ['destination', 'destination'],
    ['failed_rule', 'failedRule'],
  ] as const) {
    const raw = value(param);
    if (raw === undefined) continue;
    if (raw.length > MAX_TEXT) problems.push(`${param}: at most ${MAX_TEXT} characters`);
    else filter[key] = raw;
  }
  for (const [param, key] of [
    ['min_score', 'minScore'],
    ['max_score', 'maxScore'],
  ] as const) {
    const raw = value(param);
    if (raw === undefined) continue;
    const n = /^\d{1,3}(\.\d{1,4})?$/.test(raw) ? Number(raw) : Number.NaN;
    if (!(n >= 0 && n <= 100)) problems.push(`${param}: must be a number from 0 to 100`);
    else filter[key] = n;
  }
  const critical = value('critical');
  if (critical !== undefined) {
    const flag = parseFlag(critical);
    if (flag === null) problems.push('critical: must be true or false');
    else if (flag) filter.criticalOnly = true;
  }
  const reviewed = value('reviewed');
  if (reviewed !== undefined && reviewed !== 'any') {
    const flag = parseFlag(reviewed);
    if (flag === null) problems.push('reviewed: must be true or false');
    else filter.reviewed = flag;
  }
  let limit = options.defaultLimit;
  const rawLimit = value('limit');
  if (rawLimit !== undefined) {
    const n = /^\d{1,6}$/.test(rawLimit) ? Number(rawLimit) : Number.NaN;
    if (!(n >= 1 && n <= options.maxLimit))
      problems.push(`limit: must be a whole number from 1 to ${options.maxLimit}`);
    else limit = n;
  }
  let cursor: ResultCursor | null = null;
  const rawCursor = value('cursor');
  if (rawCursor !== undefined) {
    cursor = decodeCursor(rawCursor);
    if (!cursor) problems.push('cursor: not a cursor this service gave (pass next_cursor back unchanged)');
  }
  if (filter.since !== undefined && filter.until !== undefined && filter.since >= filter.until)
    problems.push('until: must be later than since');
  if (filter.minScore !== undefined && filter.maxScore !== undefined && filter.minScore > filter.maxScore)
    problems.push('max_score: must not be below min_score');
  return problems.length > 0 ? { ok: false, problems } : { ok: true, query: { filter, limit, cursor } };
}

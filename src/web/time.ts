/**
 * Calendar days and times in the console's TIME_ZONE. People read "Tuesday" in their own zone;
 * the database keeps milliseconds since the epoch (UTC) and the rollups keep that zone's days.
 */

const DAY_MS = 86_400_000;

/** Whether `zone` is an IANA time zone this Node knows (e.g. `Europe/Paris`, `UTC`). */
export function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

const offsetFormats = new Map<string, Intl.DateTimeFormat>();

/** The zone's offset from UTC at an instant, in ms (e.g. +7,200,000 for CEST). */
function offsetAt(ms: number, zone: string): number {
  let format = offsetFormats.get(zone);
  if (!format) {
    format = new Intl.DateTimeFormat('en-US', { timeZone: zone, timeZoneName: 'longOffset' });
    offsetFormats.set(zone, format);
  }
  const name = format.formatToParts(ms).find((p) => p.type === 'timeZoneName')?.value ?? 'GMT';
  const m = /^GMT([+-])(\d{2}):?(\d{2})?(?::?(\d{2}))?$/.exec(name);
  if (!m) return 0;
  const sign = m[1] === '-' ? -1 : 1;
  return sign * ((Number(m[2]) * 60 + Number(m[3] ?? 0)) * 60 + Number(m[4] ?? 0)) * 1000;
}

/** The first instant of a calendar day (YYYY-MM-DD) in `zone`. */
export function startOfDay(day: string, zone: string): number {
  const [y, mo, d] = day.split('-').map(Number) as [number, number, number];
  const utcMidnight = Date.UTC(y, mo - 1, d);
  // The offset at local midnight may differ from the offset at UTC midnight (DST changes happen
  // at night): a second candidate from the offset the first one found. The earlier candidate that
  // really is local midnight wins.
  const first = utcMidnight - offsetAt(utcMidnight, zone);
  const second = utcMidnight - offsetAt(first, zone);
  const early = Math.min(first, second);
  const late = Math.max(first, second);
  for (const candidate of [early, late])
    if (candidate + offsetAt(candidate, zone) === utcMidnight) return candidate;
  // Local midnight does not exist: the clocks jump past it (spring in Chile, Cuba, Paraguay, the
  // Azores), so the day starts at the jump, which lies between the two candidates (`early` is still
  // the day before, `late` already this day). Found to the millisecond in about 22 steps.
  let before = early;
  let from = late;
  const after = offsetAt(late, zone);
  while (from - before > 1) {
    const mid = Math.floor((before + from) / 2);
    if (offsetAt(mid, zone) === after) from = mid;
    else before = mid;
  }
  return from;
}

/** YYYY-MM-DD `n` days after `day` (n may be negative). Pure calendar arithmetic. */
export function addDays(day: string, n: number): string {
  const [y, mo, d] = day.split('-').map(Number) as [number, number, number];
  return new Date(Date.UTC(y, mo - 1, d) + n * DAY_MS).toISOString().slice(0, 10);
}

/** Every day from `from` to `to`, inclusive. */
export function daysBetween(from: string, to: string): string[] {
  const out: string[] = [];
  for (let day = from; day <= to && out.length < 3700; day = addDays(day, 1)) out.push(day);
  return out;
}

export const DAY_PATTERN = /^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$/;

/** A well-formed calendar day that exists (not 2024-02-30). */
export function isDay(value: string): boolean {
  return DAY_PATTERN.test(value) && addDays(value, 0) === value;
}

/** Formats instants for people, in the console's zone. */
export function timeFormatter(zone: string): { dateTime(ms: number): string; day(ms: number): string } {
  const dt = new Intl.DateTimeFormat('en-CA', {
    timeZone: zone,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
  });
  const d = new Intl.DateTimeFormat('en-CA', {
    timeZone: zone,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
  });
  return {
    dateTime: (ms) => dt.format(ms).replace(',', ''),
    day: (ms) => d.format(ms),
  };
}

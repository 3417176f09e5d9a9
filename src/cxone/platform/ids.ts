/**
 * CXone's identifiers as the platform profile keeps them: contact and agent ids are int64, held as
 * canonical decimal strings (no sign, no leading zeros) so they never lose digits; segment ids are
 * opaque text. Every id that goes into a URL passes `pathSegment`, so none can be a dot segment,
 * carry a slash, or be text that is not well-formed Unicode.
 */

const INT64_MAX = 9223372036854775807n;
const DIGITS = /^\d{1,19}$/;

/**
 * A contact id from CXone or Studio: a positive integer as a JSON number (exact only up to 2^53; larger
 * ones reach here as digit strings, see json.ts) or as a string of digits. Anything else is null.
 */
export function parseContactId(value: unknown): string | null {
  let text: string;
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value) || value <= 0) return null;
    text = String(value);
  } else if (typeof value === 'string') {
    text = value.trim();
    if (!DIGITS.test(text)) return null;
  } else return null;
  const n = BigInt(text);
  if (n <= 0n || n > INT64_MAX) return null;
  return n.toString();
}

/** An agent id: like a contact id, but 0, null or absent mean "no agent" (Reporting sends 0). */
export function parseAgentId(value: unknown): string | null {
  if (value === 0 || value === '0') return null;
  return parseContactId(value);
}

/** Why an opaque id (a segment id) cannot be used in a URL, or null when it can. */
export function pathSegmentProblem(id: string): string | null {
  if (id.length === 0) return 'is empty';
  if (id.length > 200) return 'is longer than 200 characters';
  // With the u flag a well-formed surrogate pair is one code point: \p{Cs} matches only lone halves.
  if (/\p{Cs}/u.test(id)) return 'is not well-formed Unicode';
  if (/^\.+$/.test(id)) return 'is a dot segment';
  // Control characters and slashes have no business in an id; refusing them beats encoding them.
  // biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is the point
  if (/[\u0000-\u001f\u007f/\\]/.test(id)) return 'holds a slash or a control character';
  return null;
}

/** The id encoded as one URL path segment; throws for an id pathSegmentProblem refuses. */
export function pathSegment(id: string): string {
  const problem = pathSegmentProblem(id);
  if (problem) throw new Error(`id ${JSON.stringify(id.slice(0, 60))} ${problem}`);
  return encodeURIComponent(id);
}

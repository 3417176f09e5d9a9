/**
 * What may be an identifier (a conversation, agent or form id) and what may be stored as text, for
 * every part of the service: the webhook schema refuses the rest at ingest, the sweep skips it, and
 * the CXone clients never put it in a URL.
 *
 * Why this matters beyond tidiness: SQLite stores a string that is not well-formed Unicode (a lone
 * surrogate, legal in JSON as `"\ud800"`) as bytes that do not read back equal, so a row keyed by
 * such an id can be found by the value that made it but never by the value read from it: a job that
 * can be listed but not claimed. A dot segment (`.`, `..`, or either percent-encoded) in a URL path
 * is resolved away by URL parsers and servers, so `/conversations/../media/transcripts` reaches
 * another endpoint with our bearer token. A slash, even percent-encoded, is decoded into a segment
 * separator by many servers and proxies. None of these can be a real CXone id (CXone's ids are UUIDs,
 * decimal numbers or short opaque tokens), so refusing them loses nothing.
 *
 * Pure functions: no I/O; any layer may import this module.
 */

/** Longest id accepted: CXone's ids are far shorter; the bound keeps one field from bloating a row. */
export const MAX_ID_CHARS = 200;

// With the u flag a well-formed surrogate pair is one code point, so \p{Cs} matches only lone halves:
// the same test as String.prototype.isWellFormed (Node 20), which TypeScript's ES2023 lib lacks.
const LONE_SURROGATE = /\p{Cs}/u;
// Control characters (C0, DEL, C1) and line/paragraph separators: they break log lines, headers and
// terminals, and no id or timestamp holds one.
const CONTROL = /[\p{Cc}\u2028\u2029]/u;
// Format characters (bidi overrides, zero-width spaces, BOM) and noncharacters: invisible, they make
// two ids look equal when they are not; never part of an id.
const INVISIBLE = /[\p{Cf}\uFDD0-\uFDEF\uFFFE\uFFFF]/u;
const DOTS_ONLY = /^\.+$/;

/**
 * Why `value` cannot be one URL path segment, or null when it can (once percent-encoded): empty, not
 * well-formed Unicode, a control character, only dots (`.` and `..` are dot segments; longer runs are
 * normalised by some servers), or a slash or backslash (decoded into a separator by many servers even
 * when percent-encoded). The URL builder (src/cxone/api-caller.ts `urlOf`) refuses what this refuses.
 */
export function pathSegmentProblem(value: string): string | null {
  if (value.length === 0) return 'must not be empty';
  if (LONE_SURROGATE.test(value)) return 'must be well-formed Unicode (it holds a lone surrogate)';
  if (CONTROL.test(value)) return 'must not contain control characters';
  if (DOTS_ONLY.test(value)) return "must not be '.' or '..' (a dot segment)";
  if (/[/\\]/.test(value)) return 'must not contain a slash or a backslash';
  return null;
}

/**
 * Why `value` cannot be an identifier used as a database key or in a URL (conversation, agent, form,
 * section and item ids), or null when it can: everything pathSegmentProblem refuses, more than
 * MAX_ID_CHARS characters, invisible characters, and whitespace at either end (an id copied with a
 * stray space would name a different row than the one CXone knows).
 */
export function idProblem(value: string): string | null {
  if (value.length > MAX_ID_CHARS) return `must be at most ${MAX_ID_CHARS} characters`;
  const segment = pathSegmentProblem(value);
  if (segment) return segment;
  if (INVISIBLE.test(value)) return 'must not contain invisible (format) characters';
  if (value.trim() !== value) return 'must not start or end with whitespace';
  return null;
}

/**
 * Why `value` cannot be stored as a short text field (an event id or type, a media type, a time), or
 * null when it can: at most `maxChars` characters, well-formed Unicode, no control characters.
 * Looser than an id: such a field is never a key and never in a URL, but it is stored and logged.
 */
export function textProblem(value: string, maxChars: number): string | null {
  if (value.length > maxChars) return `must be at most ${maxChars} characters`;
  if (LONE_SURROGATE.test(value)) return 'must be well-formed Unicode (it holds a lone surrogate)';
  if (CONTROL.test(value)) return 'must not contain control characters';
  return null;
}

/**
 * A refused value as it may appear in a log line or an error message: JSON-quoted, every character
 * outside printable ASCII escaped (`\ud800`, `\u202e`), cut to `maxChars` characters first. Never
 * echoes a control character or an unpaired surrogate into a log.
 */
export function printable(value: string, maxChars = 60): string {
  const cut = value.slice(0, maxChars);
  let out = '';
  for (let i = 0; i < cut.length; i++) {
    const code = cut.charCodeAt(i);
    const ch = cut[i]!;
    if (ch === '"' || ch === '\\') out += `\\${ch}`;
    else if (code >= 0x20 && code < 0x7f) out += ch;
    else out += `\\u${code.toString(16).padStart(4, '0')}`;
  }
  return `"${out}"${cut.length < value.length ? '…' : ''}`;
}

/**
 * Whether the path of `url`, as it would go on the wire, holds a `.` or `..` segment, plain or
 * percent-encoded (`%2e`, either case), with `/` or `\` as separators (URL parsers treat both alike).
 * Checked on the raw string: `new URL()` would already have resolved them away.
 */
export function hasDotSegment(url: string): boolean {
  const afterAuthority = url.replace(/^[a-z][a-z0-9+.-]*:\/\/[^/?#\\]*/i, '');
  const path = afterAuthority.split(/[?#]/, 1)[0] ?? '';
  return path.split(/[/\\]/).some((segment) => /^(?:\.|%2e){1,2}$/i.test(segment));
}

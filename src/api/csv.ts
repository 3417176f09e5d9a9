/**
 * CSV as RFC 4180 writes it (comma, CRLF, fields with commas, quotes or line breaks quoted), and
 * safe to open in a spreadsheet: a text cell that starts with `=`, `+`, `-`, `@`, a tab or a
 * carriage return would be run as a formula by Excel, LibreOffice and Google Sheets (CSV injection),
 * and transcripts' words and agents' ids are not ours to trust, so such a cell gets a leading `'`.
 * Numbers are written as numbers (a negative number is never text from outside).
 */
const FORMULA_START = /^[=+\-@\t\r]/;
const NEEDS_QUOTES = /[",\r\n]|^\s|\s$/;

export function csvField(value: string | number | boolean | null | undefined): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : '';
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  let text = value;
  if (FORMULA_START.test(text)) text = `'${text}`;
  return NEEDS_QUOTES.test(text) || text !== value ? `"${text.replaceAll('"', '""')}"` : text;
}

export function csvLine(values: readonly (string | number | boolean | null | undefined)[]): string {
  return `${values.map(csvField).join(',')}\r\n`;
}

/**
 * JSON.parse that keeps integers beyond 2^53 exact, as digit strings.
 *
 * CXone's ids are int64 (`contactId`, `masterContactId`, `agentId`, IA's `acdContactId`). JSON.parse
 * turns 9007199254740993 into 9007199254740992 without a word, and a rounded contact id points the
 * write-back at another contact. Node 20 has no reviver access to the source text, so the text is
 * scanned once (linear, strings skipped) and every integer literal too large to be exact is quoted
 * before parsing. Ids are then read as numbers or digit strings alike (see ids.ts); no other number
 * CXone sends comes near 2^53.
 */
export function parseJsonKeepingBigIntegers(text: string): unknown {
  return JSON.parse(quoteUnsafeIntegers(text));
}

const MAX_SAFE_DIGITS = String(Number.MAX_SAFE_INTEGER).length; // 16

export function quoteUnsafeIntegers(text: string): string {
  let out: string[] | undefined;
  let copiedUpTo = 0;
  let i = 0;
  const n = text.length;
  while (i < n) {
    const ch = text.charCodeAt(i);
    if (ch === 0x22 /* " */) {
      // Skip the string, escapes included.
      i++;
      while (i < n) {
        const c = text.charCodeAt(i);
        if (c === 0x5c /* \ */) i += 2;
        else if (c === 0x22) {
          i++;
          break;
        } else i++;
      }
      continue;
    }
    if (ch === 0x2d /* - */ || (ch >= 0x30 && ch <= 0x39)) {
      const start = i;
      if (ch === 0x2d) i++;
      const digitsStart = i;
      while (i < n && text.charCodeAt(i) >= 0x30 && text.charCodeAt(i) <= 0x39) i++;
      const digits = i - digitsStart;
      const next = i < n ? text.charCodeAt(i) : -1;
      const isInteger = next !== 0x2e /* . */ && next !== 0x65 /* e */ && next !== 0x45; /* E */
      if (isInteger && digits >= MAX_SAFE_DIGITS) {
        const literal = text.slice(start, i);
        if (!Number.isSafeInteger(Number(literal))) {
          out ??= [];
          out.push(text.slice(copiedUpTo, start), `"${literal}"`);
          copiedUpTo = i;
        }
      }
      // Skip the rest of a fraction or exponent.
      while (i < n && /[0-9.eE+-]/.test(text[i]!)) i++;
      continue;
    }
    i++;
  }
  if (!out) return text;
  out.push(text.slice(copiedUpTo));
  return out.join('');
}

/**
 * Where each rule's evidence quotes the transcript, so the conversation page can mark those words.
 * The engine's evidence names the quoted words and the turn (`Found "this call may be recorded"
 * (AGENT, 00:04, turn 2)`); quotes of what was looked for but not found carry no turn and are not
 * marked. Quotes are trimmed to ~120 characters and have their whitespace flattened, so the words
 * are found again in the turn's own text, ignoring case and spacing.
 */

export interface Span {
  start: number;
  end: number;
  rules: string[];
}

const QUOTED_AT_TURN = /"([^"]+)" \((?:[^()"]*?, )?turn (\d+)\)/g;

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Finds `quote` (or its longest leading run of words) in `text`. */
function locate(text: string, quote: string): { start: number; end: number } | null {
  const words = quote.replace(/…$/, '').trim().split(/\s+/).filter(Boolean);
  for (let n = words.length; n > 0; n--) {
    const pattern = new RegExp(words.slice(0, n).map(escapeRegExp).join('\\s+'), 'iu');
    const m = pattern.exec(text);
    // Shorter runs: a quote that spans turns starts in this one, and a trimmed quote ends in "…".
    if (m) return { start: m.index, end: m.index + m[0].length };
  }
  return null;
}

/** Turn index (0-based) → marked spans, merged where rules overlap. */
export function highlightSpans(
  rules: readonly { name: string; evidence: string }[],
  turns: readonly { text: string }[],
): Map<number, Span[]> {
  const raw = new Map<number, Span[]>();
  for (const rule of rules) {
    for (const m of rule.evidence.matchAll(QUOTED_AT_TURN)) {
      const turn = Number(m[2]) - 1;
      const line = turns[turn];
      if (!line) continue;
      const at = locate(String(line.text ?? ''), m[1]!);
      if (!at) continue;
      const list = raw.get(turn) ?? [];
      list.push({ ...at, rules: [rule.name] });
      raw.set(turn, list);
    }
  }
  const merged = new Map<number, Span[]>();
  for (const [turn, spans] of raw) {
    spans.sort((a, b) => a.start - b.start || b.end - a.end);
    const out: Span[] = [];
    for (const s of spans) {
      const last = out[out.length - 1];
      if (last && s.start < last.end) {
        last.end = Math.max(last.end, s.end);
        for (const r of s.rules) if (!last.rules.includes(r)) last.rules.push(r);
      } else out.push({ ...s, rules: [...s.rules] });
    }
    merged.set(turn, out);
  }
  return merged;
}

/** A turn's text cut into plain and marked pieces. */
export function splitBySpans(
  text: string,
  spans: readonly Span[] | undefined,
): { text: string; rules?: string[] }[] {
  if (!spans || spans.length === 0) return [{ text }];
  const out: { text: string; rules?: string[] }[] = [];
  let pos = 0;
  for (const s of spans) {
    if (s.start > pos) out.push({ text: text.slice(pos, s.start) });
    out.push({ text: text.slice(s.start, s.end), rules: s.rules });
    pos = s.end;
  }
  if (pos < text.length) out.push({ text: text.slice(pos) });
  return out;
}

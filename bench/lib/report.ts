/** Shared by the benchmark sections and bench/run.ts. */

export interface TargetResult {
  /** Key of the explanation bench/lib/findings.ts gives when the target is missed. */
  id: string;
  name: string;
  ok: boolean;
  measured: string;
}

const MARK = 'bench-targets';

/** An HTML comment (invisible in the rendered Markdown) that bench/run.ts reads for its summary. */
export function targetComment(targets: TargetResult[]): string {
  return `<!-- ${MARK} ${JSON.stringify(targets).replaceAll('--', '\\u002d\\u002d')} -->`;
}

export function readTargets(markdown: string): TargetResult[] {
  const out: TargetResult[] = [];
  for (const match of markdown.matchAll(new RegExp(`<!-- ${MARK} (.*?) -->`, 'g'))) {
    out.push(...(JSON.parse(match[1]!) as TargetResult[]));
  }
  return out;
}

/** `--name value` from argv, or the default. */
export function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(name);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1]! : fallback;
}

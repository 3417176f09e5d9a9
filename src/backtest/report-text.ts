/** A backtest report as `npm run rescore` prints it. */
import { type Agreement, agreementOf } from '../calibration/agreement.js';
import type { BacktestReport } from './run.js';

function rate(a: Agreement): string {
  return a.verdicts === 0 ? '-' : `${(100 * (a.rate ?? 0)).toFixed(1)}% of ${a.verdicts}`;
}

function kappa(a: Agreement): string {
  return a.kappa === null ? '-' : a.kappa.toFixed(2);
}

function table(rows: string[][]): string[] {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) =>
    r
      .map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!)))
      .join('  ')
      .trimEnd(),
  );
}

export function formatBacktestReport(report: BacktestReport, describeWindow: string): string {
  const t = report.tally;
  const rescored = t.conversations - t.withoutTranscript;
  const out = [
    `rubric ${report.rubric.name} v${report.rubric.version} (sha256 ${report.rubric.hash.slice(0, 12)}) against ${describeWindow}`,
    `${rescored} conversation(s) rescored in ${(report.durationMs / 1000).toFixed(2)} s on ${report.threads || 1} thread(s)${report.threadCpuMs.length > 0 ? ` (CPU ${report.threadCpuMs.map((ms) => `${(ms / 1000).toFixed(2)} s`).join(' + ')})` : ''}${t.withoutTranscript > 0 ? `; ${t.withoutTranscript} without a stored transcript skipped` : ''}; nothing was written`,
    '',
  ];
  const rules = Object.values(t.rules).sort((a, b) => a.rule.localeCompare(b.rule));
  const rows = [['rule', 'compared', 'changed', 'how', 'reviewers before', 'after', 'kappa before', 'after']];
  for (const r of rules) {
    const before = agreementOf(r.before);
    const after = agreementOf(r.after);
    const how = Object.entries(r.transitions)
      .map(([k, n]) => `${k.replace('>', '->')} ${n}`)
      .join(', ');
    const name = r.inNew ? (r.inStored ? r.rule : `${r.rule} (new)`) : `${r.rule} (removed)`;
    rows.push([
      name,
      String(r.compared),
      String(r.changed),
      how || '-',
      rate(before),
      rate(after),
      kappa(before),
      kappa(after),
    ]);
  }
  out.push(...table(rows));
  const allBefore = agreementOf(rules.flatMap((r) => r.before));
  const allAfter = agreementOf(rules.flatMap((r) => r.after));
  out.push(
    '',
    `conversations with a changed outcome: ${t.changedConversations}; with another score: ${t.scoreChanged} (average change ${rescored > 0 ? (t.scoreDeltaSum / rescored).toFixed(2) : '0.00'})`,
    `pass -> fail: ${t.passToFail}; fail -> pass: ${t.failToPass}`,
    `agreement with reviewers: before ${rate(allBefore)}, after ${rate(allAfter)}`,
  );
  for (const r of rules) {
    if (r.examples.length > 0) out.push(`  ${r.rule} changed in e.g. ${r.examples.join(', ')}`);
  }
  return `${out.join('\n')}\n`;
}

import type { BacktestReport } from '../../backtest/run.js';
import { agreementOf } from '../../calibration/agreement.js';
import { formatCount, formatRate } from '../format.js';
import { BASE, CsrfField, Layout, type PageContext } from '../layout.js';
import type { RuleWords } from '../rubric-words.js';
import { KappaText } from './calibration.js';

export interface RubricData {
  rubric: { name: string; version: string; hash: string; shape: string; formId?: string };
  rules: RuleWords[];
  canBacktest: boolean;
  maxUploadKiB: number;
  defaultDays: number;
  backtest?:
    | { ok: true; report: BacktestReport; fileName: string; days: number }
    | { ok: false; problems: string[]; fileName: string };
}

export function BacktestResult(props: { report: BacktestReport; fileName: string; days: number }) {
  const { report, fileName } = props;
  const t = report.tally;
  const rescored = t.conversations - t.withoutTranscript;
  const rules = Object.values(t.rules).sort((a, b) => a.rule.localeCompare(b.rule));
  return (
    <section class="card" aria-label="Backtest result" id="backtest">
      <h2>{`Backtest of ${fileName}`}</h2>
      <p>
        {`${report.rubric.name} v${report.rubric.version} (sha256 ${report.rubric.hash.slice(0, 12)}) against the last ${props.days} days: `}
        <strong>{`${formatCount(rescored)} conversations rescored`}</strong>
        {t.withoutTranscript > 0
          ? `, ${formatCount(t.withoutTranscript)} without a stored transcript skipped`
          : ''}
        {` in ${(report.durationMs / 1000).toFixed(1)} s. Nothing was written.`}
      </p>
      <ul>
        <li>{`${formatCount(t.changedConversations)} conversations would change at least one rule's outcome`}</li>
        <li>{`${formatCount(t.scoreChanged)} would get another score (average change ${rescored > 0 ? (t.scoreDeltaSum / rescored).toFixed(2) : '0.00'} points)`}</li>
        <li>{`${formatCount(t.passToFail)} would go from pass to fail, ${formatCount(t.failToPass)} from fail to pass`}</li>
      </ul>
      <div class="table-wrap">
        <table>
          <thead>
            <tr>
              <th scope="col">Rule</th>
              <th scope="col" class="num">
                Compared
              </th>
              <th scope="col" class="num">
                Would change
              </th>
              <th scope="col">How</th>
              <th scope="col" class="num">
                Agreement before
              </th>
              <th scope="col" class="num">
                Agreement after
              </th>
              <th scope="col">Kappa after</th>
              <th scope="col">Examples</th>
            </tr>
          </thead>
          <tbody>
            {rules.map((r) => {
              const before = agreementOf(r.before);
              const after = agreementOf(r.after);
              return (
                <tr>
                  <th scope="row">
                    {r.rule}
                    {!r.inNew ? <div class="muted">not in the new rubric</div> : null}
                    {!r.inStored ? <div class="muted">new rule</div> : null}
                  </th>
                  <td class="num">{formatCount(r.compared)}</td>
                  <td class="num">{formatCount(r.changed)}</td>
                  <td>
                    {Object.entries(r.transitions)
                      .map(([k, n]) => `${k.replace('>', ' → ')}: ${n}`)
                      .join('; ')}
                  </td>
                  <td class="num">
                    {before.verdicts > 0 ? `${formatRate(before.rate)} of ${before.verdicts}` : '–'}
                  </td>
                  <td class="num">
                    {after.verdicts > 0 ? `${formatRate(after.rate)} of ${after.verdicts}` : '–'}
                  </td>
                  <td>
                    <KappaText agreement={after} />
                  </td>
                  <td>
                    {r.examples.map((id) => (
                      <div>
                        <a href={`${BASE}/conversations/${encodeURIComponent(id)}`}>{id}</a>
                      </div>
                    ))}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
    </section>
  );
}

export function RubricPage(props: { ctx: PageContext; data: RubricData }) {
  const { ctx, data } = props;
  const r = data.rubric;
  return (
    <Layout title="Rubric" section="rubric" ctx={ctx}>
      <div class="card">
        <dl class="facts">
          <dt>Name</dt>
          <dd>{r.name}</dd>
          <dt>Version</dt>
          <dd>{r.version}</dd>
          <dt>Content hash</dt>
          <dd>{`sha256 ${r.hash}`}</dd>
          <dt>Format</dt>
          <dd>{r.shape === 'tutorial' ? "the tutorial's (patterns over the whole call)" : 'native'}</dd>
          {r.formId ? (
            <>
              <dt>QM form</dt>
              <dd>{r.formId}</dd>
            </>
          ) : null}
        </dl>
      </div>
      <p class="muted">
        The composite score is the weighted average of the rules that apply. A conversation fails when a
        critical rule fails.
      </p>
      {data.rules.map((rule) => (
        <section class="card" aria-label={`Rule ${rule.name}`}>
          <h2>
            {rule.name}
            {rule.critical ? <span class="pill fail">critical</span> : null}
          </h2>
          {rule.description ? <p>{rule.description}</p> : null}
          <ul>
            {rule.sentences.map((s) => (
              <li>{s}</li>
            ))}
          </ul>
          <p class="muted">{`Weight ${rule.weight} (${rule.weightShare.toFixed(0)} % of the score). Comments: “${rule.passComment}” / “${rule.failComment}”.`}</p>
        </section>
      ))}
      <h2>Try a rubric change on past conversations</h2>
      {data.backtest && !data.backtest.ok ? (
        <div class="error" role="alert">
          <p>{`${data.backtest.fileName} could not be used:`}</p>
          <ul>
            {data.backtest.problems.map((p) => (
              <li>{p}</li>
            ))}
          </ul>
        </div>
      ) : null}
      {data.backtest?.ok ? (
        <BacktestResult
          report={data.backtest.report}
          fileName={data.backtest.fileName}
          days={data.backtest.days}
        />
      ) : null}
      {data.canBacktest ? (
        <form method="post" action={`${BASE}/rubric/backtest`} enctype="multipart/form-data" class="card">
          <CsrfField token={ctx.csrfToken} />
          <p>
            Upload a rubric file (YAML or JSON, at most {String(data.maxUploadKiB)} KiB). It is scored against
            the stored transcripts and compared with the current results and the reviewers' verdicts. It is
            not saved and nothing changes; to deploy it, set <code>RUBRIC_PATH</code> and restart.
          </p>
          <label for="rubric-file">Rubric file</label>
          <input type="file" id="rubric-file" name="rubric" accept=".yaml,.yml,.json" required />
          <label for="rubric-days">Conversations of the last … days</label>
          <input
            type="number"
            id="rubric-days"
            name="days"
            min="1"
            max="365"
            value={String(data.defaultDays)}
          />
          <div class="actions">
            <button type="submit" class="primary">
              Run backtest
            </button>
          </div>
        </form>
      ) : (
        <p class="muted">
          Admins can upload a rubric here to see what it would change. From a shell:{' '}
          <code>npm run rescore -- --rubric FILE</code>.
        </p>
      )}
    </Layout>
  );
}

import { type Agreement, describeKappa, MIN_VERDICTS_FOR_KAPPA } from '../../calibration/agreement.js';
import type { RecentReview, ReviewerSummary } from '../../store/reviews.js';
import { formatCount, formatPct, formatRate } from '../format.js';
import { BASE, Layout, OutcomePill, type PageContext } from '../layout.js';
import { PeriodLinks } from './period.js';

export interface CalibrationData {
  days: number;
  rules: { rule: string; agreement: Agreement }[];
  overall: Agreement;
  reviewers: ReviewerSummary[];
  recent: RecentReview[];
}

export function KappaText(props: { agreement: Agreement }) {
  const a = props.agreement;
  if (a.kappa === null) return <span class="muted">{a.kappaNote ?? '–'}</span>;
  return <span>{`${a.kappa.toFixed(2)} (${describeKappa(a.kappa)})`}</span>;
}

export function disagreementText(a: Agreement): string {
  return a.disagreements
    .map((d) => `engine ${d.engineOutcome}, reviewer ${d.reviewerOutcome}: ${d.n}`)
    .join('; ');
}

export function CalibrationPage(props: { ctx: PageContext; data: CalibrationData }) {
  const { ctx, data } = props;
  const o = data.overall;
  return (
    <Layout title="Calibration" section="calibration" ctx={ctx}>
      <PeriodLinks days={data.days} href={(d) => `${BASE}/calibration?days=${d}`} />
      <p class="muted">{`Verdicts given in the last ${data.days} days.`}</p>
      <section aria-label="Agreement overall" class="grid">
        <div class="kpi">
          <div class="label">Agreement with reviewers</div>
          <div class="value" id="overall-agreement">
            {formatRate(o.rate)}
          </div>
          <div class="sub">{`${formatCount(o.agreed)} of ${formatCount(o.verdicts)} verdicts`}</div>
        </div>
        <div class="kpi">
          <div class="label">Cohen's kappa</div>
          <div class="value">
            <KappaText agreement={o} />
          </div>
          <div class="sub">{`shown from ${MIN_VERDICTS_FOR_KAPPA} verdicts on`}</div>
        </div>
      </section>
      <p class="muted">
        A verdict agrees when the reviewer accepts the engine's outcome for a rule. Kappa discounts the
        agreement expected by chance from how often each side says pass, fail and N/A (1 = perfect, 0 = no
        better than chance).
      </p>
      <h2>Per rule</h2>
      <div class="table-wrap">
        <table>
          <thead>
            <tr>
              <th scope="col">Rule</th>
              <th scope="col" class="num">
                Verdicts
              </th>
              <th scope="col" class="num">
                Agreement
              </th>
              <th scope="col">Kappa</th>
              <th scope="col">Disagreements</th>
            </tr>
          </thead>
          <tbody>
            {data.rules.length === 0 ? (
              <tr>
                <td colspan={5} class="muted">
                  No verdicts yet. Reviewers record them on a conversation's page.
                </td>
              </tr>
            ) : (
              data.rules.map(({ rule, agreement: a }) => (
                <tr>
                  <th scope="row">{rule}</th>
                  <td class="num">{formatCount(a.verdicts)}</td>
                  <td class="num">{formatPct(a.agreed, a.verdicts)}</td>
                  <td>
                    <KappaText agreement={a} />
                  </td>
                  <td>{disagreementText(a)}</td>
                </tr>
              ))
            )}
          </tbody>
        </table>
      </div>
      <h2>Reviewers</h2>
      <div class="table-wrap">
        <table>
          <thead>
            <tr>
              <th scope="col">Reviewer</th>
              <th scope="col" class="num">
                Conversations
              </th>
              <th scope="col" class="num">
                Verdicts
              </th>
              <th scope="col" class="num">
                Agree with engine
              </th>
              <th scope="col">Last review</th>
            </tr>
          </thead>
          <tbody>
            {data.reviewers.map((r) => (
              <tr>
                <th scope="row">{r.reviewer}</th>
                <td class="num">{formatCount(r.results)}</td>
                <td class="num">{formatCount(r.verdicts)}</td>
                <td class="num">{formatPct(r.agreed, r.verdicts)}</td>
                <td>{ctx.time.dateTime(r.lastAt)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <h2>Latest disagreements</h2>
      <div class="table-wrap">
        <table>
          <thead>
            <tr>
              <th scope="col">When</th>
              <th scope="col">Reviewer</th>
              <th scope="col">Conversation</th>
              <th scope="col">Rule</th>
              <th scope="col">Engine</th>
              <th scope="col">Reviewer</th>
              <th scope="col">Note</th>
            </tr>
          </thead>
          <tbody>
            {data.recent.length === 0 ? (
              <tr>
                <td colspan={7} class="muted">
                  None yet.
                </td>
              </tr>
            ) : null}
            {data.recent.map((v) => (
              <tr>
                <td>{ctx.time.dateTime(v.createdAt)}</td>
                <td>{v.reviewer}</td>
                <td>
                  <a href={`${BASE}/conversations/${encodeURIComponent(v.conversationId)}`}>
                    {v.conversationId}
                  </a>
                </td>
                <td>{v.rule}</td>
                <td>
                  <OutcomePill outcome={v.engineOutcome} />
                </td>
                <td>
                  <OutcomePill outcome={v.reviewerOutcome} />
                </td>
                <td>{v.note ?? ''}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </Layout>
  );
}

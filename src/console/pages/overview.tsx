import type { QueueHealth } from '../../store/queue-view.js';
import type { RuleTotals, Totals } from '../../store/result-stats.js';
import type { ResultSummary } from '../../store/results.js';
import { type DayPoint, TrendChart } from '../charts.js';
import { formatCount, formatPct, formatScore, formatSpan } from '../format.js';
import { BASE, FailedCount, Layout, type PageContext, RateBar } from '../layout.js';
import { PeriodLinks } from './period.js';

export interface OverviewData {
  days: number;
  fromDay: string;
  toDay: string;
  points: DayPoint[];
  totals: Totals;
  rules: RuleTotals[];
  critical: ResultSummary[];
  queue: QueueHealth;
}

const STATE_WORDS: Record<string, string> = {
  waiting_agent: 'waiting for the agent',
  waiting_transcript: 'waiting for the transcript',
  due: 'due',
  in_progress: 'in progress',
  failed: 'failed',
};

export function conversationsHref(params: Record<string, string | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== '') q.set(k, v);
  const s = q.toString();
  return `${BASE}/conversations${s ? `?${s}` : ''}`;
}

export function OverviewPage(props: { ctx: PageContext; data: OverviewData }) {
  const { ctx, data } = props;
  const t = data.totals;
  const range = { since: data.fromDay, until: data.toDay };
  return (
    <Layout title="Overview" section="overview" ctx={ctx}>
      <PeriodLinks days={data.days} href={(d) => `${BASE}?days=${d}`} />
      <p class="muted">{`${data.fromDay} to ${data.toDay} (${ctx.timeZone})`}</p>
      <section aria-label="Key figures" class="grid">
        <div class="kpi">
          <div class="label">Conversations scored</div>
          <div class="value">{formatCount(t.results)}</div>
        </div>
        <div class="kpi">
          <div class="label">Average score</div>
          <div class="value">{t.results > 0 ? formatScore(t.scoreSum / t.results) : '–'}</div>
        </div>
        <div class="kpi">
          <div class="label">Pass rate</div>
          <div class="value">{formatPct(t.passed, t.results)}</div>
          <div class="sub">fail = a critical rule failed</div>
        </div>
        <div class="kpi">
          <div class="label">Critical failures</div>
          <div class="value">
            <a href={conversationsHref({ ...range, critical: 'true' })}>{formatCount(t.criticalFailed)}</a>
          </div>
        </div>
      </section>
      <h2>Per day</h2>
      <TrendChart
        id="overview-trend"
        points={data.points}
        title="Conversations, average score and pass rate per day"
      />
      <h2>Rules</h2>
      <div class="table-wrap">
        <table>
          <thead>
            <tr>
              <th scope="col">Rule</th>
              <th scope="col">Pass rate</th>
              <th scope="col" class="num">
                Passed
              </th>
              <th scope="col" class="num">
                Failed
              </th>
              <th scope="col" class="num">
                N/A
              </th>
            </tr>
          </thead>
          <tbody>
            {data.rules.length === 0 ? (
              <tr>
                <td colspan={5} class="muted">
                  No results in this period.
                </td>
              </tr>
            ) : (
              data.rules.map((r) => (
                <tr>
                  <th scope="row">{r.rule}</th>
                  <td>
                    <RateBar part={r.passes} whole={r.passes + r.fails} />
                  </td>
                  <td class="num">{formatCount(r.passes)}</td>
                  <FailedCount fails={r.fails} href={conversationsHref({ ...range, failed_rule: r.rule })} />
                  <td class="num">{formatCount(r.nas)}</td>
                </tr>
              ))
            )}
          </tbody>
        </table>
      </div>
      <h2>Latest critical failures</h2>
      {data.critical.length === 0 ? (
        <p class="muted">None in this period.</p>
      ) : (
        <ul>
          {data.critical.map((r) => (
            <li>
              <a href={`${BASE}/conversations/${encodeURIComponent(r.conversationId)}`}>{r.conversationId}</a>{' '}
              <span class="muted">{`agent ${r.agentId}, ${ctx.time.dateTime(r.evaluatedAt)}`}</span>
              {r.criticalFailure ? <div class="muted">{r.criticalFailure}</div> : null}
            </li>
          ))}
        </ul>
      )}
      <h2>Queue</h2>
      <QueueSummary queue={data.queue} now={ctx.now} time={ctx.time} />
    </Layout>
  );
}

export function QueueSummary(props: { queue: QueueHealth; now: number; time: PageContext['time'] }) {
  const { queue } = props;
  return (
    <div class="card">
      {queue.states.length === 0 ? (
        <p>Nothing waiting and nothing failed.</p>
      ) : (
        <ul>
          {queue.states.map((s) => (
            <li>
              {`${formatCount(s.count)} ${STATE_WORDS[s.state] ?? s.state}`}
              {s.oldestFirstSeenAt !== null ? (
                <span class="muted">{` (oldest first seen ${formatSpan(props.now - s.oldestFirstSeenAt)} ago)`}</span>
              ) : null}
            </li>
          ))}
        </ul>
      )}
      <p class="muted">
        {queue.lastSweep
          ? `Last sweep ${props.time.dateTime(queue.lastSweep.startedAt)}: ${queue.lastSweep.status}${queue.lastSweep.error ? ` (${queue.lastSweep.error})` : ''}`
          : 'No sweep has run yet.'}
      </p>
      <a href={`${BASE}/queue`}>Open the queue</a>
    </div>
  );
}

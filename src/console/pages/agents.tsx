import type { AgentTotals, RuleTotals, Totals } from '../../store/result-stats.js';
import { type DayPoint, TrendChart } from '../charts.js';
import { formatCount, formatPct, formatScore } from '../format.js';
import { BASE, FailedCount, Layout, type PageContext, RateBar } from '../layout.js';
import { conversationsHref } from './overview.js';
import { PeriodLinks } from './period.js';

export interface AgentsData {
  days: number;
  fromDay: string;
  toDay: string;
  agents: AgentTotals[];
}

export function AgentsPage(props: { ctx: PageContext; data: AgentsData }) {
  const { ctx, data } = props;
  return (
    <Layout title="Agents" section="agents" ctx={ctx}>
      <PeriodLinks days={data.days} href={(d) => `${BASE}/agents?days=${d}`} />
      <p class="muted">{`${data.fromDay} to ${data.toDay} (${ctx.timeZone}); ${data.agents.length} agents, most conversations first`}</p>
      <div class="table-wrap">
        <table>
          <thead>
            <tr>
              <th scope="col">Agent</th>
              <th scope="col" class="num">
                Conversations
              </th>
              <th scope="col" class="num">
                Average
              </th>
              <th scope="col">Pass rate</th>
              <th scope="col" class="num">
                Critical failures
              </th>
            </tr>
          </thead>
          <tbody>
            {data.agents.length === 0 ? (
              <tr>
                <td colspan={5} class="muted">
                  No results in this period.
                </td>
              </tr>
            ) : (
              data.agents.map((a) => (
                <tr>
                  <th scope="row">
                    <a href={`${BASE}/agents/${encodeURIComponent(a.agentId)}?days=${data.days}`}>
                      {a.agentId}
                    </a>
                  </th>
                  <td class="num">{formatCount(a.results)}</td>
                  <td class="num">{formatScore(a.results > 0 ? a.scoreSum / a.results : null)}</td>
                  <td>
                    <RateBar part={a.passed} whole={a.results} />
                  </td>
                  <td class="num">{formatCount(a.criticalFailed)}</td>
                </tr>
              ))
            )}
          </tbody>
        </table>
      </div>
    </Layout>
  );
}

export interface AgentData {
  agentId: string;
  days: number;
  fromDay: string;
  toDay: string;
  totals: Totals;
  points: DayPoint[];
  rules: RuleTotals[];
  /** The whole team's pass rate per rule over the same days, for comparison. */
  teamRules: Map<string, RuleTotals>;
}

export function AgentPage(props: { ctx: PageContext; data: AgentData }) {
  const { ctx, data } = props;
  const t = data.totals;
  const range = { since: data.fromDay, until: data.toDay, agent: data.agentId };
  return (
    <Layout title={`Agent ${data.agentId}`} section="agents" ctx={ctx}>
      <PeriodLinks
        days={data.days}
        href={(d) => `${BASE}/agents/${encodeURIComponent(data.agentId)}?days=${d}`}
      />
      <section aria-label="Key figures" class="grid">
        <div class="kpi">
          <div class="label">Conversations</div>
          <div class="value">
            <a href={conversationsHref(range)}>{formatCount(t.results)}</a>
          </div>
        </div>
        <div class="kpi">
          <div class="label">Average score</div>
          <div class="value">{t.results > 0 ? formatScore(t.scoreSum / t.results) : '–'}</div>
        </div>
        <div class="kpi">
          <div class="label">Pass rate</div>
          <div class="value">{formatPct(t.passed, t.results)}</div>
        </div>
        <div class="kpi">
          <div class="label">Critical failures</div>
          <div class="value">
            <a href={conversationsHref({ ...range, critical: 'true' })}>{formatCount(t.criticalFailed)}</a>
          </div>
        </div>
      </section>
      <h2>Trend</h2>
      <TrendChart
        id="agent-trend"
        points={data.points}
        title={`Agent ${data.agentId}: conversations, average score and pass rate per day`}
      />
      <h2>Rules</h2>
      <div class="table-wrap">
        <table>
          <thead>
            <tr>
              <th scope="col">Rule</th>
              <th scope="col">Pass rate</th>
              <th scope="col">Team</th>
              <th scope="col" class="num">
                Failed
              </th>
              <th scope="col" class="num">
                N/A
              </th>
            </tr>
          </thead>
          <tbody>
            {data.rules.map((r) => {
              const team = data.teamRules.get(r.rule);
              return (
                <tr>
                  <th scope="row">{r.rule}</th>
                  <td>
                    <RateBar part={r.passes} whole={r.passes + r.fails} />
                  </td>
                  <td class="muted">{team ? formatPct(team.passes, team.passes + team.fails) : '–'}</td>
                  <FailedCount fails={r.fails} href={conversationsHref({ ...range, failed_rule: r.rule })} />
                  <td class="num">{formatCount(r.nas)}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
    </Layout>
  );
}

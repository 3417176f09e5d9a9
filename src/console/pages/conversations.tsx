import type { ResultRow } from '../../store/results.js';
import { formatScore } from '../format.js';
import { BASE, Layout, OutcomePill, type PageContext } from '../layout.js';

export interface ConversationsData {
  /** The query as typed, to fill the form again. */
  values: Record<string, string>;
  problems: string[];
  rows: ResultRow[];
  ruleNames: string[];
  destinations: string[];
  nextHref: string | null;
  firstHref: string | null;
  csvHref: string;
}

function Field(props: { name: string; label: string; value?: string; type?: string; placeholder?: string }) {
  return (
    <div>
      <label for={`f-${props.name}`}>{props.label}</label>
      <input
        type={props.type ?? 'text'}
        id={`f-${props.name}`}
        name={props.name}
        value={props.value ?? ''}
        placeholder={props.placeholder}
        {...(props.type === 'number' ? { min: '0', max: '100', step: '0.01' } : {})}
      />
    </div>
  );
}

export function ConversationsPage(props: { ctx: PageContext; data: ConversationsData }) {
  const { ctx, data } = props;
  const v = data.values;
  return (
    <Layout title="Conversations" section="conversations" ctx={ctx}>
      <form method="get" action={`${BASE}/conversations`} class="filters card" aria-label="Filters">
        <Field name="since" label="From (day)" type="date" value={v.since} />
        <Field name="until" label="To (day)" type="date" value={v.until} />
        <Field name="agent" label="Agent" value={v.agent} />
        <Field name="min_score" label="Score from" type="number" value={v.min_score} />
        <Field name="max_score" label="Score to" type="number" value={v.max_score} />
        <div>
          <label for="f-failed_rule">Failed rule</label>
          <select id="f-failed_rule" name="failed_rule">
            <option value="">any</option>
            {data.ruleNames.map((r) => (
              <option value={r} selected={v.failed_rule === r}>
                {r}
              </option>
            ))}
          </select>
        </div>
        <div>
          <label for="f-critical">Critical failure</label>
          <select id="f-critical" name="critical">
            <option value="">any</option>
            <option value="true" selected={v.critical === 'true'}>
              only critical failures
            </option>
          </select>
        </div>
        <div>
          <label for="f-reviewed">Reviewed</label>
          <select id="f-reviewed" name="reviewed">
            <option value="">any</option>
            <option value="true" selected={v.reviewed === 'true'}>
              reviewed
            </option>
            <option value="false" selected={v.reviewed === 'false'}>
              not reviewed
            </option>
          </select>
        </div>
        {data.destinations.length > 1 ? (
          <div>
            <label for="f-destination">Form / rubric key</label>
            <select id="f-destination" name="destination">
              <option value="">any</option>
              {data.destinations.map((d) => (
                <option value={d} selected={v.destination === d}>
                  {d}
                </option>
              ))}
            </select>
          </div>
        ) : null}
        <div class="actions">
          <button type="submit" class="primary">
            Filter
          </button>
          <a href={`${BASE}/conversations`}>Clear</a>
        </div>
      </form>
      {data.problems.length > 0 ? (
        <div class="error" role="alert">
          <ul>
            {data.problems.map((p) => (
              <li>{p}</li>
            ))}
          </ul>
        </div>
      ) : null}
      <div class="actions">
        <a href={data.csvHref}>Download these as CSV</a>
      </div>
      <div class="table-wrap">
        <table>
          <thead>
            <tr>
              <th scope="col">Scored</th>
              <th scope="col">Conversation</th>
              <th scope="col">Agent</th>
              <th scope="col" class="num">
                Score
              </th>
              <th scope="col">Result</th>
              <th scope="col">Failed rules</th>
              <th scope="col" class="num">
                Verdicts
              </th>
            </tr>
          </thead>
          <tbody>
            {data.rows.length === 0 ? (
              <tr>
                <td colspan={7} class="muted">
                  No conversations match.
                </td>
              </tr>
            ) : (
              data.rows.map((r) => (
                <tr>
                  <td>{ctx.time.dateTime(r.evaluatedAt)}</td>
                  <td>
                    <a href={`${BASE}/conversations/${encodeURIComponent(r.conversationId)}`}>
                      {r.conversationId}
                    </a>
                  </td>
                  <td>
                    <a href={`${BASE}/agents/${encodeURIComponent(r.agentId)}`}>{r.agentId}</a>
                  </td>
                  <td class="num">{formatScore(r.overallScore)}</td>
                  <td>
                    <OutcomePill outcome={r.passed ? 'pass' : 'fail'} />
                  </td>
                  <td>
                    {r.rules
                      .filter((x) => x.outcome === 'fail')
                      .map((x) => x.name)
                      .join(', ') || <span class="muted">none</span>}
                  </td>
                  <td class="num">{r.reviewCount > 0 ? String(r.reviewCount) : ''}</td>
                </tr>
              ))
            )}
          </tbody>
        </table>
      </div>
      <nav class="pager" aria-label="Pages">
        {data.firstHref ? <a href={data.firstHref}>First page</a> : null}
        {data.nextHref ? (
          <a href={data.nextHref} rel="next">
            Next page
          </a>
        ) : null}
      </nav>
    </Layout>
  );
}

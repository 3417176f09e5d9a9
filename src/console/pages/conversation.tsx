import type { TranscriptLine } from '../../scoring/index.js';
import type { DeliveryView, JobView } from '../../store/queue-view.js';
import type { ResultRow } from '../../store/results.js';
import type { ReviewRow } from '../../store/reviews.js';
import { formatScore } from '../format.js';
import { highlightSpans, splitBySpans } from '../highlight.js';
import { BASE, CsrfField, Layout, OutcomePill, type PageContext } from '../layout.js';

export interface ConversationData {
  conversationId: string;
  results: { row: ResultRow; reviews: ReviewRow[] }[];
  transcript: TranscriptLine[] | null;
  /** How long transcripts are kept (RETENTION_DAYS, in ms); 0: for ever. */
  transcriptRetentionMs: number;
  jobs: JobView[];
  deliveries: DeliveryView[];
  canReview: boolean;
  notice?: string;
  problems?: string[];
}

const VERDICT_WORDS: Record<string, string> = {
  agree: 'agrees',
  pass: 'would pass it',
  fail: 'would fail it',
  na: 'would mark it N/A',
};

/** A line's time as written, shortened: the clock time of an ISO timestamp, an offset as it is. */
function shortTime(raw: string): string {
  const m = /T(\d{2}:\d{2}:\d{2})/.exec(raw);
  return m ? m[1]! : raw.slice(0, 12);
}

/** The call's start and end as people read them (CXone's ISO times, in the console's zone). */
function callTimes(start: string | null, end: string | null, ctx: PageContext): string {
  const at = (iso: string | null) => {
    const ms = iso ? Date.parse(iso) : Number.NaN;
    return Number.isNaN(ms) ? (iso ?? '?') : ctx.time.dateTime(ms);
  };
  if (!start && !end) return '–';
  const s = Date.parse(start ?? '');
  const e = Date.parse(end ?? '');
  const length = Number.isNaN(s) || Number.isNaN(e) || e < s ? '' : ` (${Math.round((e - s) / 1000)} s)`;
  return `${at(start)} – ${at(end)}${length}`;
}

function anchor(resultId: number, rule: string): string {
  return `rule-${resultId}-${rule.replace(/[^A-Za-z0-9_-]/g, '_')}`;
}

function Delivery(props: { row: ResultRow; ctx: PageContext }) {
  const { row, ctx } = props;
  switch (row.deliveryState) {
    case 'delivered':
      return (
        <span>
          {`Delivered to ${row.deliveryTarget ?? 'its destination'}`}
          {row.deliveryId ? ` as ${row.deliveryId}` : ''}
          {row.deliveredAt !== null ? `, ${ctx.time.dateTime(row.deliveredAt)}` : ''}
        </span>
      );
    case 'pending':
      return <span>{`Not delivered yet${row.deliveryNote ? `: ${row.deliveryNote}` : ''}`}</span>;
    case 'failed':
      return <span class="fail">{`Delivery failed${row.deliveryNote ? `: ${row.deliveryNote}` : ''}`}</span>;
    default:
      return <span>{`Kept here only${row.deliveryNote ? ` (${row.deliveryNote})` : ''}`}</span>;
  }
}

function ReviewForm(props: {
  row: ResultRow;
  mine: Map<string, ReviewRow>;
  ctx: PageContext;
  conversationId: string;
}) {
  const { row, mine, ctx } = props;
  return (
    <form
      method="post"
      action={`${BASE}/conversations/${encodeURIComponent(props.conversationId)}/review`}
      class="card"
    >
      <h3>Your review</h3>
      <p class="muted">
        For each rule: agree with the engine, or give the outcome you would have given. Rules left on “no
        verdict” are not recorded.
      </p>
      <CsrfField token={ctx.csrfToken} />
      <input type="hidden" name="result_id" value={String(row.id)} />
      {row.rules.map((rule, i) => {
        const current = mine.get(rule.name);
        const choice = current?.verdict ?? '';
        const options: [string, string][] = [
          ['', 'no verdict'],
          ['agree', `agree (${rule.outcome === 'na' ? 'N/A' : rule.outcome})`],
          ...(['pass', 'fail', 'na'] as const)
            .filter((o) => o !== rule.outcome)
            .map((o): [string, string] => [o, `should be ${o === 'na' ? 'N/A' : o}`]),
        ];
        return (
          <div class="card">
            <input type="hidden" name={`rule_${i}`} value={rule.name} />
            <fieldset class="verdict">
              <legend>
                <strong>{rule.name}</strong> <OutcomePill outcome={rule.outcome} />
              </legend>
              {options.map(([value, label]) => (
                <label>
                  <input type="radio" name={`verdict_${i}`} value={value} checked={choice === value} />
                  {label}
                </label>
              ))}
            </fieldset>
            <label for={`note-${row.id}-${i}`}>Note</label>
            <input
              type="text"
              id={`note-${row.id}-${i}`}
              name={`note_${i}`}
              maxlength={2000}
              value={current?.note ?? ''}
            />
          </div>
        );
      })}
      <button type="submit" class="primary">
        Save review
      </button>
    </form>
  );
}

/**
 * Why there is no transcript to show. Retention deletes transcripts after RETENTION_DAYS while the
 * results stay longer (RESULTS_RETENTION_DAYS), so an old conversation's page shows its scores and
 * evidence without the words: say so, rather than leave a reviewer wondering what broke.
 */
function transcriptMissing(data: ConversationData, now: number): string {
  const days = data.transcriptRetentionMs / 86_400_000;
  const newest = Math.max(...data.results.map((r) => r.row.evaluatedAt));
  if (days > 0 && data.results.length > 0 && newest < now - data.transcriptRetentionMs)
    return `The transcript was deleted after ${days} day${days === 1 ? '' : 's'} by retention (RETENTION_DAYS); the scores, evidence and reviews above are kept.`;
  return data.results.length === 0
    ? 'No transcript is stored: the conversation has not been scored.'
    : 'The transcript is not stored (scored before transcripts were kept, or it could not be read).';
}

export function ConversationPage(props: { ctx: PageContext; data: ConversationData }) {
  const { ctx, data } = props;
  const spans = data.transcript
    ? highlightSpans(
        data.results.flatMap((r) => r.row.rules),
        data.transcript,
      )
    : new Map();
  const firstAnchor = new Map<string, string>();
  for (const { row } of data.results)
    for (const r of row.rules) if (!firstAnchor.has(r.name)) firstAnchor.set(r.name, anchor(row.id, r.name));
  return (
    <Layout title={`Conversation ${data.conversationId}`} section="conversations" ctx={ctx}>
      {data.notice ? (
        <p class="notice" role="status">
          {data.notice}
        </p>
      ) : null}
      {data.problems && data.problems.length > 0 ? (
        <div class="error" role="alert">
          <ul>
            {data.problems.map((p) => (
              <li>{p}</li>
            ))}
          </ul>
        </div>
      ) : null}
      {data.results.length === 0 ? (
        <p class="muted">No result for this conversation (yet). Its job history is below.</p>
      ) : null}
      {data.results.map(({ row, reviews }) => {
        const byRule = new Map<string, ReviewRow[]>();
        for (const v of reviews) byRule.set(v.rule, [...(byRule.get(v.rule) ?? []), v]);
        return (
          <section aria-label={`Result for ${row.destination}`}>
            <div class="grid">
              <div class="kpi">
                <div class="label">Score</div>
                <div class="value">{formatScore(row.overallScore)}</div>
              </div>
              <div class="kpi">
                <div class="label">Result</div>
                <div class="value">
                  <OutcomePill outcome={row.passed ? 'pass' : 'fail'} />
                </div>
                {row.criticalFailure ? <div class="sub">{row.criticalFailure}</div> : null}
              </div>
            </div>
            <div class="card">
              <dl class="facts">
                <dt>Agent</dt>
                <dd>
                  <a href={`${BASE}/agents/${encodeURIComponent(row.agentId)}`}>{row.agentId}</a>
                </dd>
                <dt>Media</dt>
                <dd>{row.mediaType ?? '–'}</dd>
                <dt>Call</dt>
                <dd>{callTimes(row.startTime, row.endTime, ctx)}</dd>
                <dt>Scored</dt>
                <dd>{ctx.time.dateTime(row.evaluatedAt)}</dd>
                <dt>Rubric</dt>
                <dd>{`${row.rubricName} v${row.rubricVersion} (sha256 ${row.rubricHash.slice(0, 12)})`}</dd>
                <dt>Form / rubric key</dt>
                <dd>{row.destination}</dd>
                <dt>Delivery</dt>
                <dd>
                  <Delivery row={row} ctx={ctx} />
                </dd>
              </dl>
            </div>
            <h2>Rules</h2>
            <div class="table-wrap">
              <table>
                <thead>
                  <tr>
                    <th scope="col">Rule</th>
                    <th scope="col">Outcome</th>
                    <th scope="col" class="num">
                      Score
                    </th>
                    <th scope="col" class="num">
                      Weight
                    </th>
                    <th scope="col">Evidence</th>
                    <th scope="col">Reviewers</th>
                  </tr>
                </thead>
                <tbody>
                  {row.rules.map((rule) => (
                    <tr id={anchor(row.id, rule.name)}>
                      <th scope="row">
                        {rule.name}
                        {rule.critical ? <div class="muted">critical</div> : null}
                      </th>
                      <td>
                        <OutcomePill outcome={rule.outcome} />
                      </td>
                      <td class="num">{formatScore(rule.score)}</td>
                      <td class="num">{String(rule.weight)}</td>
                      <td class="rule-evidence">{rule.evidence}</td>
                      <td>
                        {(byRule.get(rule.name) ?? []).map((v) => (
                          <div>
                            <strong>{v.reviewer}</strong>{' '}
                            <span class={v.reviewerOutcome === v.engineOutcome ? 'pass' : 'fail'}>
                              {VERDICT_WORDS[v.verdict] ?? v.verdict}
                            </span>
                            {v.note ? <div class="muted">{v.note}</div> : null}
                          </div>
                        ))}
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          </section>
        );
      })}
      <h2>Transcript</h2>
      {data.transcript === null ? (
        <p class="muted">{transcriptMissing(data, ctx.now)}</p>
      ) : (
        <ol class="transcript">
          {data.transcript.map((line, i) => (
            <li class={String(line.speaker).toLowerCase() === 'agent' ? 'agent' : undefined}>
              <span class="turn">{`#${i + 1}`}</span>
              <span>
                <span class="speaker">{String(line.speaker)}</span>{' '}
                <span class="when">{shortTime(String(line.timestamp ?? ''))}</span>
              </span>
              <span class="text">
                {splitBySpans(String(line.text ?? ''), spans.get(i)).map((piece) =>
                  piece.rules ? (
                    <mark title={`matched by ${piece.rules.join(', ')}`}>
                      <a href={`#${firstAnchor.get(piece.rules[0]!) ?? ''}`}>{piece.text}</a>
                    </mark>
                  ) : (
                    piece.text
                  ),
                )}
              </span>
            </li>
          ))}
        </ol>
      )}
      {data.canReview
        ? data.results.map(({ row, reviews }) => (
            <ReviewForm
              row={row}
              mine={new Map(reviews.filter((v) => v.reviewer === ctx.user.name).map((v) => [v.rule, v]))}
              ctx={ctx}
              conversationId={data.conversationId}
            />
          ))
        : null}
      <h2>History</h2>
      <div class="table-wrap">
        <table>
          <thead>
            <tr>
              <th scope="col">Form / rubric key</th>
              <th scope="col">First seen</th>
              <th scope="col">From</th>
              <th scope="col">State</th>
              <th scope="col" class="num">
                Attempts
              </th>
              <th scope="col" class="num">
                Transcript checks
              </th>
              <th scope="col">Finished</th>
              <th scope="col">Reason</th>
            </tr>
          </thead>
          <tbody>
            {data.jobs.length === 0 ? (
              <tr>
                <td colspan={8} class="muted">
                  No job for it any more (finished jobs are deleted after the retention period).
                </td>
              </tr>
            ) : null}
            {data.jobs.map((j) => (
              <tr>
                <td>{j.formId}</td>
                <td>{ctx.time.dateTime(j.firstSeenAt)}</td>
                <td>{j.source}</td>
                <td>{j.state}</td>
                <td class="num">{String(j.attempts)}</td>
                <td class="num">{String(j.transcriptChecks)}</td>
                <td>{j.finishedAt !== null ? ctx.time.dateTime(j.finishedAt) : '–'}</td>
                <td>{j.reason ?? ''}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {data.deliveries.length > 0 ? (
        <>
          <h3>Webhook deliveries</h3>
          <ul>
            {data.deliveries.map((d) => (
              <li>{`${ctx.time.dateTime(d.receivedAt)}: ${d.type} (event ${d.eventId})`}</li>
            ))}
          </ul>
        </>
      ) : null}
    </Layout>
  );
}

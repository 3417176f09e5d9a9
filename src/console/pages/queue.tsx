import type { JobView, QueueHealth } from '../../store/queue-view.js';
import { formatSpan } from '../format.js';
import { BASE, CsrfField, Layout, type PageContext } from '../layout.js';
import { QueueSummary } from './overview.js';

export interface QueueData {
  health: QueueHealth;
  waiting: JobView[];
  failed: JobView[];
  nextFailedHref: string | null;
  /** The destination admins can requeue (the service's configured form), when there is one. */
  requeueDestination: string | null;
  canRequeue: boolean;
  notice?: string;
}

export function QueuePage(props: { ctx: PageContext; data: QueueData }) {
  const { ctx, data } = props;
  const requeueable = (j: JobView) =>
    data.canRequeue && j.formId === data.requeueDestination && j.agentId !== null;
  return (
    <Layout title="Queue" section="queue" ctx={ctx}>
      {data.notice ? (
        <p class="notice" role="status">
          {data.notice}
        </p>
      ) : null}
      <QueueSummary queue={data.health} now={ctx.now} time={ctx.time} />
      <h2>Waiting</h2>
      <div class="table-wrap">
        <table>
          <thead>
            <tr>
              <th scope="col">Conversation</th>
              <th scope="col">State</th>
              <th scope="col">Next look</th>
              <th scope="col">First seen</th>
              <th scope="col">Why</th>
            </tr>
          </thead>
          <tbody>
            {data.waiting.length === 0 ? (
              <tr>
                <td colspan={5} class="muted">
                  Nothing is waiting.
                </td>
              </tr>
            ) : (
              data.waiting.map((j) => (
                <tr>
                  <td>
                    <a href={`${BASE}/conversations/${encodeURIComponent(j.conversationId)}`}>
                      {j.conversationId}
                    </a>
                  </td>
                  <td>{j.state}</td>
                  <td>
                    {j.nextAttemptAt <= ctx.now ? 'now' : `in ${formatSpan(j.nextAttemptAt - ctx.now)}`}
                  </td>
                  <td>{`${formatSpan(ctx.now - j.firstSeenAt)} ago`}</td>
                  <td>{j.reason ?? ''}</td>
                </tr>
              ))
            )}
          </tbody>
        </table>
      </div>
      <h2>Failed</h2>
      {data.canRequeue && data.requeueDestination && data.failed.length > 0 ? (
        <form method="post" action={`${BASE}/queue/requeue`} class="actions">
          <CsrfField token={ctx.csrfToken} />
          <input type="hidden" name="all" value="failed" />
          <button
            type="submit"
            class="secondary"
          >{`Requeue every failed conversation of ${data.requeueDestination}`}</button>
        </form>
      ) : null}
      <div class="table-wrap">
        <table>
          <thead>
            <tr>
              <th scope="col">Conversation</th>
              <th scope="col">Form / rubric key</th>
              <th scope="col">Failed</th>
              <th scope="col" class="num">
                Attempts
              </th>
              <th scope="col">Reason</th>
              {data.canRequeue ? <th scope="col">Action</th> : null}
            </tr>
          </thead>
          <tbody>
            {data.failed.length === 0 ? (
              <tr>
                <td colspan={data.canRequeue ? 6 : 5} class="muted">
                  Nothing has failed.
                </td>
              </tr>
            ) : (
              data.failed.map((j) => (
                <tr>
                  <td>
                    <a href={`${BASE}/conversations/${encodeURIComponent(j.conversationId)}`}>
                      {j.conversationId}
                    </a>
                  </td>
                  <td>{j.formId}</td>
                  <td>{j.finishedAt !== null ? ctx.time.dateTime(j.finishedAt) : '–'}</td>
                  <td class="num">{String(j.attempts)}</td>
                  <td>{j.reason ?? ''}</td>
                  {data.canRequeue ? (
                    <td>
                      {requeueable(j) ? (
                        <form method="post" action={`${BASE}/queue/requeue`}>
                          <CsrfField token={ctx.csrfToken} />
                          <input type="hidden" name="conversation_id" value={j.conversationId} />
                          <button type="submit" class="secondary" aria-label={`Requeue ${j.conversationId}`}>
                            Requeue
                          </button>
                        </form>
                      ) : null}
                    </td>
                  ) : null}
                </tr>
              ))
            )}
          </tbody>
        </table>
      </div>
      {data.nextFailedHref ? (
        <nav class="pager" aria-label="Pages">
          <a href={data.nextFailedHref} rel="next">
            More failures
          </a>
        </nav>
      ) : null}
    </Layout>
  );
}

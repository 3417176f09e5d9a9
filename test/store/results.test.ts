import { afterEach, describe, expect, it } from 'vitest';
import { ResultStats } from '../../src/store/result-stats.js';
import { type ResultFilter, type ResultInput, ResultStore } from '../../src/store/results.js';
import { ReviewStore } from '../../src/store/reviews.js';
import { FORM, seedResults } from '../support/console.js';
import { tempStore } from '../support/db.js';
import { storedRule } from '../support/results.js';

let cleanup: (() => void) | undefined;
afterEach(() => cleanup?.());

function open() {
  const db = tempStore();
  cleanup = db.cleanup;
  return db;
}

const T0 = Date.UTC(2024, 4, 10, 12, 0, 0);

function input(over: Partial<ResultInput> = {}): ResultInput {
  return {
    conversationId: 'conv-1',
    destination: FORM,
    agentId: 'agent-1',
    evaluatedAt: T0,
    overallScore: 80,
    rubric: { name: 'r', version: '1', hash: 'h' },
    rules: [
      storedRule('greeting', 'pass', { evidence: 'Found "hi" (AGENT, turn 1)' }),
      {
        name: 'disclosure',
        outcome: 'fail',
        score: 0,
        weight: 1,
        critical: true,
        evidence: 'Not found',
        comment: '',
      },
    ],
    comment: 'c',
    delivery: { state: 'delivered', target: 'cxone-qm', id: 'eval-1', at: T0 },
    transcript: [{ speaker: 'AGENT', text: 'hi there', timestamp: '00:00:01' }],
    ...over,
  };
}

/** The rollups recomputed from the results themselves, to compare with what the writer kept. */
function recomputed(store: ReturnType<typeof open>['store']) {
  const daily = store.sqlite
    .prepare(
      'SELECT destination, day, agent_id, count(*) AS n, sum(overall_score) AS s, sum(passed) AS p FROM results GROUP BY 1, 2, 3 ORDER BY 1, 2, 3',
    )
    .all();
  const kept = store.sqlite
    .prepare(
      'SELECT destination, day, agent_id, results AS n, score_sum AS s, passed AS p FROM daily_stats WHERE results > 0 ORDER BY 1, 2, 3',
    )
    .all();
  const rules = store.sqlite
    .prepare(
      `SELECT r.agent_id, r.day, rr.rule, sum(rr.outcome = 'pass') AS p, sum(rr.outcome = 'fail') AS f FROM result_rules rr JOIN results r ON r.id = rr.result_id GROUP BY 1, 2, 3 ORDER BY 1, 2, 3`,
    )
    .all();
  const keptRules = store.sqlite
    .prepare(
      'SELECT agent_id, day, rule, passes AS p, fails AS f FROM daily_agent_rule_stats WHERE passes + fails + nas > 0 ORDER BY 1, 2, 3',
    )
    .all();
  return { daily, kept, rules, keptRules };
}

describe('results', () => {
  it('keeps one result per conversation and destination; a second scoring replaces it and keeps its reviews', () => {
    const { store } = open();
    const results = new ResultStore(store);
    const id = results.record(input());
    new ReviewStore(store).record(
      id,
      { id: null, name: 'rita' },
      [{ rule: 'greeting', verdict: 'agree' }],
      T0,
    );
    const again = results.record(
      input({
        agentId: 'agent-2',
        evaluatedAt: T0 + 86_400_000,
        overallScore: 100,
        rules: [storedRule('greeting', 'fail')],
        delivery: { state: 'failed', target: 'cxone-qm', note: 'HTTP 422' },
      }),
    );
    expect(again).toBe(id);
    const other = results.record(input({ destination: 'other-form' }));
    expect(other).not.toBe(id);
    const rows = results.forConversation('conv-1');
    expect(rows).toHaveLength(2);
    const row = results.byId(id)!;
    expect(row.agentId).toBe('agent-2');
    expect(row.deliveryState).toBe('failed');
    expect(row.deliveryNote).toBe('HTTP 422');
    expect(row.deliveryId).toBeNull();
    expect(row.reviewCount).toBe(1);
    const { daily, kept, rules, keptRules } = recomputed(store);
    expect(kept).toEqual(daily);
    expect(keptRules).toEqual(rules);
  });

  it('fails a result whose critical rule failed, and counts it as a critical failure', () => {
    const { store } = open();
    const results = new ResultStore(store);
    results.record(input({ criticalFailure: "critical rule failed: 'disclosure'", overallScore: 0 }));
    expect(results.byId(1)!.passed).toBe(false);
    const day = new ResultStats(store).byDay({ fromDay: '2024-05-10', toDay: '2024-05-10' });
    expect(day).toEqual([{ day: '2024-05-10', results: 1, scoreSum: 0, passed: 0, criticalFailed: 1 }]);
  });

  it('stores the transcript compressed and reads it back', () => {
    const { store } = open();
    const results = new ResultStore(store);
    const lines = Array.from({ length: 200 }, (_, i) => ({
      speaker: i % 2 ? 'CUSTOMER' : 'AGENT',
      text: `Line ${i}: thank you for calling Northwind, how can I help you today? Ünïcödé ✓`,
      timestamp: `00:${String(Math.floor(i / 60)).padStart(2, '0')}:${String(i % 60).padStart(2, '0')}`,
    }));
    results.record(input({ transcript: lines }));
    expect(results.transcript('conv-1')).toEqual(lines);
    const row = store.sqlite
      .prepare('SELECT codec, length(body) AS size, stored_at FROM transcripts')
      .get() as { codec: string; size: number; stored_at: number };
    expect(row.codec).toBe('gzip');
    expect(row.size).toBeLessThan(JSON.stringify(lines).length / 5);
    expect(row.stored_at).toBe(T0);
    expect(results.transcript('conv-unknown')).toBeNull();
    // A damaged blob reads as no transcript, not as an error on the page.
    store.sqlite.prepare("UPDATE transcripts SET body = x'1f8b0800deadbeef'").run();
    expect(results.transcript('conv-1')).toBeNull();
  });

  it('counts days in the rollups time zone, and rebuilds them when TIME_ZONE changes', () => {
    const { store } = open();
    const results = new ResultStore(store, 'UTC');
    results.ensureRollupZone('UTC');
    // 23:30 UTC on the 10th is the 11th in Paris.
    results.record(input({ evaluatedAt: Date.UTC(2024, 4, 10, 23, 30) }));
    const stats = new ResultStats(store);
    expect(stats.span()).toEqual({ firstDay: '2024-05-10', lastDay: '2024-05-10' });
    expect(new ResultStore(store, 'Europe/Paris').rollupTimeZone).toBe('UTC');
    expect(results.ensureRollupZone('Europe/Paris')).toBe(true);
    expect(results.ensureRollupZone('Europe/Paris')).toBe(false);
    expect(stats.span()).toEqual({ firstDay: '2024-05-11', lastDay: '2024-05-11' });
    const { daily, kept, rules, keptRules } = recomputed(store);
    expect(kept).toEqual(daily);
    expect(keptRules).toEqual(rules);
    // A writer opened later follows the database's zone.
    expect(new ResultStore(store, 'UTC').rollupTimeZone).toBe('Europe/Paris');
  });

  it('lists exactly what a filter selects, newest first, across keyset pages', () => {
    const { store } = open();
    const { results } = seedResults(store, { count: 300, endAt: T0, spacingMs: 5 * 60_000 });
    // Ties in time: the id breaks them.
    store.sqlite.prepare('UPDATE results SET evaluated_at = (evaluated_at / 3600000) * 3600000').run();
    store.sqlite
      .prepare(
        'UPDATE result_rules SET evaluated_at = (SELECT evaluated_at FROM results WHERE id = result_id)',
      )
      .run();
    const all = results.list({}, 10_000).rows;
    const mid = all[150]!.evaluatedAt;
    const filters: ResultFilter[] = [
      {},
      { agentId: 'agent-10002' },
      { failedRule: 'recording_notice' },
      { failedRule: 'mini_miranda', agentId: 'agent-10001', since: mid },
      { criticalOnly: true },
      { minScore: 40, maxScore: 90 },
      { until: mid, reviewed: false },
      { since: mid, criticalOnly: true, destination: FORM },
    ];
    for (const filter of filters) {
      const expected = all.filter(
        (r) =>
          (filter.agentId === undefined || r.agentId === filter.agentId) &&
          (filter.failedRule === undefined ||
            r.rules.some((x) => x.name === filter.failedRule && x.outcome === 'fail')) &&
          (!filter.criticalOnly || !r.passed) &&
          (filter.minScore === undefined || r.overallScore >= filter.minScore) &&
          (filter.maxScore === undefined || r.overallScore <= filter.maxScore) &&
          (filter.since === undefined || r.evaluatedAt >= filter.since) &&
          (filter.until === undefined || r.evaluatedAt < filter.until),
      );
      const seen: number[] = [];
      let cursor = null;
      do {
        const page = results.listSummaries(filter, 7, cursor);
        seen.push(...page.rows.map((r) => r.id));
        cursor = page.next;
      } while (cursor);
      expect(seen, JSON.stringify(filter)).toEqual(expected.map((r) => r.id));
    }
    expect(filters.some((f) => results.list(f, 1).rows.length > 0)).toBe(true);
  });

  it("cuts a backtest's window into shares that together hold each result once, ties in time included", () => {
    const { store } = open();
    const { results } = seedResults(store, { count: 120, endAt: T0, spacingMs: 5 * 60_000 });
    // Ties in time, across share boundaries: the id breaks them.
    store.sqlite.prepare('UPDATE results SET evaluated_at = (evaluated_at / 3600000) * 3600000').run();
    const all = results.list({}, 10_000).rows;
    const since = all[100]!.evaluatedAt;
    const until = all[10]!.evaluatedAt;
    for (const window of [{}, { since, until }, { since, destination: FORM }, { destination: 'other' }]) {
      const expected = all
        .filter(
          (r) =>
            (window.since === undefined || r.evaluatedAt >= window.since) &&
            (window.until === undefined || r.evaluatedAt < window.until) &&
            (window.destination === undefined || r.destination === window.destination),
        )
        .map((r) => r.id)
        .reverse();
      const starts = results.backtestShares(window, 7);
      expect(starts).toHaveLength(Math.ceil(expected.length / 7));
      const seen: number[] = [];
      starts.forEach((from, i) => {
        const to = starts[i + 1];
        const share: number[] = [];
        // Read in chunks smaller than a share, as a thread may.
        results.eachForBacktest({ ...window, from, ...(to ? { to } : {}) }, 3, (rows) => {
          share.push(...rows.map((r) => r.id));
          return true;
        });
        expect(share.length, JSON.stringify(window)).toBe(
          i < starts.length - 1 ? 7 : expected.length - 7 * i,
        );
        seen.push(...share);
      });
      expect(seen, JSON.stringify(window)).toEqual(expected);
    }
  });

  it('reads each list through an index, never a full scan with a sort', () => {
    const { store } = open();
    const results = new ResultStore(store);
    store.sqlite.exec('ANALYZE');
    for (const filter of [
      {},
      { agentId: 'a' },
      { failedRule: 'x' },
      { failedRule: 'x', agentId: 'a' },
      { criticalOnly: true },
      { reviewed: true },
      { since: 1, until: 2 },
    ] as ResultFilter[]) {
      const plan = results.explain(filter, { evaluatedAt: 5, id: 5 }).join(' | ');
      expect(plan, JSON.stringify(filter)).not.toMatch(/USE TEMP B-TREE/);
      expect(plan, JSON.stringify(filter)).toMatch(/USING (COVERING )?INDEX/);
    }
  });
});

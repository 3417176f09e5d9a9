import type { Statement } from 'better-sqlite3';
import type { Store } from './db.js';

/** Figures over a range of calendar days (inclusive, YYYY-MM-DD), optionally one destination. */
export interface DayRange {
  fromDay: string;
  toDay: string;
  destination?: string;
}

export interface Totals {
  results: number;
  scoreSum: number;
  passed: number;
  criticalFailed: number;
}

export interface DayTotals extends Totals {
  day: string;
}

export interface AgentTotals extends Totals {
  agentId: string;
}

export interface RuleTotals {
  rule: string;
  passes: number;
  fails: number;
  nas: number;
}

/**
 * Reads of the daily rollups the result writer keeps (daily_stats, daily_rule_stats,
 * daily_agent_rule_stats): a 90-day overview adds up a few thousand rows, never the results.
 */
export class ResultStats {
  private readonly cache = new Map<string, Statement>();

  constructor(private readonly store: Store) {}

  private all<T>(sql: string, ...params: unknown[]): T[] {
    let statement = this.cache.get(sql);
    if (!statement) {
      statement = this.store.sqlite.prepare(sql);
      this.cache.set(sql, statement);
    }
    return statement.all(...params) as T[];
  }

  private range(r: DayRange, table = ''): { where: string; params: unknown[] } {
    const prefix = table ? `${table}.` : '';
    const params: unknown[] = [r.fromDay, r.toDay];
    let where = `${prefix}day >= ? AND ${prefix}day <= ?`;
    if (r.destination !== undefined) {
      where += ` AND ${prefix}destination = ?`;
      params.push(r.destination);
    }
    return { where, params };
  }

  byDay(r: DayRange): DayTotals[] {
    const { where, params } = this.range(r);
    return this.all(
      `SELECT day, sum(results) AS results, sum(score_sum) AS scoreSum, sum(passed) AS passed,
         sum(critical_failed) AS criticalFailed FROM daily_stats WHERE ${where} GROUP BY day
       HAVING sum(results) > 0 ORDER BY day`,
      ...params,
    );
  }

  byRule(r: DayRange): RuleTotals[] {
    const { where, params } = this.range(r);
    return this.all(
      `SELECT rule, sum(passes) AS passes, sum(fails) AS fails, sum(nas) AS nas FROM daily_rule_stats
       WHERE ${where} GROUP BY rule HAVING sum(passes + fails + nas) > 0 ORDER BY rule`,
      ...params,
    );
  }

  byAgent(r: DayRange): AgentTotals[] {
    const { where, params } = this.range(r);
    return this.all(
      `SELECT agent_id AS agentId, sum(results) AS results, sum(score_sum) AS scoreSum, sum(passed) AS passed,
         sum(critical_failed) AS criticalFailed FROM daily_stats WHERE ${where}
       GROUP BY agent_id HAVING sum(results) > 0 ORDER BY sum(results) DESC, agent_id`,
      ...params,
    );
  }

  agentByDay(agentId: string, r: DayRange): DayTotals[] {
    const { where, params } = this.range(r);
    return this.all(
      `SELECT day, sum(results) AS results, sum(score_sum) AS scoreSum, sum(passed) AS passed,
         sum(critical_failed) AS criticalFailed FROM daily_stats INDEXED BY daily_stats_agent_idx
       WHERE agent_id = ? AND ${where} GROUP BY day HAVING sum(results) > 0 ORDER BY day`,
      agentId,
      ...params,
    );
  }

  agentByRule(agentId: string, r: DayRange): RuleTotals[] {
    const { where, params } = this.range(r);
    return this.all(
      `SELECT rule, sum(passes) AS passes, sum(fails) AS fails, sum(nas) AS nas FROM daily_agent_rule_stats
       WHERE agent_id = ? AND ${where} GROUP BY rule HAVING sum(passes + fails + nas) > 0 ORDER BY rule`,
      agentId,
      ...params,
    );
  }

  /**
   * Destinations that have results, most first. Read from the per-rule figures (days x rules rows),
   * not the per-agent ones (days x agents), since every page with filters asks.
   */
  destinations(): string[] {
    return this.all<{ destination: string }>(
      `SELECT destination FROM daily_rule_stats GROUP BY destination
       HAVING sum(passes + fails + nas) > 0 ORDER BY sum(passes + fails + nas) DESC`,
    ).map((r) => r.destination);
  }

  /** Rule names seen in the range (for the "failed rule" filter). */
  ruleNames(r: DayRange): string[] {
    return this.byRule(r).map((x) => x.rule);
  }

  /** The first and last day that have results, or null when there are none. */
  span(): { firstDay: string; lastDay: string } | null {
    const row = this.all<{ firstDay: string | null; lastDay: string | null }>(
      'SELECT min(day) AS firstDay, max(day) AS lastDay FROM daily_stats WHERE results > 0',
    )[0];
    return row?.firstDay && row.lastDay ? { firstDay: row.firstDay, lastDay: row.lastDay } : null;
  }
}

import type { Statement } from 'better-sqlite3';
import type { RuleOutcome, TranscriptLine } from '../scoring/index.js';
import type { Store } from './db.js';
import type { DeliveryState } from './schema.js';
import { compressTranscript, decompressTranscript, TRANSCRIPT_CODEC } from './transcript-codec.js';

/** One rule of a stored result: what the conversation page, the API and the backtest read. */
export interface StoredRule {
  name: string;
  outcome: RuleOutcome;
  /** 0-100; null when the rule did not apply. */
  score: number | null;
  weight: number;
  critical: boolean;
  /** The quoted words with speaker and time/turn, or what was looked for and where. */
  evidence: string;
  comment: string;
}

/** Where a result went besides this database, or why it did not (yet). */
export type Delivery =
  | { state: 'delivered'; target: string; id: string | null; at: number }
  | { state: 'pending' | 'failed'; target: string | null; note: string }
  | { state: 'not_configured'; note?: string };

/** A scored conversation, as the pipeline hands it over. */
export interface ResultInput {
  conversationId: string;
  /** The job's form_id: a QM form id (tutorial profile) or a rubric key (platform profile). */
  destination: string;
  agentId: string;
  mediaType?: string | null;
  startTime?: string | null;
  endTime?: string | null;
  evaluatedAt: number;
  /** The composite as delivered (two decimals). */
  overallScore: number;
  criticalFailure?: string | null;
  rubric: { name: string; version: string; hash: string };
  rules: StoredRule[];
  comment: string;
  delivery: Delivery;
  /** Stored compressed with the result, for reviewers and backtests. */
  transcript?: readonly TranscriptLine[];
}

/** A result as read back. */
export interface ResultRow {
  id: number;
  conversationId: string;
  destination: string;
  agentId: string;
  mediaType: string | null;
  startTime: string | null;
  endTime: string | null;
  evaluatedAt: number;
  overallScore: number;
  passed: boolean;
  criticalFailure: string | null;
  rubricName: string;
  rubricVersion: string;
  rubricHash: string;
  rules: StoredRule[];
  comment: string;
  deliveryTarget: string | null;
  deliveryState: DeliveryState;
  deliveryId: string | null;
  deliveredAt: number | null;
  deliveryNote: string | null;
  reviewCount: number;
  reviewedAt: number | null;
}

/** A result as lists show it (no per-rule detail). */
export type ResultSummary = Omit<ResultRow, 'rules' | 'comment' | 'deliveryNote'>;

/**
 * A result with its rules as the stored JSON, as UTF-8 bytes: the API copies them into its answer
 * as they are, never decoding them into a string (a 1,000-result page carries ~3.4 MB of them).
 */
export type ResultWithRawRules = ResultSummary & {
  rulesJson: Buffer;
  comment: string;
  deliveryNote: string | null;
};

/** A stored result as a backtest compares it. */
export interface BacktestRow {
  id: number;
  conversationId: string;
  overallScore: number;
  passed: boolean;
  rubricHash: string;
  reviewCount: number;
  rules: StoredRule[];
  hasTranscript: boolean;
  /** Inflates the stored transcript; null when none is stored (or it cannot be read). */
  transcript(): TranscriptLine[] | null;
}

/** The columns a backtest reads per result (with its transcript's, when stored). */
interface BacktestColumns {
  id: number;
  conversationId: string;
  overallScore: number;
  passed: number;
  rubricHash: string;
  reviewCount: number;
  rulesJson: string;
  codec: string | null;
  body: Buffer | null;
}

/** A BacktestRow over the columns read (no closure per row: a backtest reads tens of thousands). */
class StoredForBacktest implements BacktestRow {
  readonly id: number;
  readonly conversationId: string;
  readonly overallScore: number;
  readonly passed: boolean;
  readonly rubricHash: string;
  readonly reviewCount: number;
  readonly rules: StoredRule[];
  readonly hasTranscript: boolean;
  private readonly codec: string | null;
  private readonly body: Buffer | null;

  constructor(row: BacktestColumns) {
    this.id = row.id;
    this.conversationId = row.conversationId;
    this.overallScore = row.overallScore;
    this.passed = row.passed === 1;
    this.rubricHash = row.rubricHash;
    this.reviewCount = row.reviewCount;
    this.rules = JSON.parse(row.rulesJson) as StoredRule[];
    this.codec = row.codec;
    this.body = row.body;
    this.hasTranscript = row.codec !== null && row.body !== null;
  }

  transcript(): TranscriptLine[] | null {
    return this.codec && this.body ? decompressTranscript(this.codec, this.body) : null;
  }
}

/** The filters the conversations page and the results API share. Times are ms, [since, until). */
export interface ResultFilter {
  since?: number;
  until?: number;
  agentId?: string;
  destination?: string;
  minScore?: number;
  maxScore?: number;
  /** Only results where this rule failed. */
  failedRule?: string;
  /** Only results a critical rule failed. */
  criticalOnly?: boolean;
  reviewed?: boolean;
}

/** The results a backtest looks at. Times are ms, [since, until). */
export interface BacktestWindowFilter {
  since?: number;
  until?: number;
  destination?: string;
}

function backtestWhere(filter: BacktestWindowFilter): { where: string[]; params: unknown[] } {
  const where = ['1 = 1'];
  const params: unknown[] = [];
  if (filter.since !== undefined) where.push('r.evaluated_at >= ?') && params.push(filter.since);
  if (filter.until !== undefined) where.push('r.evaluated_at < ?') && params.push(filter.until);
  if (filter.destination !== undefined) where.push('r.destination = ?') && params.push(filter.destination);
  return { where, params };
}

/** Where a page ends: the (evaluated_at, id) of its last row. Results are ordered newest first. */
export interface ResultCursor {
  evaluatedAt: number;
  id: number;
}

export interface ResultPage<T> {
  rows: T[];
  next: ResultCursor | null;
}

/** What `write` needs, computed outside the transaction (JSON, compression, calendar day). */
export interface PreparedResult {
  input: ResultInput;
  day: string;
  rules: StoredRule[];
  rulesJson: string;
  transcript: { body: Buffer; lines: number } | null;
}

const SUMMARY_COLUMNS = `r.id, r.conversation_id AS conversationId, r.destination, r.agent_id AS agentId,
  r.media_type AS mediaType, r.start_time AS startTime, r.end_time AS endTime, r.evaluated_at AS evaluatedAt,
  r.overall_score AS overallScore, r.passed, r.critical_failure AS criticalFailure, r.rubric_name AS rubricName,
  r.rubric_version AS rubricVersion, r.rubric_hash AS rubricHash, r.delivery_target AS deliveryTarget,
  r.delivery_state AS deliveryState, r.delivery_id AS deliveryId, r.delivered_at AS deliveredAt,
  r.review_count AS reviewCount, r.reviewed_at AS reviewedAt`;
const DETAIL_COLUMNS = `${SUMMARY_COLUMNS}, r.rules_json AS rulesJson, r.comment, r.delivery_note AS deliveryNote`;
/** The detail columns with the rules as their stored UTF-8 bytes (a Buffer), not a string. */
const RAW_DETAIL_COLUMNS = `${SUMMARY_COLUMNS}, CAST(r.rules_json AS BLOB) AS rulesJson, r.comment, r.delivery_note AS deliveryNote`;

type RawRow = Record<string, unknown> & { passed: number; rulesJson?: string };

const EMPTY_RULES = Buffer.from('[]');

function toSummary(row: RawRow): ResultSummary {
  const { rulesJson: _rules, ...rest } = row;
  return { ...(rest as unknown as ResultSummary), passed: row.passed === 1 };
}

/**
 * A row of SUMMARY_COLUMNS (then, for details, rules, comment and delivery note) as an array, in
 * their order: lists read up to a thousand rows, and objects keyed by column name cost better-sqlite3
 * more to build, and a spread of them more again, than the row itself costs SQLite to read.
 */
type Tuple = unknown[];

function summaryOf(t: Tuple): ResultSummary {
  return {
    id: t[0] as number,
    conversationId: t[1] as string,
    destination: t[2] as string,
    agentId: t[3] as string,
    mediaType: t[4] as string | null,
    startTime: t[5] as string | null,
    endTime: t[6] as string | null,
    evaluatedAt: t[7] as number,
    overallScore: t[8] as number,
    passed: t[9] === 1,
    criticalFailure: t[10] as string | null,
    rubricName: t[11] as string,
    rubricVersion: t[12] as string,
    rubricHash: t[13] as string,
    deliveryTarget: t[14] as string | null,
    deliveryState: t[15] as DeliveryState,
    deliveryId: t[16] as string | null,
    deliveredAt: t[17] as number | null,
    reviewCount: t[18] as number,
    reviewedAt: t[19] as number | null,
  };
}

function toRow(row: RawRow): ResultRow {
  return {
    ...(toSummary(row) as ResultRow),
    rules: JSON.parse(row.rulesJson ?? '[]') as StoredRule[],
    comment: String(row.comment ?? ''),
    deliveryNote: (row.deliveryNote as string | null) ?? null,
  };
}

/** Calendar day (YYYY-MM-DD) of an instant in a time zone. */
export function dayFormatter(timeZone: string): (ms: number) => string {
  const format = new Intl.DateTimeFormat('en-CA', {
    timeZone,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
  });
  return (ms) => format.format(ms);
}

const ROLLUP_ZONE_KEY = 'rollup_time_zone';

/** The time zone the daily figures (and results' `day`) were built in, when recorded. */
export function storedRollupZone(sqlite: Store['sqlite']): string | undefined {
  const row = sqlite.prepare('SELECT value FROM console_meta WHERE key = ?').get(ROLLUP_ZONE_KEY) as
    | { value: string }
    | undefined;
  return row?.value;
}

/**
 * Results: written by the pipeline in the transaction of the job transition that scored the
 * conversation, read by the console, the results API and the backtest. Statements are prepared once;
 * writing a result (its rules, rollups and transcript) costs a fraction of a millisecond.
 */
export class ResultStore {
  private readonly sqlite: Store['sqlite'];
  private readonly cache = new Map<string, Statement>();
  private dayOf: (ms: number) => string;
  private readonly findExisting: Statement;
  private readonly existingRules: Statement;
  private readonly insertResult: Statement;
  private readonly updateResult: Statement;
  private readonly deleteRules: Statement;
  private readonly insertRule: Statement;
  private readonly addDaily: Statement;
  private readonly addDailyRule: Statement;
  private readonly addAgentRule: Statement;
  private readonly upsertTranscript: Statement;

  constructor(
    store: Store,
    private timeZone = 'UTC',
  ) {
    this.sqlite = store.sqlite;
    const s = this.sqlite;
    // The rollups are per calendar day in the zone they were built in; a writer follows that zone
    // even if its own setting differs (the server rebuilds them when TIME_ZONE changes).
    const stored = storedRollupZone(s);
    if (stored) this.timeZone = stored;
    this.dayOf = dayFormatter(this.timeZone);
    this.findExisting = s.prepare(
      `SELECT id, day, agent_id AS agentId, destination, overall_score AS overallScore, passed
       FROM results WHERE conversation_id = ? AND destination = ?`,
    );
    this.existingRules = s.prepare('SELECT rule, outcome FROM result_rules WHERE result_id = ?');
    const columns = `conversation_id, destination, agent_id, media_type, start_time, end_time, evaluated_at, day,
      overall_score, passed, critical_failure, rubric_name, rubric_version, rubric_hash, rules_json, comment,
      delivery_target, delivery_state, delivery_id, delivered_at, delivery_note, updated_at`;
    const names = columns.split(',').map((c) => c.trim());
    this.insertResult = s.prepare(
      `INSERT INTO results (${names.join(', ')}) VALUES (${names.map((n) => `@${n}`).join(', ')}) RETURNING id`,
    );
    this.updateResult = s.prepare(
      `UPDATE results SET ${names
        .filter((n) => n !== 'conversation_id' && n !== 'destination')
        .map((n) => `${n} = @${n}`)
        .join(', ')} WHERE id = @id`,
    );
    this.deleteRules = s.prepare('DELETE FROM result_rules WHERE result_id = ?');
    this.insertRule = s.prepare(
      'INSERT INTO result_rules (result_id, rule, outcome, score, evaluated_at) VALUES (?, ?, ?, ?, ?)',
    );
    this.addDaily = s.prepare(
      `INSERT INTO daily_stats (destination, day, agent_id, results, score_sum, passed, critical_failed)
       VALUES (@destination, @day, @agentId, @n, @score, @passed, @critical)
       ON CONFLICT DO UPDATE SET results = results + excluded.results, score_sum = score_sum + excluded.score_sum,
         passed = passed + excluded.passed, critical_failed = critical_failed + excluded.critical_failed`,
    );
    this.addDailyRule = s.prepare(
      `INSERT INTO daily_rule_stats (destination, day, rule, passes, fails, nas) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT DO UPDATE SET passes = passes + excluded.passes, fails = fails + excluded.fails, nas = nas + excluded.nas`,
    );
    this.addAgentRule = s.prepare(
      `INSERT INTO daily_agent_rule_stats (agent_id, day, destination, rule, passes, fails, nas) VALUES (?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT DO UPDATE SET passes = passes + excluded.passes, fails = fails + excluded.fails, nas = nas + excluded.nas`,
    );
    this.upsertTranscript = s.prepare(
      `INSERT INTO transcripts (conversation_id, stored_at, codec, lines, body) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT DO UPDATE SET stored_at = excluded.stored_at, codec = excluded.codec, lines = excluded.lines, body = excluded.body`,
    );
  }

  /** The zone the daily figures are kept in. */
  get rollupTimeZone(): string {
    return this.timeZone;
  }

  /** The calendar day of an instant, as the rollups count it. */
  day(ms: number): string {
    return this.dayOf(ms);
  }

  /** The CPU part of recording a result (JSON, compression), to keep it out of the write lock. */
  prepare(input: ResultInput): PreparedResult {
    // Rule names are unique in a valid rubric; a repeat would break the (result, rule) key.
    const seen = new Set<string>();
    const rules = input.rules.filter((r) => !seen.has(r.name) && seen.add(r.name));
    const lines = input.transcript;
    return {
      input,
      day: this.dayOf(input.evaluatedAt),
      rules,
      rulesJson: JSON.stringify(rules),
      transcript: lines ? { body: compressTranscript(lines), lines: lines.length } : null,
    };
  }

  /**
   * Writes a prepared result: inserted, or replacing the conversation's earlier result for the same
   * destination (its id, and so its reviews, stay). Call inside the caller's transaction, which is
   * what makes the result and the job transition one step.
   */
  write(prepared: PreparedResult): number {
    const { input, day, rules, rulesJson } = prepared;
    const passed = input.criticalFailure ? 0 : 1;
    const delivery = input.delivery;
    const values = {
      conversation_id: input.conversationId,
      destination: input.destination,
      agent_id: input.agentId,
      media_type: input.mediaType ?? null,
      start_time: input.startTime ?? null,
      end_time: input.endTime ?? null,
      evaluated_at: input.evaluatedAt,
      day,
      overall_score: input.overallScore,
      passed,
      critical_failure: input.criticalFailure ?? null,
      rubric_name: input.rubric.name,
      rubric_version: input.rubric.version,
      rubric_hash: input.rubric.hash,
      rules_json: rulesJson,
      comment: input.comment,
      delivery_target: 'target' in delivery ? delivery.target : null,
      delivery_state: delivery.state,
      delivery_id: delivery.state === 'delivered' ? delivery.id : null,
      delivered_at: delivery.state === 'delivered' ? delivery.at : null,
      delivery_note: delivery.state === 'delivered' ? null : (delivery.note ?? null),
      updated_at: input.evaluatedAt,
    };
    const existing = this.findExisting.get(input.conversationId, input.destination) as
      | {
          id: number;
          day: string;
          agentId: string;
          destination: string;
          overallScore: number;
          passed: number;
        }
      | undefined;
    let id: number;
    if (existing) {
      id = existing.id;
      const old = this.existingRules.all(id) as { rule: string; outcome: RuleOutcome }[];
      this.count(
        existing.destination,
        existing.day,
        existing.agentId,
        existing.overallScore,
        existing.passed,
        old,
        -1,
      );
      this.deleteRules.run(id);
      this.updateResult.run({ ...values, id });
    } else {
      id = (this.insertResult.get(values) as { id: number }).id;
    }
    for (const rule of rules) this.insertRule.run(id, rule.name, rule.outcome, rule.score, input.evaluatedAt);
    this.count(
      input.destination,
      day,
      input.agentId,
      input.overallScore,
      passed,
      rules.map((r) => ({ rule: r.name, outcome: r.outcome })),
      1,
    );
    if (prepared.transcript) {
      this.upsertTranscript.run(
        input.conversationId,
        input.evaluatedAt,
        TRANSCRIPT_CODEC,
        prepared.transcript.lines,
        prepared.transcript.body,
      );
    }
    return id;
  }

  /** prepare + write in a transaction of its own. */
  record(input: ResultInput): number {
    const prepared = this.prepare(input);
    return this.sqlite.transaction(() => this.write(prepared)).immediate();
  }

  /** Records where a result went after it was written (the platform profile's write-back). */
  setDelivery(conversationId: string, destination: string, delivery: Delivery, now: number): boolean {
    return (
      this.statement(
        `UPDATE results SET delivery_target = ?, delivery_state = ?, delivery_id = ?, delivered_at = ?,
           delivery_note = ?, updated_at = ? WHERE conversation_id = ? AND destination = ?`,
      ).run(
        'target' in delivery ? delivery.target : null,
        delivery.state,
        delivery.state === 'delivered' ? delivery.id : null,
        delivery.state === 'delivered' ? delivery.at : null,
        delivery.state === 'delivered' ? null : (delivery.note ?? null),
        now,
        conversationId,
        destination,
      ).changes === 1
    );
  }

  private count(
    destination: string,
    day: string,
    agentId: string,
    score: number,
    passed: number,
    rules: { rule: string; outcome: RuleOutcome }[],
    sign: 1 | -1,
  ): void {
    this.addDaily.run({
      destination,
      day,
      agentId,
      n: sign,
      score: sign * score,
      passed: sign * passed,
      critical: sign * (1 - passed),
    });
    for (const { rule, outcome } of rules) {
      const p = outcome === 'pass' ? sign : 0;
      const f = outcome === 'fail' ? sign : 0;
      const n = outcome === 'na' ? sign : 0;
      this.addDailyRule.run(destination, day, rule, p, f, n);
      this.addAgentRule.run(agentId, day, destination, rule, p, f, n);
    }
  }

  /** Every result of a conversation (one per destination), newest first. */
  forConversation(conversationId: string): ResultRow[] {
    return (
      this.statement(
        `SELECT ${DETAIL_COLUMNS} FROM results r WHERE r.conversation_id = ? ORDER BY r.evaluated_at DESC`,
      ).all(conversationId) as RawRow[]
    ).map(toRow);
  }

  byId(id: number): ResultRow | undefined {
    const row = this.statement(`SELECT ${DETAIL_COLUMNS} FROM results r WHERE r.id = ?`).get(id) as
      | RawRow
      | undefined;
    return row ? toRow(row) : undefined;
  }

  /** The stored transcript of a conversation, or null (never stored, deleted by retention, unreadable). */
  transcript(conversationId: string): TranscriptLine[] | null {
    const row = this.statement('SELECT codec, body FROM transcripts WHERE conversation_id = ?').get(
      conversationId,
    ) as { codec: string; body: Buffer } | undefined;
    return row ? decompressTranscript(row.codec, row.body) : null;
  }

  /**
   * A page with each result's rules as the stored JSON's bytes: the API splices them into its
   * answer, which saves decoding, parsing and re-encoding a thousand results' evidence per page.
   */
  listRaw(filter: ResultFilter, limit: number, cursor?: ResultCursor | null): ResultPage<ResultWithRawRules> {
    const rows = this.query(filter, limit, cursor ?? null, RAW_DETAIL_COLUMNS);
    return page(
      rows.map((t) => {
        const row = summaryOf(t) as ResultWithRawRules;
        row.rulesJson = (t[20] as Buffer | null) ?? EMPTY_RULES;
        row.comment = String(t[21] ?? '');
        row.deliveryNote = (t[22] as string | null) ?? null;
        return row;
      }),
      limit,
    );
  }

  /** A page of results, newest first, with per-rule detail. */
  list(filter: ResultFilter, limit: number, cursor?: ResultCursor | null): ResultPage<ResultRow> {
    const rows = this.query(filter, limit, cursor ?? null, DETAIL_COLUMNS);
    return page(
      rows.map((t) => {
        const row = summaryOf(t) as ResultRow;
        row.rules = JSON.parse((t[20] as string | null) ?? '[]') as StoredRule[];
        row.comment = String(t[21] ?? '');
        row.deliveryNote = (t[22] as string | null) ?? null;
        return row;
      }),
      limit,
    );
  }

  /** A page of results, newest first, without per-rule detail (list pages). */
  listSummaries(
    filter: ResultFilter,
    limit: number,
    cursor?: ResultCursor | null,
  ): ResultPage<ResultSummary> {
    const rows = this.query(filter, limit, cursor ?? null, SUMMARY_COLUMNS);
    return page(rows.map(summaryOf), limit);
  }

  /** The plan SQLite picks for a filter, for the benchmark's report. */
  explain(filter: ResultFilter, cursor: ResultCursor | null = null): string[] {
    const { sql, params } = listSql(filter, 50, cursor, SUMMARY_COLUMNS);
    return (this.sqlite.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...params) as { detail: string }[]).map(
      (r) => r.detail,
    );
  }

  /** The rows as arrays in the columns' order (see Tuple). Only lists prepare these statements. */
  private query(filter: ResultFilter, limit: number, cursor: ResultCursor | null, columns: string): Tuple[] {
    const { sql, params } = listSql(filter, limit + 1, cursor, columns);
    return this.statement(sql)
      .raw(true)
      .all(...params) as Tuple[];
  }

  /**
   * Where each share of a backtest's window starts: the (evaluated_at, id) of every `chunk`-th
   * result, oldest first. Threads claim the shares one at a time, so a thread that starts late or
   * runs on a busier core simply takes fewer. Read from results_time_idx alone (~0.4 us a result).
   */
  backtestShares(window: BacktestWindowFilter, chunk: number): ResultCursor[] {
    const { where, params } = backtestWhere(window);
    const rows = this.statement(
      `SELECT evaluatedAt, id FROM (
         SELECT r.evaluated_at AS evaluatedAt, r.id, row_number() OVER (ORDER BY r.evaluated_at, r.id) AS n
         FROM results r WHERE ${where.join(' AND ')})
       WHERE (n - 1) % ? = 0 ORDER BY n`,
    )
      .raw(true)
      .all(...params, Math.max(1, Math.floor(chunk))) as [number, number][];
    return rows.map(([evaluatedAt, id]) => ({ evaluatedAt, id }));
  }

  /**
   * What a backtest reads of each result of the window (or of its share [from, to), in
   * (evaluated_at, id) order), oldest first, in chunks of `chunk` (each chunk one short read, so a
   * long backtest never holds the database): only the columns it compares, and the transcript still
   * compressed (`transcript()` inflates it, when the caller needs it). `onChunk` returns false to stop.
   */
  eachForBacktest(
    filter: BacktestWindowFilter & { from?: ResultCursor; to?: ResultCursor },
    chunk: number,
    onChunk: (rows: BacktestRow[]) => boolean | undefined,
  ): void {
    let after: ResultCursor | null = null;
    for (;;) {
      const { where, params } = backtestWhere(filter);
      if (filter.from && !after) {
        where.push('r.evaluated_at >= ? AND (r.evaluated_at > ? OR r.id >= ?)');
        params.push(filter.from.evaluatedAt, filter.from.evaluatedAt, filter.from.id);
      }
      if (filter.to) {
        where.push('r.evaluated_at <= ? AND (r.evaluated_at < ? OR r.id < ?)');
        params.push(filter.to.evaluatedAt, filter.to.evaluatedAt, filter.to.id);
      }
      if (after) {
        where.push('r.evaluated_at >= ? AND (r.evaluated_at > ? OR r.id > ?)');
        params.push(after.evaluatedAt, after.evaluatedAt, after.id);
      }
      const rows = this.statement(
        `SELECT r.id, r.evaluated_at AS evaluatedAt, r.conversation_id AS conversationId,
           r.overall_score AS overallScore, r.passed, r.rubric_hash AS rubricHash, r.review_count AS reviewCount,
           r.rules_json AS rulesJson, t.codec AS codec, t.body AS body
         FROM results r LEFT JOIN transcripts t ON t.conversation_id = r.conversation_id
         WHERE ${where.join(' AND ')} ORDER BY r.evaluated_at, r.id LIMIT ?`,
      ).all(...params, chunk) as (BacktestColumns & { evaluatedAt: number })[];
      if (rows.length === 0) return;
      const out = rows.map((row) => new StoredForBacktest(row));
      const last = rows[rows.length - 1]!;
      after = { evaluatedAt: last.evaluatedAt, id: last.id };
      if (onChunk(out) === false || rows.length < chunk) return;
    }
  }

  /**
   * Makes the daily figures count days in `timeZone`, rebuilding them from the results when they
   * were built in another zone (TIME_ZONE changed). Returns whether a rebuild happened.
   */
  ensureRollupZone(timeZone: string): boolean {
    const s = this.sqlite;
    if (storedRollupZone(s) === timeZone) return false;
    const dayOf = dayFormatter(timeZone);
    s.transaction(() => {
      const select = s.prepare(
        'SELECT id, evaluated_at AS at FROM results WHERE id > ? ORDER BY id LIMIT 5000',
      );
      const setDay = s.prepare('UPDATE results SET day = ? WHERE id = ?');
      let last = 0;
      for (;;) {
        const rows = select.all(last) as { id: number; at: number }[];
        if (rows.length === 0) break;
        for (const row of rows) setDay.run(dayOf(row.at), row.id);
        last = rows[rows.length - 1]!.id;
      }
      s.exec(`DELETE FROM daily_stats; DELETE FROM daily_rule_stats; DELETE FROM daily_agent_rule_stats;
        INSERT INTO daily_stats (destination, day, agent_id, results, score_sum, passed, critical_failed)
          SELECT destination, day, agent_id, count(*), sum(overall_score), sum(passed), sum(1 - passed)
          FROM results GROUP BY destination, day, agent_id;
        INSERT INTO daily_rule_stats (destination, day, rule, passes, fails, nas)
          SELECT r.destination, r.day, rr.rule, sum(rr.outcome = 'pass'), sum(rr.outcome = 'fail'), sum(rr.outcome = 'na')
          FROM result_rules rr JOIN results r ON r.id = rr.result_id GROUP BY r.destination, r.day, rr.rule;
        INSERT INTO daily_agent_rule_stats (agent_id, day, destination, rule, passes, fails, nas)
          SELECT r.agent_id, r.day, r.destination, rr.rule, sum(rr.outcome = 'pass'), sum(rr.outcome = 'fail'), sum(rr.outcome = 'na')
          FROM result_rules rr JOIN results r ON r.id = rr.result_id GROUP BY r.agent_id, r.day, r.destination, rr.rule;`);
      s.prepare(
        'INSERT INTO console_meta (key, value) VALUES (?, ?) ON CONFLICT DO UPDATE SET value = excluded.value',
      ).run(ROLLUP_ZONE_KEY, timeZone);
    }).immediate();
    this.timeZone = timeZone;
    this.dayOf = dayOf;
    return true;
  }

  private statement(sql: string): Statement {
    let statement = this.cache.get(sql);
    if (!statement) {
      statement = this.sqlite.prepare(sql);
      this.cache.set(sql, statement);
    }
    return statement;
  }
}

function page<T extends { evaluatedAt: number; id: number }>(rows: T[], limit: number): ResultPage<T> {
  if (rows.length <= limit) return { rows, next: null };
  const kept = rows.slice(0, limit);
  const last = kept[kept.length - 1]!;
  return { rows: kept, next: { evaluatedAt: last.evaluatedAt, id: last.id } };
}

/**
 * The list query for a filter. "Failed rule X" is read from result_rules' (rule, outcome, time)
 * index; everything else from results, newest first, through the index the planner finds narrowest
 * (time with the common filter columns, agent and time, critical failures, reviewed results).
 * "Failed rule X" for one agent goes the other way: the agent's results newest first, each looked
 * up in result_rules by its key. An agent has a few per cent of the results at most, so that reads
 * a few hundred rows, where the rule's failures (one in ten results, say) would be tens of
 * thousands, each checked against the results table for its agent (30-60 ms for a page).
 * Keyset paging on (evaluated_at, id): `evaluated_at <= t` bounds the index range, the rest breaks
 * ties, so a deep page costs what the first one does.
 */
function listSql(
  filter: ResultFilter,
  limit: number,
  cursor: ResultCursor | null,
  columns: string,
): { sql: string; params: unknown[] } {
  const where: string[] = [];
  const params: unknown[] = [];
  let from = 'results r';
  let time = 'r.evaluated_at';
  let id = 'r.id';
  if (filter.failedRule !== undefined && filter.agentId !== undefined) {
    where.push(
      `EXISTS (SELECT 1 FROM result_rules rr WHERE rr.result_id = r.id AND rr.rule = ? AND rr.outcome = 'fail')`,
    );
    params.push(filter.failedRule);
  } else if (filter.failedRule !== undefined) {
    from = 'result_rules rr JOIN results r ON r.id = rr.result_id';
    where.push(`rr.rule = ? AND rr.outcome = 'fail'`);
    params.push(filter.failedRule);
    time = 'rr.evaluated_at';
    id = 'rr.result_id';
  }
  if (filter.since !== undefined) {
    where.push(`${time} >= ?`);
    params.push(filter.since);
  }
  if (filter.until !== undefined) {
    where.push(`${time} < ?`);
    params.push(filter.until);
  }
  if (cursor) {
    where.push(`${time} <= ? AND (${time} < ? OR ${id} < ?)`);
    params.push(cursor.evaluatedAt, cursor.evaluatedAt, cursor.id);
  }
  if (filter.agentId !== undefined) {
    where.push('r.agent_id = ?');
    params.push(filter.agentId);
  }
  if (filter.destination !== undefined) {
    where.push('r.destination = ?');
    params.push(filter.destination);
  }
  if (filter.minScore !== undefined) {
    where.push('r.overall_score >= ?');
    params.push(filter.minScore);
  }
  if (filter.maxScore !== undefined) {
    where.push('r.overall_score <= ?');
    params.push(filter.maxScore);
  }
  // Written as the partial indexes' own conditions, so the planner can use them.
  if (filter.criticalOnly) where.push('r.passed = 0');
  if (filter.reviewed === true) where.push('r.review_count > 0');
  if (filter.reviewed === false) where.push('r.review_count = 0');
  const sql = `SELECT ${columns} FROM ${from}${where.length ? ` WHERE ${where.join(' AND ')}` : ''}
    ORDER BY ${time} DESC, ${id} DESC LIMIT ${Math.max(1, Math.floor(limit))}`;
  return { sql, params };
}

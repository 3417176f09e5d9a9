import type { Statement } from 'better-sqlite3';
import type { RuleOutcome } from '../scoring/index.js';
import type { Store } from './db.js';
import type { StoredRule } from './results.js';
import type { Verdict } from './schema.js';

export interface ReviewRow {
  id: number;
  resultId: number;
  rule: string;
  reviewerId: number | null;
  reviewer: string;
  verdict: Verdict;
  engineOutcome: RuleOutcome;
  reviewerOutcome: RuleOutcome;
  note: string | null;
  createdAt: number;
}

export interface VerdictInput {
  rule: string;
  verdict: Verdict;
  note?: string | null;
}

/** How often the engine said X and a reviewer said Y, per rule: what agreement and kappa are made of. */
export interface AgreementCell {
  rule: string;
  engineOutcome: RuleOutcome;
  reviewerOutcome: RuleOutcome;
  n: number;
}

export interface ReviewerSummary {
  reviewer: string;
  verdicts: number;
  results: number;
  agreed: number;
  lastAt: number;
}

export interface RecentReview extends ReviewRow {
  conversationId: string;
  destination: string;
}

/** A row of REVIEW_COLUMNS as an array, in their order. */
type ReviewTuple = [
  number,
  number,
  string,
  number | null,
  string,
  Verdict,
  RuleOutcome,
  RuleOutcome,
  string | null,
  number,
];

const REVIEW_COLUMNS = `v.id, v.result_id AS resultId, v.rule, v.reviewer_id AS reviewerId, v.reviewer, v.verdict,
  v.engine_outcome AS engineOutcome, v.reviewer_outcome AS reviewerOutcome, v.note, v.created_at AS createdAt`;

/** Reviewers' verdicts and the calibration figures made from them. */
export class ReviewStore {
  private readonly sqlite: Store['sqlite'];
  private readonly cache = new Map<string, Statement>();

  constructor(store: Store) {
    this.sqlite = store.sqlite;
  }

  private st(sql: string): Statement {
    let statement = this.cache.get(sql);
    if (!statement) {
      statement = this.sqlite.prepare(sql);
      this.cache.set(sql, statement);
    }
    return statement;
  }

  /**
   * Records a reviewer's verdicts on a result, replacing their earlier verdict on the same rule. The
   * engine's outcome is read inside the transaction and kept with the verdict, so agreement means
   * agreement with what the reviewer was shown. Verdicts on rules the result does not have are
   * refused (the whole call changes nothing).
   */
  record(
    resultId: number,
    reviewer: { id: number | null; name: string },
    verdicts: VerdictInput[],
    now: number,
  ): { ok: true; written: number } | { ok: false; reason: 'no_result' | 'unknown_rule'; rule?: string } {
    return this.sqlite
      .transaction(() => {
        const result = this.st('SELECT rules_json AS rulesJson FROM results WHERE id = ?').get(resultId) as
          | { rulesJson: string }
          | undefined;
        if (!result) return { ok: false as const, reason: 'no_result' as const };
        const engine = new Map(
          (JSON.parse(result.rulesJson) as StoredRule[]).map((r) => [r.name, r.outcome] as const),
        );
        for (const v of verdicts) {
          if (!engine.has(v.rule))
            return { ok: false as const, reason: 'unknown_rule' as const, rule: v.rule };
        }
        const upsert = this.st(
          `INSERT INTO reviews (result_id, rule, reviewer_id, reviewer, verdict, engine_outcome, reviewer_outcome, note, created_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
           ON CONFLICT (result_id, rule, reviewer) DO UPDATE SET reviewer_id = excluded.reviewer_id,
             verdict = excluded.verdict, engine_outcome = excluded.engine_outcome,
             reviewer_outcome = excluded.reviewer_outcome, note = excluded.note, created_at = excluded.created_at`,
        );
        for (const v of verdicts) {
          const engineOutcome = engine.get(v.rule)!;
          const reviewerOutcome = v.verdict === 'agree' ? engineOutcome : v.verdict;
          upsert.run(
            resultId,
            v.rule,
            reviewer.id,
            reviewer.name,
            v.verdict,
            engineOutcome,
            reviewerOutcome,
            v.note?.trim() ? v.note.trim() : null,
            now,
          );
        }
        if (verdicts.length > 0) {
          this.st(
            `UPDATE results SET review_count = (SELECT count(*) FROM reviews WHERE result_id = ?), reviewed_at = ?
             WHERE id = ?`,
          ).run(resultId, now, resultId);
        }
        return { ok: true as const, written: verdicts.length };
      })
      .immediate();
  }

  /**
   * Verdicts on these results, oldest first per result. A page of the results API may carry a
   * thousand reviewed results with a verdict per rule each: the rows come back as arrays (objects
   * keyed by column name cost twice as much to build) in the order of reviews_result_time_idx, so
   * SQLite sorts nothing.
   */
  forResults(resultIds: readonly number[]): Map<number, ReviewRow[]> {
    const out = new Map<number, ReviewRow[]>();
    // SQLite bounds the parameters of one statement: ask in chunks.
    for (let i = 0; i < resultIds.length; i += 500) {
      const chunk = resultIds.slice(i, i + 500);
      // One statement per list length (pages have a handful of lengths), prepared once; only this
      // method uses it, so it stays in raw mode.
      const rows = this.st(
        `SELECT ${REVIEW_COLUMNS} FROM reviews v WHERE v.result_id IN (${chunk.map(() => '?').join(', ')})
         ORDER BY v.result_id, v.created_at, v.id`,
      )
        .raw(true)
        .all(...chunk) as ReviewTuple[];
      let list: ReviewRow[] | undefined;
      for (const t of rows) {
        const row: ReviewRow = {
          id: t[0],
          resultId: t[1],
          rule: t[2],
          reviewerId: t[3],
          reviewer: t[4],
          verdict: t[5],
          engineOutcome: t[6],
          reviewerOutcome: t[7],
          note: t[8],
          createdAt: t[9],
        };
        if (list?.[0]?.resultId !== row.resultId) {
          list = out.get(row.resultId);
          if (!list) {
            list = [];
            out.set(row.resultId, list);
          }
        }
        list.push(row);
      }
    }
    return out;
  }

  /** Engine-versus-reviewer counts per rule, for verdicts given in [since, until). */
  agreementCells(range: { since?: number; until?: number } = {}): AgreementCell[] {
    const where: string[] = [];
    const params: unknown[] = [];
    if (range.since !== undefined) where.push('created_at >= ?') && params.push(range.since);
    if (range.until !== undefined) where.push('created_at < ?') && params.push(range.until);
    return this.st(
      `SELECT rule, engine_outcome AS engineOutcome, reviewer_outcome AS reviewerOutcome, count(*) AS n
       FROM reviews ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
       GROUP BY rule, engine_outcome, reviewer_outcome ORDER BY rule`,
    ).all(...params) as AgreementCell[];
  }

  /** Who reviewed what: verdicts, results and agreement with the engine per reviewer, since `since`. */
  reviewers(since = 0): ReviewerSummary[] {
    return this.st(
      `SELECT reviewer, count(*) AS verdicts, count(DISTINCT result_id) AS results,
         sum(engine_outcome = reviewer_outcome) AS agreed, max(created_at) AS lastAt
       FROM reviews WHERE created_at >= ? GROUP BY reviewer ORDER BY max(created_at) DESC`,
    ).all(since) as ReviewerSummary[];
  }

  /** The latest verdicts with the conversation they are about; only disagreements when asked. */
  recent(limit: number, options: { disagreementsOnly?: boolean } = {}): RecentReview[] {
    const filter = options.disagreementsOnly ? 'WHERE v.engine_outcome <> v.reviewer_outcome' : '';
    return this.st(
      `SELECT ${REVIEW_COLUMNS}, r.conversation_id AS conversationId, r.destination
       FROM reviews v JOIN results r ON r.id = v.result_id ${filter}
       ORDER BY v.created_at DESC, v.id DESC LIMIT ?`,
    ).all(limit) as RecentReview[];
  }

  /** Results with at least one verdict given at or after `since`, oldest verdict first. */
  reviewedResultIds(since?: number): number[] {
    return (
      this.st(
        `SELECT result_id AS id FROM reviews WHERE created_at >= ? GROUP BY result_id ORDER BY min(created_at), result_id`,
      ).all(since ?? 0) as { id: number }[]
    ).map((r) => r.id);
  }
}

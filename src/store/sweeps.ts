import { and, desc, eq } from 'drizzle-orm';
import type { Db } from './db.js';
import { sweeps } from './schema.js';

export class SweepStore {
  constructor(private readonly db: Db) {}

  /** Start time of the last pass that reached its end: later passes need not look further back than it. */
  lastSuccessfulStart(): number | null {
    const row = this.db
      .select({ startedAt: sweeps.startedAt })
      .from(sweeps)
      .where(eq(sweeps.status, 'ok'))
      .orderBy(desc(sweeps.startedAt))
      .limit(1)
      .get();
    return row?.startedAt ?? null;
  }

  begin(owner: string, now: number): number {
    return this.db
      .insert(sweeps)
      .values({ owner, startedAt: now, status: 'running' })
      .returning({ id: sweeps.id })
      .get().id;
  }

  finish(
    id: number,
    now: number,
    result: { ok: boolean; pages: number; seen: number; created: number; error?: string },
  ): void {
    this.db
      .update(sweeps)
      .set({
        finishedAt: now,
        status: result.ok ? 'ok' : 'failed',
        pages: result.pages,
        seen: result.seen,
        created: result.created,
        error: result.error ?? null,
      })
      .where(and(eq(sweeps.id, id), eq(sweeps.status, 'running')))
      .run();
  }
}

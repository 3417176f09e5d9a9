import { type Column, getTableColumns } from 'drizzle-orm';
import { jobs } from './schema.js';

/** A job row exactly as the schema types it (booleans as booleans, enums as their unions). */
export type Job = typeof jobs.$inferSelect;

// Column names come from the drizzle schema, the single source of truth for the table.
const COLUMNS = getTableColumns(jobs);
const ENTRIES = Object.entries(COLUMNS) as [keyof Job, Column][];

/** `"agent_id" AS "agentId", ...`: rows come back keyed as Job is. */
export const SELECT_LIST = ENTRIES.map(([key, column]) => `"${column.name}" AS "${key}"`).join(', ');

/** `INSERT INTO jobs` of every column, bound by name from a row written by `toRow`. */
export const INSERT_SQL = `INSERT INTO jobs (${ENTRIES.map(([, c]) => `"${c.name}"`).join(', ')}) VALUES (${ENTRIES.map(([key]) => `@${key}`).join(', ')})`;

/**
 * Columns whose SQLite value is not their TypeScript value (SQLite has no booleans, and
 * better-sqlite3 refuses to bind JS ones). They are converted with drizzle's own mapping, so a row
 * read here is exactly what drizzle's query builder would return; every other column is a string
 * or a number on both sides and passes through untouched (this runs for every webhook).
 */
const MAPPED = ENTRIES.filter(([, column]) => column.dataType !== 'string' && column.dataType !== 'number');

export function fromRow(row: Record<string, unknown>): Job {
  for (const [key, column] of MAPPED) {
    const value = row[key];
    if (value !== null && value !== undefined) row[key] = column.mapFromDriverValue(value);
  }
  return row as Job;
}

export function toRow(job: Job): Record<string, unknown> {
  const row: Record<string, unknown> = { ...job };
  for (const [key, column] of MAPPED) {
    const value = row[key];
    if (value !== null && value !== undefined) row[key] = column.mapToDriverValue(value);
  }
  return row;
}

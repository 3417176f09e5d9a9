import { existsSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { parseEnv } from 'node:util';

/**
 * The environment the commands read: the process environment over `.env` from the working
 * directory when there is one (a variable set in the environment wins over the file).
 */
export function readEnvironment(file = '.env'): Record<string, string | undefined> {
  const fromFile = existsSync(file) ? (parseEnv(readFileSync(file, 'utf8')) as Record<string, string>) : {};
  return { ...fromFile, ...process.env };
}

/** Prints start-up problems, one line each, and sets the exit code. Never a stack trace. */
export function reportProblems(lines: string[], exitCode: number): void {
  for (const line of lines) process.stderr.write(`${line}\n`);
  process.exitCode = exitCode;
}

/** Lease owner: which process holds a job, readable in the database when an operator looks. */
export function processOwner(role: string): string {
  return `${role}:${hostname()}:${process.pid}:${Math.random().toString(36).slice(2, 8)}`;
}

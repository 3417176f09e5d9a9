/**
 * How the service's commands end (README: "Exit codes"). The wiring (src/service.ts) throws a
 * StartupError for what stops a start; the entry points (src/main.ts, src/cli/*) print its lines and
 * exit with its code.
 */

/** Exit codes of the service's commands. */
export const EXIT = {
  ok: 0,
  unexpected: 1,
  config: 2,
  unreachable: 3,
  credentials: 4,
  interrupted: 130,
} as const;

/** A problem that stops start-up: printed one line each, no stack trace, then exit with `exitCode`. */
export class StartupError extends Error {
  constructor(
    readonly lines: string[],
    readonly exitCode: number,
  ) {
    super(lines.join('; '));
  }
}

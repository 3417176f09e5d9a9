import { systemClock } from '../clock.js';
import { loadConfig } from '../config.js';
import { createLogger } from '../logger.js';
import { startService } from '../service.js';
import { processOwner, readEnvironment, reportProblems } from './env.js';
import { EXIT, StartupError } from './exit.js';

/** `qm start` (`node dist/main.js`, `npm start`): settings → database → CXone → worker → HTTP. Problems at start-up: one line each, exit 2-4. */
async function main(): Promise<void> {
  const loaded = loadConfig(readEnvironment(), 'server');
  if (!loaded.ok) return reportProblems(loaded.problems, EXIT.config);
  const { config } = loaded;
  const log = createLogger(config.logLevel);
  const deps = { clock: systemClock, log, owner: processOwner('server') };

  const service = await startService(config, deps);
  let stopping: Promise<void> | undefined;
  const shutdown = (signal: string) => {
    if (stopping) return;
    log.info({ signal }, 'shutting down');
    stopping = service.stop().then(
      () => process.exit(EXIT.ok),
      (error) => {
        log.error({ err: error }, 'shutdown failed');
        process.exit(EXIT.unexpected);
      },
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));

  try {
    await service.ready;
  } catch (error) {
    await service.stop().catch(() => undefined);
    throw error;
  }
}

export function run(): Promise<void> {
  return main().catch((error: unknown) => {
    if (error instanceof StartupError) return reportProblems(error.lines, error.exitCode);
    process.stderr.write(`unexpected error: ${(error as Error)?.stack ?? String(error)}\n`);
    process.exitCode = EXIT.unexpected;
  });
}

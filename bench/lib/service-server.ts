/**
 * The service as `npm start` runs it (src/main.ts): settings from the environment, pino JSON on
 * stdout (the parent points stdout at a file), startService. Tells the parent its URL once ready.
 */
import { systemClock } from '../../src/clock.js';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { startService } from '../../src/service.js';
import { onParentStop, send } from './child.js';

async function main(): Promise<void> {
  const loaded = loadConfig(process.env, 'server');
  if (!loaded.ok) throw new Error(loaded.problems.join('; '));
  const log = createLogger(loaded.config.logLevel);
  const service = await startService(loaded.config, {
    clock: systemClock,
    log,
    owner: `bench:${process.pid}`,
  });
  onParentStop(() => service.stop());
  await service.ready;
  send({ type: 'ready', url: service.url });
}

main().catch((error: unknown) => {
  send({ type: 'error', message: (error as Error)?.message ?? String(error) });
  process.stderr.write(`${(error as Error)?.stack ?? String(error)}\n`);
  process.exit(1);
});

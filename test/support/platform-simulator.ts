import { type Clock, systemClock } from '../../src/clock.js';
import { createSlidingWindowBudget } from '../../src/cxone/budget.js';
import { createPlatformClient, type PlatformClientOptions } from '../../src/cxone/platform/client.js';
import type { PlatformClient } from '../../src/cxone/platform/types.js';
import type { RequestBudget } from '../../src/cxone/types.js';
import {
  createPlatformSimulator,
  type PlatformSimulator,
  type PlatformSimulatorOptions,
} from '../../src/simulator/index.js';

/** A platform client for the simulator at `url`: its credentials, a budget no test reaches, 5 s per attempt. */
export function platformClientFor(
  sim: PlatformSimulator,
  url: string,
  overrides: Partial<PlatformClientOptions> = {},
): PlatformClient {
  const clock: Clock = overrides.clock ?? systemClock;
  const budget = overrides.budget ?? createSlidingWindowBudget({ maxPerMinute: 100_000, clock });
  return createPlatformClient({
    issuer: url,
    accessKeyId: sim.accessKeyId,
    accessKeySecret: sim.accessKeySecret,
    clientId: sim.clientId,
    clientSecret: sim.clientSecret,
    timeoutMs: 5_000,
    // Tests do not wait out real 429 backoffs.
    rateLimitWaitMs: () => 20,
    ...overrides,
    clock,
    budget,
  });
}

/** A budget that records every acquisition with its scope, and every pause. */
export function countingBudget(inner: RequestBudget): RequestBudget & {
  acquired: string[];
  pauses: { untilMs: number; scope: string }[];
} {
  const acquired: string[] = [];
  const pauses: { untilMs: number; scope: string }[] = [];
  return {
    acquired,
    pauses,
    async acquire(signal, scope = 'default') {
      await inner.acquire(signal, scope);
      acquired.push(scope);
    },
    pauseUntil(untilMs, scope = 'default') {
      pauses.push({ untilMs, scope });
      inner.pauseUntil(untilMs, scope);
    },
  };
}

export interface PlatformSimulatorHarness {
  sim: PlatformSimulator;
  url: string;
  client(overrides?: Partial<PlatformClientOptions>): PlatformClient;
  close(): Promise<void>;
}

/** A platform simulator on its own port and clients for it; `close()` stops both. */
export async function startPlatformSimulator(
  options: PlatformSimulatorOptions = {},
): Promise<PlatformSimulatorHarness> {
  const sim = createPlatformSimulator(options);
  const server = await sim.listen(0);
  const clients: PlatformClient[] = [];
  const clock: Clock = options.clock ?? systemClock;
  return {
    sim,
    url: server.url,
    client(overrides = {}) {
      const client = platformClientFor(sim, server.url, { clock, ...overrides });
      clients.push(client);
      return client;
    },
    async close() {
      await Promise.all(clients.map((c) => c.close()));
      await server.close();
    },
  };
}

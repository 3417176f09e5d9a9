import { type Clock, systemClock } from '../../src/clock.js';
import { createSlidingWindowBudget } from '../../src/cxone/budget.js';
import { createTutorialClient, type TutorialClientOptions } from '../../src/cxone/tutorial-client.js';
import { DEFAULT_CXONE_PATHS, DEFAULT_CXONE_SCOPES } from '../../src/cxone/tutorial-wire.js';
import type { CxoneClient } from '../../src/cxone/types.js';
import {
  type CxoneSimulator,
  type CxoneSimulatorOptions,
  createCxoneSimulator,
} from '../../src/simulator/index.js';

/**
 * A CXone client for the simulator listening at `url`, with the test defaults (all scopes, a budget
 * no test reaches, 5 s per attempt, the system clock); `overrides` replace any of them. The caller
 * closes it.
 */
export function clientFor(
  sim: CxoneSimulator,
  url: string,
  overrides: Partial<TutorialClientOptions> = {},
): CxoneClient {
  const clock: Clock = overrides.clock ?? systemClock;
  const budget = overrides.budget ?? createSlidingWindowBudget({ maxPerMinute: 100_000, clock });
  return createTutorialClient({
    baseUrl: url,
    clientId: sim.clientId,
    clientSecret: sim.clientSecret,
    scopes: DEFAULT_CXONE_SCOPES,
    paths: DEFAULT_CXONE_PATHS,
    pageSize: 50,
    timeoutMs: 5_000,
    ...overrides,
    clock,
    budget,
  });
}

export interface SimulatorHarness {
  sim: CxoneSimulator;
  url: string;
  /** A client for this simulator (see clientFor); it runs on the simulator's clock unless overridden. */
  client(overrides?: Partial<TutorialClientOptions>): CxoneClient;
  close(): Promise<void>;
}

/**
 * A simulator on its own 127.0.0.1 port and clients configured for it. Call `close()` (e.g. in
 * afterEach) to stop the server and every client made here.
 */
export async function startSimulator(options: CxoneSimulatorOptions = {}): Promise<SimulatorHarness> {
  const sim = createCxoneSimulator(options);
  const server = await sim.listen(0);
  const clients: CxoneClient[] = [];
  const clock: Clock = options.clock ?? systemClock;
  return {
    sim,
    url: server.url,
    client(overrides = {}) {
      const client = clientFor(sim, server.url, { clock, ...overrides });
      clients.push(client);
      return client;
    },
    async close() {
      await Promise.all(clients.map((c) => c.close()));
      await server.close();
    },
  };
}

import { type Clock, systemClock } from '../../src/clock.js';
import { createSlidingWindowBudget } from '../../src/cxone/budget.js';
import { type CxoneClientOptions, createCxoneClient, DEFAULT_CXONE_PATHS } from '../../src/cxone/client.js';
import type { CxoneClient, RequestBudget } from '../../src/cxone/types.js';
import {
  type CxoneSimulator,
  type CxoneSimulatorOptions,
  createCxoneSimulator,
} from '../../src/simulator/index.js';

export interface SimulatorHarness {
  sim: CxoneSimulator;
  url: string;
  /** A client for this simulator; options override the test defaults. */
  client(overrides?: Partial<CxoneClientOptions>): CxoneClient;
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
      const budget: RequestBudget =
        overrides.budget ??
        createSlidingWindowBudget({ maxPerMinute: 10_000, clock: overrides.clock ?? clock });
      const client = createCxoneClient({
        baseUrl: server.url,
        clientId: sim.clientId,
        clientSecret: sim.clientSecret,
        scopes: [
          'conversation:read',
          'conversation:media:transcript:read',
          'qm:evaluation:write',
          'qm:form:read',
        ],
        paths: DEFAULT_CXONE_PATHS,
        pageSize: 50,
        timeoutMs: 5_000,
        clock,
        ...overrides,
        budget,
      });
      clients.push(client);
      return client;
    },
    async close() {
      await Promise.all(clients.map((c) => c.close()));
      await server.close();
    },
  };
}

/** Polls until `check` holds (real time), failing after `timeoutMs`. */
export async function waitFor(check: () => boolean, timeoutMs = 3_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('waitFor: condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}

import type { AddressInfo } from 'node:net';
import { type Http2Bindings, type HttpBindings, serve } from '@hono/node-server';
import type { CxoneSimulator, RunningSimulator } from '../../src/simulator/index.js';

export interface FlakyCxone extends RunningSimulator {
  /** From now on, answer this share of the calls (0..1) with a 500 instead of passing them on. */
  setFailureRate(rate: number): void;
  /** 500s answered so far (the simulator never sees those calls: they are not in its call log). */
  readonly injected: number;
}

/**
 * The simulator's API behind a switch that answers a random share of the calls with a 500, after the
 * same latency as a real answer, before the simulator sees them: "CXone answers 25 % of calls with
 * 500", whatever the call, the token included. Benchmarks only.
 */
export function listenFlaky(
  sim: CxoneSimulator,
  latencyMs: number,
  random = Math.random,
): Promise<FlakyCxone> {
  let rate = 0;
  let injected = 0;
  const fetch = async (request: Request, env: HttpBindings | Http2Bindings): Promise<Response> => {
    if (rate > 0 && random() < rate) {
      injected++;
      await new Promise((r) => setTimeout(r, latencyMs));
      return new Response('{"error":{"code":"injected","message":"Injected failure 500"}}', {
        status: 500,
        headers: { 'content-type': 'application/json' },
      });
    }
    return sim.app.fetch(request, env);
  };
  return new Promise((resolve, reject) => {
    const server = serve({ fetch, port: 0, hostname: '127.0.0.1' }, (info: AddressInfo) => {
      resolve({
        url: `http://127.0.0.1:${info.port}`,
        setFailureRate(r) {
          rate = r;
        },
        get injected() {
          return injected;
        },
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            (server as unknown as { closeAllConnections?: () => void }).closeAllConnections?.();
          }),
      });
    });
    server.once('error', reject);
  });
}

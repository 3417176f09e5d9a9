/**
 * Listens for an app built by createApp. Kept apart from the app so tests and the benchmark can run
 * the app without a port, and so shutdown has one owner.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import type { Hono } from 'hono';

export interface StartHttpServerOptions {
  app: Hono;
  port: number;
  /** Defaults to all interfaces. */
  hostname?: string;
}

export interface RunningHttpServer {
  url: string;
  port: number;
  /**
   * Stops accepting connections, lets requests in flight finish, closes idle keep-alive sockets as
   * they become idle, and after `graceMs` (default 10 s) destroys whatever is still open.
   * Resolves once every connection is gone.
   */
  close(graceMs?: number): Promise<void>;
}

// Longer than the idle timeout of common load balancers (60 s on AWS ALB), so the balancer, not us,
// closes idle connections; otherwise it may send a request on a socket we are closing and see a 502.
const KEEP_ALIVE_TIMEOUT_MS = 65_000;
// Must exceed the keep-alive timeout, or a request arriving late on an idle socket can be cut off.
const HEADERS_TIMEOUT_MS = 66_000;
// A 256 KiB body has no business taking longer; bounds slow-body (slowloris) connections.
const REQUEST_TIMEOUT_MS = 120_000;
const IDLE_SWEEP_MS = 50;
const DEFAULT_GRACE_MS = 10_000;

export function startHttpServer(options: StartHttpServerOptions): Promise<RunningHttpServer> {
  const { app, port, hostname } = options;
  return new Promise((resolve, reject) => {
    const server = serve({ fetch: app.fetch, port, ...(hostname ? { hostname } : {}) }) as Server;
    server.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS;
    server.headersTimeout = HEADERS_TIMEOUT_MS;
    server.requestTimeout = REQUEST_TIMEOUT_MS;

    const onError = (err: Error) => reject(err);
    server.once('error', onError);
    server.once('listening', () => {
      server.off('error', onError);
      const address = server.address() as AddressInfo;
      const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
      let closing: Promise<void> | undefined;
      resolve({
        url: `http://${host}:${address.port}`,
        port: address.port,
        close: (graceMs = DEFAULT_GRACE_MS) => {
          closing ??= closeGracefully(server, graceMs);
          return closing;
        },
      });
    });
  });
}

function closeGracefully(server: Server, graceMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    // A keep-alive socket whose request finishes after close() becomes idle but stays open until its
    // timeout; sweeping idle sockets until the server is closed ends them as soon as they go quiet.
    const sweeper = setInterval(() => server.closeIdleConnections(), IDLE_SWEEP_MS);
    const deadline = setTimeout(() => server.closeAllConnections(), Math.max(0, graceMs));
    server.close((err) => {
      clearInterval(sweeper);
      clearTimeout(deadline);
      if (err) reject(err);
      else resolve();
    });
    server.closeIdleConnections();
  });
}

/**
 * Listens for the apps built in src/http/app.ts. Kept apart from the apps so tests and the benchmark
 * can run them without a port, and so shutdown has one owner.
 *
 * The limits here are what a webhook sender needs and no more, because every connection an attacker
 * holds open costs a file descriptor and every body byte costs memory:
 * - headers within 10 s and the whole request within 30 s of its first byte (a sender writes a
 *   webhook at once; 256 KiB at 10 KB/s would still fit), checked every second rather than Node's 30;
 * - at most `maxConnections` connections per listener. When a new connection would pass it, idle
 *   keep-alive connections and connections that sent no request within 2 s are closed first, so
 *   clients that park connections cannot lock out a sender that has something to say.
 */
import type { Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { serve } from '@hono/node-server';
import type { Hono } from 'hono';
import { getPath } from 'hono/utils/url';
import { DEFAULT_HTTP_MAX_CONNECTIONS } from '../defaults.js';
import { PUBLIC_PREFIX } from './app.js';

/** What a listener serves: a Hono app, or anything with its `fetch`. */
export interface Fetcher {
  fetch: Hono['fetch'];
}

export interface StartHttpServerOptions {
  app: Fetcher;
  port: number;
  /** Defaults to all interfaces. */
  hostname?: string;
  /** Connections held at once (see the file comment). */
  maxConnections?: number;
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
// Idle connections cannot lock clients out for that long: they are the first closed at the cap.
const KEEP_ALIVE_TIMEOUT_MS = 65_000;
// Node 20 counts these from the first byte of each request, not from when a keep-alive socket went
// idle, so they need not exceed the keep-alive timeout.
const HEADERS_TIMEOUT_MS = 10_000;
const REQUEST_TIMEOUT_MS = 30_000;
// How often Node looks for connections past those timeouts (its default, 30 s, let a silent connection
// live up to 40 s).
const TIMEOUT_CHECK_MS = 1_000;
// A connection that has sent no complete request headers this long after opening is fair game when
// the listener is full: real senders send their request at once.
const SILENT_GRACE_MS = 2_000;
const IDLE_SWEEP_MS = 50;
const DEFAULT_GRACE_MS = 10_000;

export function startHttpServer(options: StartHttpServerOptions): Promise<RunningHttpServer> {
  const { app, port, hostname } = options;
  return new Promise((resolve, reject) => {
    const server = serve({
      fetch: app.fetch,
      port,
      ...(hostname ? { hostname } : {}),
      serverOptions: {
        keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS,
        headersTimeout: HEADERS_TIMEOUT_MS,
        requestTimeout: REQUEST_TIMEOUT_MS,
        connectionsCheckingInterval: TIMEOUT_CHECK_MS,
      },
    }) as Server;
    server.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS;
    server.headersTimeout = HEADERS_TIMEOUT_MS;
    server.requestTimeout = REQUEST_TIMEOUT_MS;
    server.maxConnections = options.maxConnections ?? DEFAULT_HTTP_MAX_CONNECTIONS;
    reclaimWhenFull(server);

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

/**
 * Node drops a connection that would pass maxConnections ('drop'). Dropping it is right when every
 * connection is busy; when some are parked (idle keep-alive, or silent since they opened), closing
 * those lets the client's next attempt in.
 */
function reclaimWhenFull(server: Server): void {
  const silentSince = new Map<Socket, number>();
  server.on('connection', (socket: Socket) => {
    silentSince.set(socket, Date.now());
    socket.once('close', () => silentSince.delete(socket));
  });
  server.on('request', (req: { socket: Socket }) => silentSince.delete(req.socket));
  server.on('drop', () => {
    server.closeIdleConnections();
    const cutoff = Date.now() - SILENT_GRACE_MS;
    for (const [socket, since] of silentSince) {
      if (since <= cutoff) {
        silentSince.delete(socket);
        socket.destroy();
      }
    }
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

/** Whether a path belongs to the public listener: `/webhooks` and everything under it. */
export function isPublicPath(path: string): boolean {
  return (
    path.startsWith(PUBLIC_PREFIX) &&
    (path.length === PUBLIC_PREFIX.length || path.charCodeAt(PUBLIC_PREFIX.length) === 47) // '/'
  );
}

/**
 * One listener for both apps (no ADMIN_PORT): `/webhooks/*` to the public app, the rest to the admin
 * app. The path is read the way Hono reads it (percent-decoded), so both apps see the same split.
 */
export function routeByPath(publicApp: Fetcher, adminApp: Fetcher): Fetcher {
  return {
    fetch: (request, ...rest) =>
      isPublicPath(getPath(request)) ? publicApp.fetch(request, ...rest) : adminApp.fetch(request, ...rest),
  };
}

export interface ListenerSettings {
  port: number;
  host: string;
  /** A second listener for the admin app; undefined = everything on `port`. */
  adminPort?: number | undefined;
  adminHost: string;
  maxConnections: number;
}

export interface RunningListeners {
  /** The public listener (webhooks and probes; everything when there is no admin listener). */
  url: string;
  /** The admin listener; the same as `url` when there is only one. */
  adminUrl: string;
  /** Closes both, in parallel, with one grace period. */
  close(graceMs?: number): Promise<void>;
}

/** Which setting a listener failed to listen on, for the start-up line. */
export class ListenError extends Error {
  constructor(
    readonly setting: 'PORT' | 'ADMIN_PORT',
    readonly address: string,
    cause: Error,
  ) {
    super(`cannot listen on ${address} (${cause.message})`);
  }
}

/**
 * Starts the public listener on PORT and, with ADMIN_PORT, the admin listener on its own address;
 * without, one listener on PORT serves both apps (routeByPath).
 */
export async function startListeners(
  apps: { public: Fetcher; admin: Fetcher },
  settings: ListenerSettings,
): Promise<RunningListeners> {
  const { port, host, adminPort, adminHost, maxConnections } = settings;
  const listen = async (setting: 'PORT' | 'ADMIN_PORT', app: Fetcher, p: number, h: string) => {
    try {
      return await startHttpServer({ app, port: p, hostname: h, maxConnections });
    } catch (error) {
      throw new ListenError(setting, `${h}:${p}`, error as Error);
    }
  };
  if (adminPort === undefined) {
    const server = await listen('PORT', routeByPath(apps.public, apps.admin), port, host);
    return { url: server.url, adminUrl: server.url, close: (graceMs) => server.close(graceMs) };
  }
  const publicServer = await listen('PORT', apps.public, port, host);
  let adminServer: RunningHttpServer;
  try {
    adminServer = await listen('ADMIN_PORT', apps.admin, adminPort, adminHost);
  } catch (error) {
    await publicServer.close(0);
    throw error;
  }
  return {
    url: publicServer.url,
    adminUrl: adminServer.url,
    close: async (graceMs) => {
      await Promise.all([publicServer.close(graceMs), adminServer.close(graceMs)]);
    },
  };
}

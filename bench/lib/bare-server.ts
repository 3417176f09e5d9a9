/**
 * The baseline of the ingest benchmark: a bare Hono app on @hono/node-server that only reads the
 * body and answers 202 (the definition), the way a Hono app is usually written: c.req.text()
 * and a small JSON answer like the service's. No signature check, no parsing, no database.
 */
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { onParentStop, send } from './child.js';

const app = new Hono();
app.post('/webhooks/cxone', async (c) => {
  await c.req.text();
  return c.json({ status: 'accepted' }, 202);
});

const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, (info: AddressInfo) => {
  send({ type: 'ready', url: `http://127.0.0.1:${info.port}` });
});
onParentStop(
  () =>
    new Promise<void>((resolve) => {
      server.close(() => resolve());
      (server as unknown as { closeAllConnections?: () => void }).closeAllConnections?.();
    }),
);

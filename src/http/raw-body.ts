/**
 * Reading a webhook request as the route needs it: headers, and the raw body bytes read once with a
 * size limit (the signature is over those exact bytes, and they are what gets stored).
 */
import { IncomingMessage } from 'node:http';
import type { Context } from 'hono';

/** `application/json`, with or without parameters such as `; charset=utf-8`, in any case. */
export function isJsonContentType(value: string | undefined): boolean {
  if (!value) return false;
  const semicolon = value.indexOf(';');
  const type = (semicolon === -1 ? value : value.slice(0, semicolon)).trim().toLowerCase();
  return type === 'application/json';
}

/**
 * The request as the webhook route needs it: headers and a size-limited read of the raw bytes.
 *
 * Under @hono/node-server the Node request is at `c.env.incoming`; reading it directly skips building
 * a WHATWG Request, its Headers and a web stream over the socket, which is most of the cost of a small
 * POST (the route is benchmarked against a bare Hono app). Anywhere else (`app.request()` in tests,
 * HTTP/2, other runtimes) the standard Request is used. Both readers count bytes as they arrive, so a
 * chunked body, or one whose Content-Length lies, is stopped at the limit instead of buffered whole.
 */
export interface RawInput {
  header(name: string): string | undefined;
  /**
   * The body's bytes; 'too_large' once more than `limit` bytes arrived; 'refused' when `admit` (told
   * the running total before each chunk is kept) says no, e.g. because the bytes in flight across all
   * requests are at their bound.
   */
  readBody(limit: number, admit?: (total: number) => boolean): Promise<Buffer | BodyRefusal>;
}

export type BodyRefusal = 'too_large' | 'refused';

export function rawInputOf(c: Context): RawInput {
  const incoming = (c.env as { incoming?: unknown } | undefined)?.incoming;
  if (incoming instanceof IncomingMessage) {
    return {
      header: (name) => {
        const value = incoming.headers[name];
        return typeof value === 'string' ? value : undefined;
      },
      readBody: (limit, admit) => readIncomingLimited(incoming, limit, admit),
    };
  }
  return {
    header: (name) => c.req.header(name),
    readBody: (limit, admit) => readStreamLimited(c.req.raw.body, limit, admit),
  };
}

function joinChunks(chunks: Uint8Array[], size: number): Buffer {
  if (chunks.length === 1) {
    const only = chunks[0]!;
    return Buffer.isBuffer(only) ? only : Buffer.from(only.buffer, only.byteOffset, only.byteLength);
  }
  return Buffer.concat(chunks, size);
}

// On overflow neither reader destroys the stream: that would reset the socket before the 413 is
// written. @hono/node-server drains (and if need be closes) what is left once the answer is sent.
const admitAll = () => true;

/** Why a body of `size` bytes so far cannot be kept, or null when it can. */
function refusalAt(size: number, limit: number, admit: (total: number) => boolean): BodyRefusal | null {
  if (size > limit) return 'too_large';
  return admit(size) ? null : 'refused';
}

async function readStreamLimited(
  body: ReadableStream<Uint8Array> | null,
  limit: number,
  admit: (total: number) => boolean = admitAll,
): Promise<Buffer | BodyRefusal> {
  if (!body) return Buffer.alloc(0);
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    const refusal = refusalAt(size, limit, admit);
    if (refusal) {
      reader.releaseLock();
      return refusal;
    }
    chunks.push(value);
  }
  return joinChunks(chunks, size);
}

function readIncomingLimited(
  incoming: IncomingMessage,
  limit: number,
  admit: (total: number) => boolean = admitAll,
): Promise<Buffer | BodyRefusal> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const cleanup = () => {
      incoming.off('data', onData);
      incoming.off('end', onEnd);
      incoming.off('error', onError);
      incoming.off('close', onClose);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      const refusal = refusalAt(size, limit, admit);
      if (refusal) {
        cleanup();
        incoming.pause();
        resolve(refusal);
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => {
      cleanup();
      resolve(joinChunks(chunks, size));
    };
    const onError = (err: Error) => {
      cleanup();
      reject(err);
    };
    // 'close' before 'end': the client went away mid-body.
    const onClose = () => onError(new Error('request closed before its body ended'));
    incoming.on('data', onData);
    incoming.on('end', onEnd);
    incoming.on('error', onError);
    incoming.on('close', onClose);
  });
}

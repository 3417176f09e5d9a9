import { connect, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { Samples } from './stats.js';

/**
 * A closed-loop HTTP/1.1 load generator on raw sockets: `connections` keep-alive connections, each
 * with one request in flight, a new request written as soon as the previous answer is complete.
 * Raw sockets rather than node:http or fetch so that the generator, on its one core, costs little
 * per request and the server, not the generator, is what is measured. It understands just what
 * the servers under test answer: a status line, headers, and a Content-Length or chunked body.
 */
export interface LoadResult {
  durationMs: number;
  /** Answers completed inside the measured window. */
  completed: number;
  /** Every answer, in the window or after it (requests in flight at the end are waited for). */
  statuses: Map<number, number>;
  /** Connection errors and unparseable answers. */
  errors: number;
  /** Latency of each answer completed inside the window, ms. */
  latenciesMs: Float64Array;
  requestsPerSecond: number;
  /** CPU the generator itself used during the window, in % of one core. */
  generatorCpuPercent: number;
}

export interface LoadOptions {
  host: string;
  port: number;
  connections: number;
  durationMs: number;
  nextRequest: () => Buffer;
}

const CRLFCRLF = Buffer.from('\r\n\r\n');

export function runLoad(options: LoadOptions): Promise<LoadResult> {
  const { host, port, connections, durationMs, nextRequest } = options;
  const statuses = new Map<number, number>();
  const latencies = new Samples();
  let errors = 0;
  let completed = 0;
  let open = 0;
  let windowEnd = Number.POSITIVE_INFINITY;
  let started = 0;
  let cpuAtStart = process.cpuUsage();
  let cpuInWindow: NodeJS.CpuUsage | undefined;

  return new Promise((resolve) => {
    const finishIfDone = () => {
      if (open > 0) return;
      const measured = Math.min(performance.now(), windowEnd) - started;
      const cpu = cpuInWindow ?? process.cpuUsage(cpuAtStart);
      resolve({
        generatorCpuPercent: ((cpu.user + cpu.system) / 1000 / measured) * 100,
        durationMs: measured,
        completed,
        statuses,
        errors,
        latenciesMs: latencies.values(),
        requestsPerSecond: (completed / measured) * 1000,
      });
    };

    const startConnection = () => {
      open++;
      const socket: Socket = connect({ host, port });
      socket.setNoDelay(true);
      let buffer: Buffer = Buffer.alloc(0);
      let sentAt = 0;
      let inFlight = false;
      let closed = false;

      const send = () => {
        if (performance.now() >= windowEnd) {
          closed = true;
          socket.end();
          return;
        }
        inFlight = true;
        sentAt = performance.now();
        socket.write(nextRequest());
      };

      /** One whole answer at the start of `buffer`: its length and status, or null when incomplete. */
      const parse = (): { length: number; status: number } | null => {
        const headerEnd = buffer.indexOf(CRLFCRLF);
        if (headerEnd < 0) return null;
        const head = buffer.toString('latin1', 0, headerEnd);
        const status = Number(head.slice(9, 12));
        const lengthMatch = /\r\ncontent-length:\s*(\d+)/i.exec(head);
        if (lengthMatch) {
          const total = headerEnd + 4 + Number(lengthMatch[1]);
          return buffer.length >= total ? { length: total, status } : null;
        }
        if (/\r\ntransfer-encoding:\s*chunked/i.test(head)) {
          const end = buffer.indexOf('\r\n0\r\n\r\n', headerEnd + 2);
          return end < 0 ? null : { length: end + 7, status };
        }
        return { length: headerEnd + 4, status };
      };

      socket.on('connect', send);
      socket.on('data', (chunk: Buffer) => {
        buffer = buffer.length === 0 ? chunk : Buffer.concat([buffer, chunk]);
        for (;;) {
          const answer = parse();
          if (!answer) return;
          buffer = buffer.subarray(answer.length);
          const now = performance.now();
          inFlight = false;
          statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1);
          if (now <= windowEnd) {
            completed++;
            latencies.push(now - sentAt);
          }
          send();
        }
      });
      socket.on('error', () => {
        errors++;
      });
      socket.on('close', () => {
        open--;
        if (inFlight) errors++;
        if (!closed && performance.now() < windowEnd) {
          // The server closed a connection it should have kept: count it and open another.
          startConnection();
          return;
        }
        finishIfDone();
      });
    };

    started = performance.now();
    cpuAtStart = process.cpuUsage();
    windowEnd = started + durationMs;
    setTimeout(() => {
      cpuInWindow = process.cpuUsage(cpuAtStart);
    }, durationMs).unref();
    for (let i = 0; i < connections; i++) startConnection();
  });
}

export function count(statuses: Map<number, number>, status: number): number {
  return statuses.get(status) ?? 0;
}

export function otherStatuses(statuses: Map<number, number>, ok: number): number {
  let n = 0;
  for (const [status, c] of statuses) if (status !== ok) n += c;
  return n;
}

/**
 * A small pool of worker threads that run one kind of task, first come first served, so that CPU
 * work (scoring a transcript) never holds the main thread's event loop: HTTP, lease renewal and
 * timers keep running while a long transcript is scored.
 *
 * Both sides of the protocol live here: `createWorkerPool` on the main thread, `serveTasks` in the
 * worker's entry module. A worker that dies (an uncaught error, out of memory) fails the task it was
 * running, with a reason, and is replaced; the other tasks go on.
 */
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { pathToFileURL } from 'node:url';
import { parentPort, type ResourceLimits, type Transferable, Worker } from 'node:worker_threads';

export interface WorkerPool<Req, Res> {
  /** Runs `request` on the first free worker; `transfer` moves ArrayBuffers instead of copying them. */
  run(request: Req, transfer?: readonly Transferable[]): Promise<Res>;
  readonly size: number;
  /**
   * Tasks that would start or wait on a started worker right now, none queued in the pool: workers
   * still loading their code count for none (a caller that can do the work itself does it meanwhile).
   */
  readonly idle: number;
  /** Fails queued tasks, stops the workers (a running task is abandoned) and resolves when they are gone. */
  close(): Promise<void>;
}

export interface PoolOptions {
  /** The worker's entry module, next to the caller: `moduleNextTo(import.meta.url, 'x-worker')`. */
  entry: URL;
  /** Given to every worker as `workerData` (copied, so plain data only). */
  workerData: unknown;
  size: number;
  /** For error messages: what the workers do. */
  name: string;
  /** V8 heap limits of each worker (e.g. a larger young generation for allocation-heavy work). */
  resourceLimits?: ResourceLimits;
  /**
   * Tasks posted to one worker before it answers (default 1). More keeps a worker busy while the
   * thread that feeds it is itself busy, at the price of a task waiting behind a long one on that
   * worker while another may be free: for batch work, not for the service's jobs.
   */
  tasksPerWorker?: number;
}

/** The pool size the service uses: every core but the one the main thread needs, at least one. */
export function defaultPoolSize(): number {
  return Math.max(1, availableParallelism() - 1);
}

/**
 * The URL of module `name` in the caller's folder, as it exists at run time: `.ts` when running from
 * source (tsx, vitest), `.js` when running the compiled dist/.
 */
export function moduleNextTo(callerUrl: string, name: string): URL {
  const ext = callerUrl.endsWith('.ts') ? '.ts' : '.js';
  return new URL(`./${name}${ext}`, callerUrl);
}

type Message =
  | { id: number; ok: true; value: unknown }
  | { id: number; ok: false; error: string }
  /** Sent once by serveTasks, when the worker's code is loaded and it takes tasks. */
  | { ready: true };

interface Task {
  id: number;
  request: unknown;
  transfer: readonly Transferable[];
  resolve(value: unknown): void;
  reject(error: Error): void;
}

interface Slot {
  worker: Worker;
  /** Posted to the worker, not answered yet, in the order posted (a worker answers in that order). */
  tasks: Task[];
  /** Set once the worker's code is loaded (its first message). */
  ready: boolean;
  /** Set once the worker has answered a task: a worker that dies before that failed to start. */
  started: boolean;
}

/** Consecutive workers that die before finishing any task: past this, starting more is pointless. */
const MAX_START_FAILURES = 3;

/**
 * Moves (detaches) a small buffer of this thread's, once. The first ArrayBuffer a thread ever moves
 * to another thread invalidates an assumption V8 makes until then (that no buffer is ever detached),
 * and every optimized function reading a Buffer is thrown away and compiled again: when that first
 * move is a task's bytes, that is all of the scoring's hot code, tens of milliseconds of a core each
 * (seen with --trace-deopt in `qm score`). Done before any task, the code is compiled once.
 */
function detachOnce(): void {
  if (detached) return;
  detached = true;
  const buffer = new ArrayBuffer(8);
  structuredClone(buffer, { transfer: [buffer] });
}
let detached = false;

export function createWorkerPool<Req, Res>(options: PoolOptions): WorkerPool<Req, Res> {
  detachOnce();
  const size = Math.max(1, Math.floor(options.size));
  const depth = Math.max(1, Math.floor(options.tasksPerWorker ?? 1));
  const queue: Task[] = [];
  const slots = new Set<Slot>();
  let nextId = 1;
  let closed = false;
  let startFailures = 0;
  let broken: Error | undefined;

  const [script, eval_] = workerScript(options.entry);

  function spawn(): void {
    const worker = new Worker(script, {
      workerData: options.workerData,
      eval: eval_,
      ...(options.resourceLimits ? { resourceLimits: options.resourceLimits } : {}),
    });
    const slot: Slot = { worker, tasks: [], ready: false, started: false };
    slots.add(slot);
    // Idle workers must not keep a finished command alive; a busy one must (its caller waits on it).
    worker.unref();
    worker.on('message', (message: Message) => {
      if ('ready' in message) {
        slot.ready = true;
        return;
      }
      const task = slot.tasks[0];
      if (!task || task.id !== message.id) return;
      slot.tasks.shift();
      slot.started = true;
      startFailures = 0;
      if (slot.tasks.length === 0) worker.unref();
      if (message.ok) task.resolve(message.value);
      else task.reject(new Error(message.error));
      dispatch();
    });
    let failure: Error | undefined;
    worker.on('error', (error) => {
      failure = error;
    });
    worker.on('exit', (code) => {
      slots.delete(slot);
      if (closed) return;
      const reason = failure?.message ?? `exited with code ${code}`;
      for (const task of slot.tasks) task.reject(new Error(`${options.name}: worker thread died: ${reason}`));
      if (!slot.started && ++startFailures >= MAX_START_FAILURES) {
        broken = new Error(`${options.name}: worker threads cannot start: ${reason}`);
        for (const task of queue.splice(0)) task.reject(broken);
        return;
      }
      spawn();
      dispatch();
    });
  }

  /**
   * Posts queued tasks to the workers with the fewest unanswered, up to `depth` each; among those,
   * to started workers first (a task posted to one still loading waits for its code).
   */
  function dispatch(): void {
    const ordered = [...slots].sort((a, b) => Number(b.ready) - Number(a.ready));
    for (let load = 0; load < depth; load++) {
      for (const slot of ordered) {
        if (queue.length === 0) return;
        if (slot.tasks.length !== load) continue;
        const task = queue.shift()!;
        slot.tasks.push(task);
        slot.worker.ref();
        slot.worker.postMessage({ id: task.id, request: task.request }, task.transfer);
      }
    }
  }

  for (let i = 0; i < size; i++) spawn();

  return {
    size,
    get idle() {
      let free = 0;
      for (const slot of slots) if (slot.ready) free += depth - slot.tasks.length;
      return Math.max(0, free - queue.length);
    },
    run(request, transfer = []) {
      if (closed) return Promise.reject(new Error(`${options.name}: the pool is closed`));
      if (broken) return Promise.reject(broken);
      return new Promise<Res>((resolve, reject) => {
        queue.push({ id: nextId++, request, transfer, resolve: resolve as (v: unknown) => void, reject });
        dispatch();
      });
    },
    async close() {
      if (closed) return;
      closed = true;
      const error = new Error(`${options.name}: the pool is closed`);
      for (const task of queue.splice(0)) task.reject(error);
      const running = [...slots];
      for (const slot of running) for (const task of slot.tasks) task.reject(error);
      await Promise.all(running.map((slot) => slot.worker.terminate()));
    },
  };
}

/**
 * What a worker runs: the compiled entry module itself, or, running from TypeScript source (tsx,
 * vitest), a two-line bootstrap that registers tsx's loader in the worker and then imports the
 * entry: on Node 20 a worker does not get its parent's loader hooks, and `--import tsx` in its
 * execArgv comes too late for its entry module.
 */
function workerScript(entry: URL): [URL | string, boolean] {
  if (!entry.pathname.endsWith('.ts')) return [entry, false];
  const tsx = createRequire(import.meta.url).resolve('tsx/package.json');
  const api = pathToFileURL(tsx.replace(/package\.json$/, 'dist/esm/api/index.mjs')).href;
  const code = `import(${JSON.stringify(api)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(entry.href)}); });`;
  return [code, true];
}

/**
 * The worker side: answers each task with `handle(request)`'s value, or its error's message. Call it
 * once from the worker's entry module. `transfer` names buffers of the value to move, not copy.
 */
export function serveTasks<Req, Res>(
  handle: (request: Req) => Res,
  transfer?: (value: Res) => Transferable[],
): void {
  const port = parentPort;
  if (!port) throw new Error('serveTasks must run in a worker thread');
  detachOnce();
  port.postMessage({ ready: true } satisfies Message);
  port.on('message', ({ id, request }: { id: number; request: Req }) => {
    let reply: Message;
    let moved: Transferable[] = [];
    try {
      const value = handle(request);
      reply = { id, ok: true, value };
      if (transfer) moved = transfer(value);
    } catch (error) {
      reply = { id, ok: false, error: (error as Error)?.stack ?? String(error) };
    }
    port.postMessage(reply, moved);
  });
}

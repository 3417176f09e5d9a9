import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { canPin } from './machine.js';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** Messages a benchmark server child sends its parent over IPC. */
export type ChildMessage =
  | { type: 'ready'; url: string }
  | { type: 'stopped' }
  | { type: 'error'; message: string };

export interface ServerChild {
  child: ChildProcess;
  url: string;
  /** Asks the child to stop gracefully and waits for it to exit. */
  stop(): Promise<void>;
}

export interface SpawnOptions {
  /** Script relative to the repository root, run with `node --import tsx`. */
  script: string;
  env?: Record<string, string>;
  /** Core to pin the child to with taskset (when available). */
  core?: number;
  /** The child's stdout and stderr (pino's log lines) go here. */
  logFile: string;
  /** When set, the child runs with --cpu-prof and writes its profile into this folder. */
  profileDir?: string;
}

/**
 * Starts a server child (`bench/lib/*-server.ts`) and waits for its `ready` message. The child's
 * output goes to a file, as a service's logs go to a collector, so log writes cost what they cost.
 */
export async function spawnServer(options: SpawnOptions): Promise<ServerChild> {
  const nodeArgs = ['--import', 'tsx'];
  if (options.profileDir) nodeArgs.push('--cpu-prof', `--cpu-prof-dir=${options.profileDir}`);
  nodeArgs.push(join(ROOT, options.script));
  const pin = options.core !== undefined && canPin();
  const command = pin ? 'taskset' : process.execPath;
  const args = pin ? ['-c', String(options.core), process.execPath, ...nodeArgs] : nodeArgs;
  const out = openSync(options.logFile, 'a');
  const child = spawn(command, args, {
    cwd: ROOT,
    env: { ...process.env, ...options.env },
    stdio: ['ignore', out, out, 'ipc'],
  });
  closeSync(out);
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const url = await new Promise<string>((resolvePromise, reject) => {
    const onExit = (code: number | null) =>
      reject(new Error(`${options.script} exited (${code}) before it was ready; see ${options.logFile}`));
    child.once('exit', onExit);
    child.on('message', (m: ChildMessage) => {
      if (m.type === 'ready') {
        child.off('exit', onExit);
        resolvePromise(m.url);
      } else if (m.type === 'error') reject(new Error(`${options.script}: ${m.message}`));
    });
  });
  return {
    child,
    url,
    async stop() {
      if (child.exitCode !== null) return;
      child.send({ type: 'stop' });
      const timeout = setTimeout(() => child.kill('SIGKILL'), 30_000);
      await exited;
      clearTimeout(timeout);
    },
  };
}

/** In a server child: waits for the parent's `stop`, runs `stop`, then exits. */
export function onParentStop(stop: () => Promise<void>): void {
  process.on('message', (m: { type?: string }) => {
    if (m?.type !== 'stop') return;
    stop()
      .catch((error) => process.stderr.write(`stop failed: ${String(error)}\n`))
      .finally(() => {
        process.disconnect?.();
        // Let --cpu-prof write its profile on a normal exit.
        process.exit(0);
      });
  });
  // The parent died: do not linger.
  process.on('disconnect', () => process.exit(0));
}

export function send(message: ChildMessage): void {
  process.send?.(message);
}

/**
 * The worker pool (src/worker-pool): tasks answered in order of arrival, a thread that fails
 * takes down only its own task, and closing fails what is pending.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { createWorkerPool, type WorkerPool } from '../../src/worker-pool/index.js';

const closers: (() => Promise<void>)[] = [];
afterAll(async () => {
  await Promise.all(closers.splice(0).map((close) => close()));
});

describe('the worker pool', () => {
  type Request = { do: 'echo' | 'throw' | 'die' | 'spin'; value?: number };
  function testPool(size: number, tasksPerWorker?: number): WorkerPool<Request, number> {
    const p = createWorkerPool<Request, number>({
      entry: new URL('../support/pool-test-worker.ts', import.meta.url),
      workerData: null,
      size,
      name: 'test pool',
      ...(tasksPerWorker ? { tasksPerWorker } : {}),
    });
    closers.push(() => p.close());
    return p;
  }

  it('answers every task; a thrown error fails its task; a thread that dies fails only its task and is replaced', async () => {
    const p = testPool(2);
    expect(await Promise.all([1, 2, 3, 4, 5].map((value) => p.run({ do: 'echo', value })))).toEqual([
      1, 2, 3, 4, 5,
    ]);
    await expect(p.run({ do: 'throw' })).rejects.toThrow('asked to throw');
    const dying = p.run({ do: 'die' });
    const others = [6, 7, 8].map((value) => p.run({ do: 'echo', value }));
    await expect(dying).rejects.toThrow('test pool: worker thread died: exited with code 7');
    expect(await Promise.all(others)).toEqual([6, 7, 8]);
    expect(await Promise.all([9, 10].map((value) => p.run({ do: 'echo', value })))).toEqual([9, 10]);
  });

  it('fails running and queued tasks when closed, and refuses new ones', async () => {
    const p = testPool(1);
    await p.run({ do: 'echo' });
    const running = expect(p.run({ do: 'spin', value: 2_000 })).rejects.toThrow('the pool is closed');
    const queued = expect(p.run({ do: 'echo', value: 1 })).rejects.toThrow('the pool is closed');
    await p.close();
    await running;
    await queued;
    await expect(p.run({ do: 'echo' })).rejects.toThrow('the pool is closed');
  });

  it('counts as idle only the places on started workers, and posts up to tasksPerWorker tasks to each', async () => {
    const p = testPool(1, 2);
    // Still loading its code: a caller that can do the work itself should, so nothing is idle yet.
    expect(p.idle).toBe(0);
    await waitUntil(() => p.idle === 2);
    const spinning = p.run({ do: 'spin', value: 300 });
    expect(p.idle).toBe(1);
    const waiting = p.run({ do: 'echo', value: 2 });
    expect(p.idle).toBe(0);
    // A third waits in the pool, not on the worker, and idle says so.
    const queued = p.run({ do: 'echo', value: 3 });
    expect(p.idle).toBe(0);
    expect(await Promise.all([spinning, waiting, queued])).toEqual([300, 2, 3]);
    expect(p.idle).toBe(2);
  });

  it('fails every task posted to a worker that dies, and goes on with a new one', async () => {
    const p = testPool(1, 2);
    await waitUntil(() => p.idle === 2);
    const dying = p.run({ do: 'die' });
    const behind = p.run({ do: 'echo', value: 1 });
    await expect(dying).rejects.toThrow('test pool: worker thread died: exited with code 7');
    await expect(behind).rejects.toThrow('test pool: worker thread died: exited with code 7');
    expect(await p.run({ do: 'echo', value: 4 })).toBe(4);
  });
});

async function waitUntil(condition: () => boolean, timeoutMs = 30_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > until) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

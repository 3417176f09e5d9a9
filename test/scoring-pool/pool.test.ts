/**
 * The worker pool under src/scoring-pool: tasks answered in order of arrival, a thread that fails
 * takes down only its own task, and closing fails what is pending.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { createWorkerPool, type WorkerPool } from '../../src/scoring-pool/pool.js';

const closers: (() => Promise<void>)[] = [];
afterAll(async () => {
  await Promise.all(closers.splice(0).map((close) => close()));
});

describe('the worker pool', () => {
  type Request = { do: 'echo' | 'throw' | 'die' | 'spin'; value?: number };
  function testPool(size: number): WorkerPool<Request, number> {
    const p = createWorkerPool<Request, number>({
      entry: new URL('../support/pool-test-worker.ts', import.meta.url),
      workerData: null,
      size,
      name: 'test pool',
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
});

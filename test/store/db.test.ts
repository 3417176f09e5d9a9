import { afterEach, beforeEach, expect, it } from 'vitest';
import { tempStore } from '../support/db.js';

let t: ReturnType<typeof tempStore>;
beforeEach(() => {
  t = tempStore();
});
afterEach(() => t.cleanup());

const synchronous = () => t.store.sqlite.pragma('synchronous', { simple: true });

it('commits made durably() are fsynced (FULL); the rest of the time the connection runs NORMAL', () => {
  // 1 = NORMAL, 2 = FULL. A 202 waits for a durably() commit (the event recorder's test checks it
  // goes through here), so this is what makes an answered webhook survive a power loss too.
  expect(synchronous()).toBe(1);
  const inside = t.store.durably(() => {
    t.store.sqlite.prepare("INSERT INTO sweeps (owner, started_at, status) VALUES ('t', 1, 'ok')").run();
    return synchronous();
  });
  expect(inside).toBe(2);
  expect(synchronous()).toBe(1);
});

it('a failed durably() transaction rolls back and leaves the connection NORMAL', () => {
  expect(() =>
    t.store.durably(() => {
      t.store.sqlite.prepare("INSERT INTO sweeps (owner, started_at, status) VALUES ('t', 1, 'ok')").run();
      throw new Error('boom');
    }),
  ).toThrow('boom');
  expect((t.store.sqlite.prepare('SELECT count(*) AS n FROM sweeps').get() as { n: number }).n).toBe(0);
  expect(synchronous()).toBe(1);
});

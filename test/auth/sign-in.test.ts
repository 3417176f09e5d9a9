import { afterEach, describe, expect, it } from 'vitest';
import { createPasswordHasher, type PasswordHasher } from '../../src/auth/password.js';
import { createAuth } from '../../src/auth/sign-in.js';
import { ManualClock } from '../../src/clock.js';
import { AccountStore } from '../../src/store/accounts.js';
import { testHasher } from '../support/console.js';
import { tempStore } from '../support/db.js';

let cleanup: (() => void) | undefined;
afterEach(() => cleanup?.());

/** The real hasher, counting the scrypt runs a sign-in costs. */
function countingHasher(): PasswordHasher & { runs: number } {
  const h = {
    runs: 0,
    hash: (p: string) => testHasher.hash(p),
    verify: async (p: string, e: string) => {
      h.runs++;
      return testHasher.verify(p, e);
    },
    verifyNobody: async (p: string) => {
      h.runs++;
      await testHasher.verifyNobody(p);
      return false as const;
    },
  };
  return h;
}

async function setup() {
  const db = tempStore();
  cleanup = db.cleanup;
  const clock = new ManualClock(Date.UTC(2024, 0, 1));
  const accounts = new AccountStore(db.store);
  accounts.addUser('Alice', 'reviewer', await testHasher.hash('a long password'), clock.now());
  const hasher = countingHasher();
  const auth = createAuth({ accounts, hasher, clock, sessionTtlMs: 3_600_000 });
  await new Promise((r) => setTimeout(r, 20));
  hasher.runs = 0;
  return { db, clock, accounts, hasher, auth };
}

describe('passwords', () => {
  it('are salted scrypt hashes that verify only the right password', async () => {
    const a = await testHasher.hash('same password');
    const b = await testHasher.hash('same password');
    expect(a).toMatch(/^scrypt\$1024\$8\$1\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]{44}$/);
    expect(a).not.toBe(b);
    expect(await testHasher.verify('same password', a)).toBe(true);
    expect(await testHasher.verify('same passworD', a)).toBe(false);
    expect(await testHasher.verify('x', 'scrypt$99999999$8$1$c2FsdA==$aGFzaA==')).toBe(false);
    expect(await testHasher.verify('x', 'plain')).toBe(false);
  });

  it('the default cost is scrypt N = 2^15, r = 8', async () => {
    expect(await createPasswordHasher().hash('x')).toMatch(/^scrypt\$32768\$8\$1\$/);
  });
});

describe('sign-in', () => {
  it('costs one scrypt whether the name exists or not, and says the same', async () => {
    const { auth, hasher } = await setup();
    expect(await auth.signIn('alice', 'wrong password', '10.0.0.1')).toEqual({
      ok: false,
      reason: 'invalid',
    });
    expect(hasher.runs).toBe(1);
    expect(await auth.signIn('nobody', 'wrong password', '10.0.0.1')).toEqual({
      ok: false,
      reason: 'invalid',
    });
    expect(hasher.runs).toBe(2);
    expect(await auth.signIn('', '', '10.0.0.1')).toEqual({ ok: false, reason: 'invalid' });
    expect(hasher.runs).toBe(3);
  });

  it('names are matched ignoring case; the session knows the user and role', async () => {
    const { auth } = await setup();
    const ok = await auth.signIn('ALICE', 'a long password', '10.0.0.1');
    if (!ok.ok) throw new Error('sign-in failed');
    expect(auth.session(ok.sessionToken)?.user).toEqual({
      id: expect.any(Number),
      name: 'Alice',
      role: 'reviewer',
    });
    expect(auth.session(`${ok.sessionToken}x`)).toBeUndefined();
  });

  it('doubles the wait after each further failure, up to 15 minutes, checking no password while it waits', async () => {
    const { auth, clock, hasher } = await setup();
    for (let i = 0; i < 5; i++) await auth.signIn('alice', 'nope', `10.0.0.${i}`);
    const waits: number[] = [];
    for (let i = 0; i < 12; i++) {
      const r = await auth.signIn('alice', 'a long password', '10.0.1.1');
      if (r.ok || r.reason !== 'throttled') throw new Error('expected throttled');
      waits.push(r.retryAfterSeconds);
      const runs = hasher.runs;
      clock.advance(r.retryAfterSeconds * 1000);
      await auth.signIn('alice', 'nope', '10.0.1.1');
      expect(hasher.runs).toBe(runs + 1);
    }
    expect(waits.slice(0, 4)).toEqual([1, 2, 4, 8]);
    expect(Math.max(...waits)).toBe(900);
    // Failures an hour old are forgotten.
    clock.advance(3_600_000 + 900_000);
    expect((await auth.signIn('alice', 'a long password', '10.0.1.1')).ok).toBe(true);
  });

  it('API tokens are shown once, stored hashed, and removed with the account', async () => {
    const { auth, accounts } = await setup();
    const user = accounts.findUser('alice')!;
    const token = auth.issueToken(user.id);
    expect(token).toMatch(/^qmt_[A-Za-z0-9_-]{43}$/);
    expect(auth.tokenUser(token)?.name).toBe('Alice');
    expect(auth.tokenUser('qmt_forged')).toBeUndefined();
    accounts.removeUser('ALICE');
    expect(auth.tokenUser(token)).toBeUndefined();
  });

  it('a new password ends every session of the account', async () => {
    const { auth, accounts, clock } = await setup();
    const ok = await auth.signIn('alice', 'a long password', '10.0.0.1');
    if (!ok.ok) throw new Error('sign-in failed');
    accounts.setPassword('alice', await testHasher.hash('another long password'), clock.now());
    expect(auth.session(ok.sessionToken)).toBeUndefined();
  });
});

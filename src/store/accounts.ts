import type { Statement } from 'better-sqlite3';
import { isBusy, type Store } from './db.js';
import type { Role } from './schema.js';

export interface User {
  id: number;
  name: string;
  role: Role;
}

export interface UserWithHash extends User {
  passwordHash: string;
}

export interface UserListing extends User {
  createdAt: number;
  tokens: number;
  sessions: number;
  lastSeenAt: number | null;
}

export interface SessionView {
  user: User;
  csrfToken: string;
  lastSeenAt: number;
  expiresAt: number;
  createdAt: number;
}

export interface ThrottleState {
  key: string;
  failures: number;
  lastFailureAt: number;
  blockedUntil: number;
}

/** Console accounts, sessions, API tokens and sign-in throttling. Hashing is src/auth's. */
export class AccountStore {
  private readonly sqlite: Store['sqlite'];
  private readonly cache = new Map<string, Statement>();

  constructor(store: Store) {
    this.sqlite = store.sqlite;
  }

  private st(sql: string): Statement {
    let statement = this.cache.get(sql);
    if (!statement) {
      statement = this.sqlite.prepare(sql);
      this.cache.set(sql, statement);
    }
    return statement;
  }

  transaction<T>(fn: () => T): T {
    return this.sqlite.transaction(fn).immediate();
  }

  addUser(name: string, role: Role, passwordHash: string, now: number): User | 'exists' {
    return this.transaction(() => {
      if (this.findUser(name)) return 'exists' as const;
      const row = this.st(
        'INSERT INTO users (name, role, password_hash, created_at, updated_at) VALUES (?, ?, ?, ?, ?) RETURNING id',
      ).get(name, role, passwordHash, now, now) as { id: number };
      return { id: row.id, name, role };
    });
  }

  /** By name, ignoring case. */
  findUser(name: string): UserWithHash | undefined {
    return this.st(
      'SELECT id, name, role, password_hash AS passwordHash FROM users WHERE name = ? COLLATE NOCASE',
    ).get(name) as UserWithHash | undefined;
  }

  listUsers(now: number): UserListing[] {
    return this.st(
      `SELECT u.id, u.name, u.role, u.created_at AS createdAt,
         (SELECT count(*) FROM api_tokens t WHERE t.user_id = u.id) AS tokens,
         (SELECT count(*) FROM sessions s WHERE s.user_id = u.id AND s.expires_at > ?) AS sessions,
         (SELECT max(last_seen_at) FROM sessions s WHERE s.user_id = u.id) AS lastSeenAt
       FROM users u ORDER BY u.name COLLATE NOCASE`,
    ).all(now) as UserListing[];
  }

  setRole(name: string, role: Role, now: number): boolean {
    return (
      this.st('UPDATE users SET role = ?, updated_at = ? WHERE name = ? COLLATE NOCASE').run(role, now, name)
        .changes === 1
    );
  }

  /** A new password ends every session of the account (someone may have been using the old one). */
  setPassword(name: string, passwordHash: string, now: number): boolean {
    return this.transaction(() => {
      const user = this.findUser(name);
      if (!user) return false;
      this.st('UPDATE users SET password_hash = ?, updated_at = ? WHERE id = ?').run(
        passwordHash,
        now,
        user.id,
      );
      this.st('DELETE FROM sessions WHERE user_id = ?').run(user.id);
      return true;
    });
  }

  /** Removes the account with its sessions and tokens; its reviews stay, under its name. */
  removeUser(name: string): boolean {
    return this.st('DELETE FROM users WHERE name = ? COLLATE NOCASE').run(name).changes === 1;
  }

  createSession(userId: number, idHash: string, csrfToken: string, now: number, expiresAt: number): void {
    this.st(
      'INSERT INTO sessions (id_hash, user_id, csrf_token, created_at, last_seen_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)',
    ).run(idHash, userId, csrfToken, now, now, expiresAt);
  }

  /** The live session with this hashed id, with its user; undefined when unknown or expired. */
  session(idHash: string, now: number): SessionView | undefined {
    const row = this.st(
      `SELECT u.id, u.name, u.role, s.csrf_token AS csrfToken, s.last_seen_at AS lastSeenAt,
         s.expires_at AS expiresAt, s.created_at AS createdAt
       FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.id_hash = ? AND s.expires_at > ?`,
    ).get(idHash, now) as (User & Omit<SessionView, 'user'>) | undefined;
    if (!row) return undefined;
    const { id, name, role, ...rest } = row;
    return { user: { id, name, role }, ...rest };
  }

  touchSession(idHash: string, now: number, expiresAt: number): void {
    this.st('UPDATE sessions SET last_seen_at = ?, expires_at = ? WHERE id_hash = ?').run(
      now,
      expiresAt,
      idHash,
    );
  }

  deleteSession(idHash: string): void {
    this.st('DELETE FROM sessions WHERE id_hash = ?').run(idHash);
  }

  deleteExpiredSessions(now: number): number {
    return this.st('DELETE FROM sessions WHERE expires_at <= ?').run(now).changes;
  }

  addToken(userId: number, tokenHash: string, prefix: string, now: number): void {
    this.st('INSERT INTO api_tokens (user_id, token_hash, prefix, created_at) VALUES (?, ?, ?, ?)').run(
      userId,
      tokenHash,
      prefix,
      now,
    );
  }

  /** The user a hashed API token belongs to; notes its use (at most once a minute: no write per call). */
  tokenUser(tokenHash: string, now: number): User | undefined {
    const row = this.st(
      `SELECT u.id, u.name, u.role, t.id AS tokenId, t.last_used_at AS lastUsedAt
       FROM api_tokens t JOIN users u ON u.id = t.user_id WHERE t.token_hash = ?`,
    ).get(tokenHash) as (User & { tokenId: number; lastUsedAt: number | null }) | undefined;
    if (!row) return undefined;
    if (row.lastUsedAt === null || now - row.lastUsedAt > 60_000) {
      try {
        this.st('UPDATE api_tokens SET last_used_at = ? WHERE id = ?').run(now, row.tokenId);
      } catch (error) {
        // Another process holds the lock: noted on a later call; the token is valid meanwhile.
        if (!isBusy(error)) throw error;
      }
    }
    return { id: row.id, name: row.name, role: row.role };
  }

  revokeTokens(userId: number): number {
    return this.st('DELETE FROM api_tokens WHERE user_id = ?').run(userId).changes;
  }

  throttle(key: string): ThrottleState | undefined {
    return this.st(
      'SELECT key, failures, last_failure_at AS lastFailureAt, blocked_until AS blockedUntil FROM login_throttle WHERE key = ?',
    ).get(key) as ThrottleState | undefined;
  }

  setThrottle(state: ThrottleState): void {
    this.st(
      `INSERT INTO login_throttle (key, failures, last_failure_at, blocked_until) VALUES (?, ?, ?, ?)
       ON CONFLICT DO UPDATE SET failures = excluded.failures, last_failure_at = excluded.last_failure_at,
         blocked_until = excluded.blocked_until`,
    ).run(state.key, state.failures, state.lastFailureAt, state.blockedUntil);
  }

  clearThrottle(key: string): void {
    this.st('DELETE FROM login_throttle WHERE key = ?').run(key);
  }

  /** Forgets failures nobody repeated for a while, so the table stays small. */
  pruneThrottle(olderThan: number): number {
    return this.st('DELETE FROM login_throttle WHERE last_failure_at < ? AND blocked_until < ?').run(
      olderThan,
      olderThan,
    ).changes;
  }
}

/**
 * The admin side channel: an independent administrator connection per engine that creates test
 * users with real passwords, changes them, kills sessions and proves what the server accepts.
 * The SQL lives once, in the `dbcreds` CLI's `createDbAdmin`; this adds the run's naming, the
 * expectations and the clean-up of everything a test created.
 */
import { randomBytes } from 'node:crypto';
import { createDbAdmin, type DbAdmin } from 'dbcreds/testing';
import { rememberPassword } from './leak-audit.js';
import { type EngineName, type ServerInfo, serverFor, testbedFacts } from './servers.js';

export interface UserCreds {
  username: string;
  password: string;
}

export interface CreateUserOptions {
  /** Part of the generated name (letters, digits, `_`); default `u`. */
  prefix?: string;
  /** Default: a random 24-character password. */
  password?: string;
  /** `false`: PostgreSQL `NOLOGIN` (login answers 28000); MariaDB `ACCOUNT LOCK`. Default true. */
  login?: boolean;
  /** Database to grant full access on; default the run's test database. */
  database?: string;
}

export interface ExpectRejectedOptions {
  /** Expected code: PG SQLSTATE (default `28P01`) or MySQL errno (default 1045). */
  code?: string | number;
  database?: string;
}

export interface Admin {
  readonly engine: EngineName;
  readonly server: ServerInfo;
  /** Creates a user `dbc<runId>_<prefix>_<random>` with full access to the test database. */
  createUser(opts?: CreateUserOptions): Promise<UserCreds>;
  setPassword(username: string, password: string): Promise<void>;
  /** PG: LOGIN / NOLOGIN (NOLOGIN answers 28000). MySQL: ACCOUNT UNLOCK / LOCK (answers errno 4151). */
  setLogin(username: string, allowed: boolean): Promise<void>;
  /** Creates `to` with `password` and the same privileges as `from` (MySQL: replayed grants; PG: GRANT from TO to). */
  cloneUser(from: string, to: string, password: string): Promise<void>;
  /** Terminates every session of `username`; resolves to the number of sessions killed. */
  killSessions(username: string): Promise<number>;
  /** Number of sessions `username` currently has open on the server. */
  countSessions(username: string): Promise<number>;
  dropUser(username: string): Promise<void>;
  /** Creates a database `dbc<runId>_<prefix>_<random>` (dropped by close()). */
  createDatabase(prefix?: string): Promise<string>;
  /** Grants full access on `database` to `username`. */
  grantDatabase(username: string, database: string): Promise<void>;
  /** Opens a fresh connection with `creds`; resolves to the server's error if it answers `code`, throws otherwise. */
  expectLoginRejected(creds: UserCreds, opts?: ExpectRejectedOptions): Promise<Error>;
  /** Opens a fresh connection with `creds` and runs `SELECT 1`; throws if the server refuses. */
  expectLoginAccepted(creds: UserCreds, opts?: { database?: string }): Promise<void>;
  /** Runs one admin statement (parameters: `$1` on PG, `?` on MySQL). */
  exec(sql: string, params?: unknown[]): Promise<unknown[]>;
  /** Drops every user and database this admin created, then closes the admin connection. */
  close(): Promise<void>;
}

/** Random password: URL-safe base64, 24 characters. */
export function randomPassword(): string {
  return rememberPassword(randomBytes(18).toString('base64url'));
}

/** A unique name for this run: `dbc<runId>_<prefix>_<8 hex>` (max 40 chars; safe as PG and MySQL identifier). */
export function uniqueName(prefix = 'u'): string {
  const clean = prefix
    .replace(/[^A-Za-z0-9_]/g, '_')
    .slice(0, 16)
    .toLowerCase();
  return `dbc${testbedFacts().runId}_${clean}_${randomBytes(4).toString('hex')}`;
}

export async function createAdmin(engine: EngineName): Promise<Admin> {
  const server = serverFor(engine);
  const db = createDbAdmin(server);
  try {
    await db.exec('SELECT 1'); // fail here, not at the first statement of a test
  } catch (err) {
    await db.close().catch(() => {});
    throw err;
  }
  return new TestAdmin(server, db);
}

function errCode(err: unknown): string | number | undefined {
  const e = err as { code?: unknown; errno?: unknown };
  if (typeof e?.errno === 'number') return e.errno;
  return typeof e?.code === 'string' ? e.code : undefined;
}

class TestAdmin implements Admin {
  readonly engine: EngineName;
  private readonly users = new Set<string>();
  private readonly databases = new Set<string>();

  constructor(
    readonly server: ServerInfo,
    private readonly db: DbAdmin,
  ) {
    this.engine = server.engine;
  }

  exec(sql: string, params: unknown[] = []): Promise<unknown[]> {
    return this.db.exec(sql, params);
  }

  async createUser(opts: CreateUserOptions = {}): Promise<UserCreds> {
    const creds = { username: uniqueName(opts.prefix), password: opts.password ?? randomPassword() };
    await this.db.createUser(creds, { login: opts.login !== false });
    this.users.add(creds.username);
    await this.grantDatabase(creds.username, opts.database ?? this.server.database);
    return creds;
  }

  grantDatabase(username: string, database: string): Promise<void> {
    return this.db.grantDatabase(username, database);
  }

  setPassword(username: string, password: string): Promise<void> {
    return this.db.setPassword(username, password);
  }

  setLogin(username: string, allowed: boolean): Promise<void> {
    return this.db.setLogin(username, allowed);
  }

  async cloneUser(from: string, to: string, password: string): Promise<void> {
    this.users.add(to);
    await this.db.cloneUser(from, to, password);
  }

  killSessions(username: string): Promise<number> {
    return this.db.killSessions(username);
  }

  countSessions(username: string): Promise<number> {
    return this.db.countSessions(username);
  }

  async dropUser(username: string): Promise<void> {
    await this.db.dropUser(username);
    this.users.delete(username);
  }

  async createDatabase(prefix = 'db'): Promise<string> {
    const name = uniqueName(prefix);
    await this.db.createDatabase(name);
    this.databases.add(name);
    return name;
  }

  async expectLoginRejected(creds: UserCreds, opts: ExpectRejectedOptions = {}): Promise<Error> {
    const expected = opts.code ?? (this.engine === 'postgres' ? '28P01' : 1045);
    const err = await this.db.tryLogin(creds, { database: opts.database });
    if (err === null) {
      throw new Error(
        `expected login of ${creds.username} to be rejected with ${expected}, but the server accepted it`,
      );
    }
    if (errCode(err) === expected) return err;
    // MariaDB authenticates an unknown user as a random existing account: 1698 instead of 1045 when that
    // one is a unix_socket account (core classifies both as auth errors).
    if (opts.code === undefined && this.engine === 'mysql' && errCode(err) === 1698) return err;
    throw new Error(`expected login of ${creds.username} to be rejected with ${expected}, got ${errCode(err)}`, {
      cause: err,
    });
  }

  async expectLoginAccepted(creds: UserCreds, opts: { database?: string } = {}): Promise<void> {
    const err = await this.db.tryLogin(creds, { database: opts.database });
    if (err) throw new Error(`expected login of ${creds.username} to be accepted, got ${errCode(err)}`, { cause: err });
  }

  async close(): Promise<void> {
    try {
      for (const u of [...this.users]) await this.dropUser(u).catch(() => {});
      for (const d of this.databases) await this.db.dropDatabase(d);
    } finally {
      await this.db.close().catch(() => {});
    }
  }
}

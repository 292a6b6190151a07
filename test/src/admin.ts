/**
 * The admin side channel: an independent administrator connection per engine that creates test
 * users with real passwords, changes them, kills sessions and proves what the server accepts.
 */
import { randomBytes } from 'node:crypto';
import mysql from 'mysql2/promise';
import pg from 'pg';
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
  return randomBytes(18).toString('base64url');
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
  return engine === 'postgres' ? PgAdmin.open(server) : MysqlAdmin.open(server);
}

function pgIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

function pgLiteral(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}

function errCode(err: unknown): string | number | undefined {
  const e = err as { code?: unknown; errno?: unknown };
  if (typeof e?.errno === 'number') return e.errno;
  return typeof e?.code === 'string' ? e.code : undefined;
}

class PgAdmin implements Admin {
  readonly engine = 'postgres' as const;
  private readonly users = new Set<string>();
  private readonly databases = new Set<string>();

  private constructor(
    readonly server: ServerInfo,
    private readonly client: pg.Client,
  ) {}

  static async open(server: ServerInfo): Promise<PgAdmin> {
    const client = new pg.Client({
      host: server.host,
      port: server.port,
      user: server.adminUser,
      password: server.adminPassword,
      database: server.database,
    });
    client.on('error', () => {});
    await client.connect();
    return new PgAdmin(server, client);
  }

  async exec(sql: string, params: unknown[] = []): Promise<unknown[]> {
    return (await this.client.query(sql, params)).rows;
  }

  async createUser(opts: CreateUserOptions = {}): Promise<UserCreds> {
    const username = uniqueName(opts.prefix);
    const password = opts.password ?? randomPassword();
    const login = opts.login === false ? 'NOLOGIN' : 'LOGIN';
    await this.exec(`CREATE ROLE ${pgIdent(username)} ${login} PASSWORD ${pgLiteral(password)}`);
    this.users.add(username);
    await this.grantDatabase(username, opts.database ?? this.server.database);
    return { username, password };
  }

  async grantDatabase(username: string, database: string): Promise<void> {
    await this.exec(`GRANT ALL PRIVILEGES ON DATABASE ${pgIdent(database)} TO ${pgIdent(username)}`);
    if (database === this.server.database) {
      await this.exec(`GRANT ALL ON SCHEMA public TO ${pgIdent(username)}`);
    }
  }

  async setPassword(username: string, password: string): Promise<void> {
    await this.exec(`ALTER ROLE ${pgIdent(username)} PASSWORD ${pgLiteral(password)}`);
  }

  async setLogin(username: string, allowed: boolean): Promise<void> {
    await this.exec(`ALTER ROLE ${pgIdent(username)} ${allowed ? 'LOGIN' : 'NOLOGIN'}`);
  }

  async cloneUser(from: string, to: string, password: string): Promise<void> {
    await this.exec(`CREATE ROLE ${pgIdent(to)} LOGIN PASSWORD ${pgLiteral(password)}`);
    this.users.add(to);
    await this.exec(`GRANT ${pgIdent(from)} TO ${pgIdent(to)}`);
    await this.grantDatabase(to, this.server.database);
  }

  async killSessions(username: string): Promise<number> {
    const rows = (await this.exec(
      'SELECT pg_terminate_backend(pid) AS killed FROM pg_stat_activity WHERE usename = $1 AND pid <> pg_backend_pid()',
      [username],
    )) as Array<{ killed: boolean }>;
    return rows.filter((r) => r.killed).length;
  }

  async countSessions(username: string): Promise<number> {
    const rows = (await this.exec('SELECT count(*)::int AS n FROM pg_stat_activity WHERE usename = $1', [
      username,
    ])) as Array<{ n: number }>;
    return rows[0]?.n ?? 0;
  }

  async dropUser(username: string): Promise<void> {
    await this.killSessions(username);
    const exists = (await this.exec('SELECT 1 FROM pg_roles WHERE rolname = $1', [username])).length > 0;
    if (exists) {
      await this.exec(`REASSIGN OWNED BY ${pgIdent(username)} TO ${pgIdent(this.server.adminUser)}`);
      await this.exec(`DROP OWNED BY ${pgIdent(username)}`);
      await this.exec(`DROP ROLE IF EXISTS ${pgIdent(username)}`);
    }
    this.users.delete(username);
  }

  async createDatabase(prefix = 'db'): Promise<string> {
    const name = uniqueName(prefix);
    await this.exec(`CREATE DATABASE ${pgIdent(name)}`);
    this.databases.add(name);
    return name;
  }

  async expectLoginRejected(creds: UserCreds, opts: ExpectRejectedOptions = {}): Promise<Error> {
    const expected = opts.code ?? '28P01';
    const client = this.newClient(creds, opts.database);
    try {
      await client.connect();
    } catch (err) {
      if (errCode(err) === expected) return err as Error;
      throw new Error(`expected login of ${creds.username} to be rejected with ${expected}, got ${errCode(err)}`, {
        cause: err,
      });
    }
    await client.end().catch(() => {});
    throw new Error(`expected login of ${creds.username} to be rejected with ${expected}, but the server accepted it`);
  }

  async expectLoginAccepted(creds: UserCreds, opts: { database?: string } = {}): Promise<void> {
    const client = this.newClient(creds, opts.database);
    try {
      await client.connect();
      await client.query('SELECT 1');
    } catch (err) {
      throw new Error(`expected login of ${creds.username} to be accepted, got ${errCode(err)}`, { cause: err });
    } finally {
      await client.end().catch(() => {});
    }
  }

  private newClient(creds: UserCreds, database?: string): pg.Client {
    const client = new pg.Client({
      host: this.server.host,
      port: this.server.port,
      user: creds.username,
      password: creds.password,
      database: database ?? this.server.database,
    });
    client.on('error', () => {});
    return client;
  }

  async close(): Promise<void> {
    try {
      for (const u of [...this.users]) await this.dropUser(u).catch(() => {});
      for (const d of this.databases) await this.exec(`DROP DATABASE IF EXISTS ${pgIdent(d)} WITH (FORCE)`);
    } finally {
      await this.client.end().catch(() => {});
    }
  }
}

class MysqlAdmin implements Admin {
  readonly engine = 'mysql' as const;
  private readonly users = new Set<string>();
  private readonly databases = new Set<string>();

  private constructor(
    readonly server: ServerInfo,
    private readonly conn: mysql.Connection,
  ) {}

  static async open(server: ServerInfo): Promise<MysqlAdmin> {
    const conn = await mysql.createConnection({
      host: server.host,
      port: server.port,
      user: server.adminUser,
      password: server.adminPassword,
    });
    conn.on('error', () => {});
    return new MysqlAdmin(server, conn);
  }

  async exec(sql: string, params: unknown[] = []): Promise<unknown[]> {
    const [rows] = await this.conn.query(sql, params);
    return Array.isArray(rows) ? rows : [rows];
  }

  async createUser(opts: CreateUserOptions = {}): Promise<UserCreds> {
    const username = uniqueName(opts.prefix);
    const password = opts.password ?? randomPassword();
    await this.exec(`CREATE USER ?@'%' IDENTIFIED BY ?${opts.login === false ? ' ACCOUNT LOCK' : ''}`, [
      username,
      password,
    ]);
    this.users.add(username);
    await this.grantDatabase(username, opts.database ?? this.server.database);
    return { username, password };
  }

  async grantDatabase(username: string, database: string): Promise<void> {
    await this.exec("GRANT ALL PRIVILEGES ON ??.* TO ?@'%'", [database, username]);
  }

  async setPassword(username: string, password: string): Promise<void> {
    await this.exec("ALTER USER ?@'%' IDENTIFIED BY ?", [username, password]);
  }

  async setLogin(username: string, allowed: boolean): Promise<void> {
    await this.exec(`ALTER USER ?@'%' ACCOUNT ${allowed ? 'UNLOCK' : 'LOCK'}`, [username]);
  }

  async cloneUser(from: string, to: string, password: string): Promise<void> {
    await this.exec("CREATE USER ?@'%' IDENTIFIED BY ?", [to, password]);
    this.users.add(to);
    const grants = (await this.exec("SHOW GRANTS FOR ?@'%'", [from])) as Array<Record<string, string>>;
    const fromGrantee = `TO ${this.conn.escapeId(from)}@\`%\``;
    const toGrantee = `TO ${this.conn.escapeId(to)}@\`%\``;
    for (const row of grants) {
      const stmt = Object.values(row)[0] ?? '';
      if (!stmt.includes(fromGrantee)) throw new Error(`cloneUser: unexpected grant shape: ${stmt.split(' TO ')[0]}`);
      // Drop the password hash clause of the USAGE grant: `to` keeps its own password.
      const replayed = stmt.replace(fromGrantee, toGrantee).replace(/ IDENTIFIED BY PASSWORD '[^']*'/, '');
      await this.exec(replayed);
    }
  }

  async killSessions(username: string): Promise<number> {
    const rows = (await this.exec('SELECT ID AS id FROM information_schema.PROCESSLIST WHERE USER = ?', [
      username,
    ])) as Array<{ id: number }>;
    let killed = 0;
    for (const { id } of rows) {
      try {
        await this.exec('KILL CONNECTION ?', [Number(id)]);
        killed++;
      } catch (err) {
        if (errCode(err) !== 1094) throw err; // ER_NO_SUCH_THREAD: it ended on its own
      }
    }
    return killed;
  }

  async countSessions(username: string): Promise<number> {
    const rows = (await this.exec('SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE USER = ?', [
      username,
    ])) as Array<{ n: number }>;
    return Number(rows[0]?.n ?? 0);
  }

  async dropUser(username: string): Promise<void> {
    await this.killSessions(username);
    await this.exec("DROP USER IF EXISTS ?@'%'", [username]);
    this.users.delete(username);
  }

  async createDatabase(prefix = 'db'): Promise<string> {
    const name = uniqueName(prefix);
    await this.exec('CREATE DATABASE ??', [name]);
    this.databases.add(name);
    return name;
  }

  async expectLoginRejected(creds: UserCreds, opts: ExpectRejectedOptions = {}): Promise<Error> {
    const expected = opts.code ?? 1045;
    let conn: mysql.Connection;
    try {
      conn = await this.connectAs(creds, opts.database);
    } catch (err) {
      if (errCode(err) === expected) return err as Error;
      throw new Error(`expected login of ${creds.username} to be rejected with ${expected}, got ${errCode(err)}`, {
        cause: err,
      });
    }
    await conn.end().catch(() => {});
    throw new Error(`expected login of ${creds.username} to be rejected with ${expected}, but the server accepted it`);
  }

  async expectLoginAccepted(creds: UserCreds, opts: { database?: string } = {}): Promise<void> {
    let conn: mysql.Connection | undefined;
    try {
      conn = await this.connectAs(creds, opts.database);
      await conn.query('SELECT 1');
    } catch (err) {
      throw new Error(`expected login of ${creds.username} to be accepted, got ${errCode(err)}`, { cause: err });
    } finally {
      await conn?.end().catch(() => {});
    }
  }

  private async connectAs(creds: UserCreds, database?: string): Promise<mysql.Connection> {
    const conn = await mysql.createConnection({
      host: this.server.host,
      port: this.server.port,
      user: creds.username,
      password: creds.password,
      database: database ?? this.server.database,
    });
    conn.on('error', () => {});
    return conn;
  }

  async close(): Promise<void> {
    try {
      for (const u of [...this.users]) await this.dropUser(u).catch(() => {});
      for (const d of this.databases) await this.exec('DROP DATABASE IF EXISTS ??', [d]);
    } finally {
      await this.conn.end().catch(() => {});
    }
  }
}

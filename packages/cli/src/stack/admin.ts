import { setTimeout as sleep } from 'node:timers/promises';
import mysql from 'mysql2/promise';
import pg from 'pg';
import type { CreateLoginOptions, DbAdmin, Login, ServerInfo } from './types.js';
import { inTransaction, pgTransactional } from './transaction.js';

const NOTES_PG = `CREATE TABLE notes (
  id serial PRIMARY KEY,
  author text NOT NULL,
  body text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
)`;
const NOTES_MYSQL = `CREATE TABLE notes (
  id int AUTO_INCREMENT PRIMARY KEY,
  author varchar(64) NOT NULL,
  body varchar(255) NOT NULL,
  created_at timestamp NOT NULL DEFAULT CURRENT_TIMESTAMP
)`;
/** How long `killSessions` waits for the killed sessions to disappear, in ms. */
const KILL_SETTLE_MS = 5000;

const list = (u: string | readonly string[]): string[] => (typeof u === 'string' ? [u] : [...u]);

/** What `tryLogin` needs of a pg.Client / mysql2 Connection. */
interface Session {
  query(sql: string): Promise<unknown>;
  end(): Promise<void>;
}

/** The engine-specific statements; everything else in `DbAdmin` is shared. */
interface Dialect {
  exec(sql: string, params?: unknown[]): Promise<unknown[]>;
  createUser(login: Login, opts: CreateLoginOptions): Promise<void>;
  setPassword(username: string, password: string): Promise<void>;
  setLogin(username: string, allowed: boolean): Promise<void>;
  grantDatabase(username: string, database: string): Promise<void>;
  cloneUser(from: string, to: string, password: string): Promise<void>;
  /** Ids of the sessions of these users (not the admin's own). */
  sessionIds(usernames: string[], idleOnly: boolean): Promise<number[]>;
  /** Kills the sessions; resolves to the ids really killed (gone already: skipped). */
  kill(ids: number[]): Promise<number[]>;
  /** How many of these sessions are still listed. */
  alive(ids: number[]): Promise<number>;
  dropUser(username: string): Promise<void>;
  createDatabase(name: string, owner?: string): Promise<void>;
  dropDatabase(name: string): Promise<void>;
  createNotesTable(database: string, owner: string): Promise<void>;
  /** A fresh connection as `login` (not the admin pool). */
  connect(login: Login, database: string, timeoutMs: number): Promise<Session>;
  authErrorCode(err: unknown): string | null;
  close(): Promise<void>;
}

function pgDialect(server: ServerInfo): Dialect {
  const base = { host: server.host, port: server.port, user: server.adminUser, password: server.adminPassword };
  const pool = new pg.Pool({ ...base, database: server.database, max: 2, idleTimeoutMillis: 1000 });
  pool.on('error', () => {}); // idle admin sessions may be terminated; the next query reconnects
  const id = (s: string) => pg.Client.prototype.escapeIdentifier(s);
  const lit = (s: string) => pg.Client.prototype.escapeLiteral(s);
  const exec = async (sql: string, params: unknown[] = []) => (await pool.query(sql, params)).rows as unknown[];
  /**
   * Runs privilege-changing statements in one transaction holding a server-wide advisory lock:
   * concurrent GRANTs / DROP OWNED on the same database or schema row fail with "tuple concurrently
   * updated" (XX000) — seen with several test files creating users at once.
   */
  const serialized = async (statements: string[]) => {
    const client = await pool.connect();
    await inTransaction(pgTransactional(client), async () => {
      await client.query('SELECT pg_advisory_xact_lock(726873)');
      for (const sql of statements) await client.query(sql);
    });
  };
  const grantDatabase = async (username: string, database: string) => {
    const statements = [`GRANT ALL PRIVILEGES ON DATABASE ${id(database)} TO ${id(username)}`];
    if (database === server.database) statements.push(`GRANT ALL ON SCHEMA public TO ${id(username)}`);
    await serialized(statements);
  };
  const connect = async (login: Login, database: string, timeoutMs: number) => {
    const client = new pg.Client({
      ...base,
      user: login.username,
      password: login.password,
      database,
      connectionTimeoutMillis: timeoutMs,
    });
    client.on('error', () => {});
    try {
      await client.connect();
    } catch (err) {
      await client.end().catch(() => {});
      throw err;
    }
    return client;
  };
  return {
    exec,
    async createUser({ username, password }, opts) {
      const flags = `${opts.login === false ? 'NOLOGIN' : 'LOGIN'}${opts.master ? ' SUPERUSER' : ''}`;
      await exec(`CREATE ROLE ${id(username)} ${flags} PASSWORD ${lit(password)}`);
    },
    setPassword: async (username, password) =>
      void (await exec(`ALTER ROLE ${id(username)} PASSWORD ${lit(password)}`)),
    setLogin: async (username, allowed) =>
      void (await exec(`ALTER ROLE ${id(username)} ${allowed ? 'LOGIN' : 'NOLOGIN'}`)),
    grantDatabase,
    async cloneUser(from, to, password) {
      await exec(`CREATE ROLE ${id(to)} LOGIN PASSWORD ${lit(password)}`);
      await exec(`GRANT ${id(from)} TO ${id(to)}`);
      await grantDatabase(to, server.database);
    },
    async sessionIds(usernames, idleOnly) {
      const rows = (await exec(
        `SELECT pid FROM pg_stat_activity WHERE usename = ANY($1) AND pid <> pg_backend_pid()${idleOnly ? " AND state = 'idle'" : ''}`,
        [usernames],
      )) as Array<{ pid: number }>;
      return rows.map((r) => r.pid);
    },
    async kill(ids) {
      const rows = (await exec('SELECT pid, pg_terminate_backend(pid) AS killed FROM unnest($1::int[]) AS t(pid)', [
        ids,
      ])) as Array<{ pid: number; killed: boolean }>;
      return rows.filter((r) => r.killed).map((r) => r.pid);
    },
    async alive(ids) {
      const rows = (await exec('SELECT count(*)::int AS n FROM pg_stat_activity WHERE pid = ANY($1)', [ids])) as Array<{
        n: number;
      }>;
      return rows[0]?.n ?? 0;
    },
    async dropUser(username) {
      if ((await exec('SELECT 1 FROM pg_roles WHERE rolname = $1', [username])).length === 0) return;
      await serialized([
        `REASSIGN OWNED BY ${id(username)} TO ${id(server.adminUser)}`,
        `DROP OWNED BY ${id(username)}`,
        `DROP ROLE IF EXISTS ${id(username)}`,
      ]);
    },
    createDatabase: async (name, owner) =>
      void (await exec(`CREATE DATABASE ${id(name)}${owner ? ` OWNER ${id(owner)}` : ''}`)),
    dropDatabase: async (name) => void (await exec(`DROP DATABASE IF EXISTS ${id(name)} WITH (FORCE)`)),
    async createNotesTable(database, owner) {
      const client = new pg.Client({ ...base, database });
      client.on('error', () => {});
      await client.connect();
      try {
        await client.query(NOTES_PG);
        await client.query(`ALTER TABLE notes OWNER TO ${id(owner)}`);
      } finally {
        await client.end();
      }
    },
    connect,
    authErrorCode(err) {
      const code = (err as { code?: unknown })?.code;
      return code === '28P01' || code === '28000' ? code : null;
    },
    close: () => pool.end(),
  };
}

function mysqlDialect(server: ServerInfo): Dialect {
  const base = { host: server.host, port: server.port };
  const pool = mysql.createPool({
    ...base,
    user: server.adminUser,
    password: server.adminPassword,
    connectionLimit: 2,
    maxIdle: 1,
    idleTimeout: 1000,
  });
  const exec = async (sql: string, params: unknown[] = []) => {
    const [rows] = await pool.query(sql, params);
    return Array.isArray(rows) ? (rows as unknown[]) : [rows];
  };
  const createUser = async ({ username, password }: Login, opts: CreateLoginOptions) => {
    await exec(`CREATE USER ?@'%' IDENTIFIED BY ?${opts.login === false ? ' ACCOUNT LOCK' : ''}`, [username, password]);
    if (opts.master) await exec(`GRANT ALL PRIVILEGES ON *.* TO ?@'%' WITH GRANT OPTION`, [username]);
  };
  const grantDatabase = async (username: string, database: string) =>
    void (await exec("GRANT ALL PRIVILEGES ON ??.* TO ?@'%'", [database, username]));
  return {
    exec,
    createUser,
    setPassword: async (username, password) =>
      void (await exec("ALTER USER ?@'%' IDENTIFIED BY ?", [username, password])),
    setLogin: async (username, allowed) =>
      void (await exec(`ALTER USER ?@'%' ACCOUNT ${allowed ? 'UNLOCK' : 'LOCK'}`, [username])),
    grantDatabase,
    async cloneUser(from, to, password) {
      await createUser({ username: to, password }, {});
      const grants = (await exec("SHOW GRANTS FOR ?@'%'", [from])) as Array<Record<string, string>>;
      const fromGrantee = `TO ${mysql.escapeId(from)}@\`%\``;
      const toGrantee = `TO ${mysql.escapeId(to)}@\`%\``;
      for (const row of grants) {
        const stmt = Object.values(row)[0] ?? '';
        if (!stmt.includes(fromGrantee)) throw new Error(`cloneUser: unexpected grant shape: ${stmt.split(' TO ')[0]}`);
        // Drop the password hash clause of the USAGE grant: `to` keeps its own password.
        await exec(stmt.replace(fromGrantee, toGrantee).replace(/ IDENTIFIED BY PASSWORD '[^']*'/, ''));
      }
    },
    async sessionIds(usernames, idleOnly) {
      const rows = (await exec(
        `SELECT ID AS id FROM information_schema.PROCESSLIST WHERE USER IN (?) AND ID <> CONNECTION_ID()${idleOnly ? " AND COMMAND = 'Sleep'" : ''}`,
        [usernames],
      )) as Array<{ id: number }>;
      return rows.map((r) => Number(r.id));
    },
    async kill(ids) {
      const killed: number[] = [];
      for (const sid of ids) {
        try {
          await exec('KILL CONNECTION ?', [sid]);
          killed.push(sid);
        } catch (err) {
          if ((err as { errno?: number }).errno !== 1094) throw err; // ER_NO_SUCH_THREAD: it ended on its own
        }
      }
      return killed;
    },
    async alive(ids) {
      const rows = (await exec('SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE ID IN (?)', [
        ids,
      ])) as Array<{ n: number }>;
      return Number(rows[0]?.n ?? 0);
    },
    dropUser: async (username) => void (await exec("DROP USER IF EXISTS ?@'%'", [username])),
    async createDatabase(name, owner) {
      await exec('CREATE DATABASE ??', [name]);
      if (owner) await grantDatabase(owner, name);
    },
    dropDatabase: async (name) => void (await exec('DROP DATABASE IF EXISTS ??', [name])),
    createNotesTable: async (database) =>
      void (await exec(NOTES_MYSQL.replace('TABLE notes', `TABLE ${mysql.escapeId(database)}.notes`))),
    async connect(login, database, timeoutMs) {
      const conn = await mysql.createConnection({
        ...base,
        user: login.username,
        password: login.password,
        database,
        connectTimeout: timeoutMs,
      });
      conn.on('error', () => {});
      return conn;
    },
    authErrorCode: (err) => ((err as { errno?: unknown })?.errno === 1045 ? 'ER_ACCESS_DENIED_ERROR (1045)' : null),
    close: () => pool.end(),
  };
}

/** An administrative connection to `server` (PostgreSQL superuser or MySQL root-like user). */
export function createDbAdmin(server: ServerInfo): DbAdmin {
  const d = server.engine === 'postgres' ? pgDialect(server) : mysqlDialect(server);
  const killSessions = async (usernames: string | readonly string[], opts: { idleOnly?: boolean } = {}) => {
    const names = list(usernames);
    if (names.length === 0) return 0;
    const ids = await d.sessionIds(names, opts.idleOnly ?? false);
    const killed = ids.length === 0 ? [] : await d.kill(ids);
    const deadline = Date.now() + KILL_SETTLE_MS;
    while (killed.length > 0 && (await d.alive(killed)) > 0 && Date.now() < deadline) await sleep(25);
    return killed.length;
  };
  const dropUser = async (username: string) => {
    await killSessions(username);
    await d.dropUser(username);
  };
  const tryLogin = async (login: Login, opts: { database?: string; timeoutMs?: number } = {}) => {
    try {
      const session = await d.connect(login, opts.database ?? server.database, opts.timeoutMs ?? 5000);
      try {
        await session.query('SELECT 1');
      } finally {
        await session.end().catch(() => {});
      }
      return null;
    } catch (err) {
      return err instanceof Error ? err : new Error(String(err), { cause: err });
    }
  };
  return {
    engine: server.engine,
    server,
    exec: d.exec,
    createUser: (login, opts = {}) => d.createUser(login, opts),
    setPassword: d.setPassword,
    setLogin: d.setLogin,
    grantDatabase: d.grantDatabase,
    cloneUser: d.cloneUser,
    killSessions,
    countSessions: async (usernames) => {
      const names = list(usernames);
      return names.length === 0 ? 0 : (await d.sessionIds(names, false)).length;
    },
    dropUser,
    createDatabase: (name, opts = {}) => d.createDatabase(name, opts.owner),
    dropDatabase: d.dropDatabase,
    tryLogin,
    async loginError(login, database) {
      const err = await tryLogin(login, { database });
      if (err === null) return null;
      const code = d.authErrorCode(err);
      if (code === null) throw err;
      return code;
    },
    async setupApp({ database, username, password }) {
      await d.createUser({ username, password }, {});
      await d.createDatabase(database, username);
      await d.createNotesTable(database, username);
    },
    createMaster: (login) => d.createUser(login, { master: true }),
    async dropApp({ database, usernames }) {
      await d.dropDatabase(database);
      for (const u of usernames) await dropUser(u);
    },
    close: d.close,
  };
}

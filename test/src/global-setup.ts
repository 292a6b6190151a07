/**
 * vitest globalSetup: real database servers for the whole run.
 *
 * - PostgreSQL: one private scram-sha-256 server from `startEmbeddedPostgres` (the `dbcreds` CLI's,
 *   also behind `dbcreds demo` and the drill; the machine's PostgreSQL on 5432 uses trust auth:
 *   every password works there, so it can prove nothing about rotation). Free port, fresh data dir
 *   under /tmp, removed afterwards.
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
import { createDbAdmin, type DbAdmin, startEmbeddedPostgres } from 'dbcreds/testing';
import mysql from 'mysql2/promise';
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

async function startPostgres(runId: string, cleanups: Array<() => Promise<void>>): Promise<ServerInfo> {
  const database = `dbcreds_test_${runId}`;
  const url = process.env.DBCREDS_TEST_PG_URL;
  let server: ServerInfo;
  if (url) {
    const u = new URL(url);
    server = {
      engine: 'postgres',
      host: u.hostname,
      port: Number(u.port || 5432),
      database: u.pathname.slice(1) || 'postgres',
      adminUser: decodeURIComponent(u.username),
      adminPassword: decodeURIComponent(u.password),
    };
  } else {
    try {
      const embedded = await startEmbeddedPostgres({ maxConnections: PG_MAX_CONNECTIONS });
      cleanups.push(embedded.stop);
      server = embedded.server;
    } catch (err) {
      throw new Error('testbed: embedded PostgreSQL failed to start', { cause: err });
    }
  }
  const admin = createDbAdmin(server);
  try {
    await assertRejectsWrongPassword(admin);
    await admin.createDatabase(database);
  } finally {
    await admin.close();
  }
  cleanups.push(async () => {
    const dropper = createDbAdmin(server);
    try {
      await dropper.dropDatabase(database);
    } finally {
      await dropper.close();
    }
  });
  return { ...server, database };
}

async function assertRejectsWrongPassword(admin: DbAdmin): Promise<void> {
  const { host, port, adminUser, adminPassword } = admin.server;
  const err = await admin.tryLogin({ username: adminUser, password: `${adminPassword}-wrong` });
  if ((err as { code?: string } | null)?.code === '28P01') return;
  if (err) throw new Error(`testbed: PostgreSQL at ${host}:${port} unreachable`, { cause: err });
  throw new Error(
    `testbed: PostgreSQL at ${host}:${port} accepted a wrong password (trust auth?); rotation tests would prove nothing`,
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

import { setTimeout as sleep } from 'node:timers/promises';
import mysql from 'mysql2/promise';
import pg from 'pg';
import type { DbAdmin, ServerInfo } from './types.js';

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

async function untilNone(count: () => Promise<number>, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while ((await count()) > 0 && Date.now() < deadline) await sleep(25);
}

function pgAdmin(server: ServerInfo): DbAdmin {
  const base = { host: server.host, port: server.port, user: server.adminUser, password: server.adminPassword };
  const pool = new pg.Pool({ ...base, database: server.database, max: 2, idleTimeoutMillis: 1000 });
  pool.on('error', () => {}); // idle admin sessions may be terminated; the next query reconnects
  const id = (s: string) => pg.Client.prototype.escapeIdentifier(s);
  const lit = (s: string) => pg.Client.prototype.escapeLiteral(s);
  const inDatabase = async (database: string, sql: string[]) => {
    const client = new pg.Client({ ...base, database });
    client.on('error', () => {});
    await client.connect();
    try {
      for (const q of sql) await client.query(q);
    } finally {
      await client.end();
    }
  };
  const sessions = async (usernames: string[]) =>
    Number(
      (
        await pool.query(
          'SELECT count(*) AS n FROM pg_stat_activity WHERE usename = ANY($1) AND pid <> pg_backend_pid()',
          [usernames],
        )
      ).rows[0].n,
    );
  return {
    engine: 'postgres',
    async setupApp({ database, username, password }) {
      await pool.query(`CREATE ROLE ${id(username)} LOGIN PASSWORD ${lit(password)}`);
      await pool.query(`CREATE DATABASE ${id(database)} OWNER ${id(username)}`);
      await inDatabase(database, [NOTES_PG, `ALTER TABLE notes OWNER TO ${id(username)}`]);
    },
    async createMaster({ username, password }) {
      await pool.query(`CREATE ROLE ${id(username)} LOGIN SUPERUSER PASSWORD ${lit(password)}`);
    },
    async killSessions(usernames) {
      const { rows } = await pool.query(
        'SELECT count(pg_terminate_backend(pid)) AS n FROM pg_stat_activity WHERE usename = ANY($1) AND pid <> pg_backend_pid()',
        [usernames],
      );
      await untilNone(() => sessions(usernames));
      return Number(rows[0].n);
    },
    async loginError({ username, password }, database) {
      const client = new pg.Client({ ...base, user: username, password, database, connectionTimeoutMillis: 5000 });
      client.on('error', () => {});
      try {
        await client.connect();
      } catch (err) {
        const code = (err as { code?: string }).code;
        if (code === '28P01' || code === '28000') return code;
        throw err;
      }
      await client.end();
      return null;
    },
    async dropApp({ database, usernames }) {
      await pool.query(`DROP DATABASE IF EXISTS ${id(database)} WITH (FORCE)`);
      for (const u of usernames) await pool.query(`DROP ROLE IF EXISTS ${id(u)}`);
    },
    close: () => pool.end(),
  };
}

function mysqlAdmin(server: ServerInfo): DbAdmin {
  const base = { host: server.host, port: server.port };
  const pool = mysql.createPool({
    ...base,
    user: server.adminUser,
    password: server.adminPassword,
    connectionLimit: 2,
    maxIdle: 1,
    idleTimeout: 1000,
  });
  const sessions = async (usernames: string[]) => {
    const [rows] = await pool.query<mysql.RowDataPacket[]>(
      'SELECT ID FROM information_schema.PROCESSLIST WHERE USER IN (?) AND ID <> CONNECTION_ID()',
      [usernames],
    );
    return rows.map((r) => Number(r.ID));
  };
  return {
    engine: 'mysql',
    async setupApp({ database, username, password }) {
      await pool.query(`CREATE DATABASE ${mysql.escapeId(database)}`);
      await pool.query(`CREATE USER ?@'%' IDENTIFIED BY ?`, [username, password]);
      await pool.query(`GRANT ALL PRIVILEGES ON ${mysql.escapeId(database)}.* TO ?@'%'`, [username]);
      await pool.query(NOTES_MYSQL.replace('TABLE notes', `TABLE ${mysql.escapeId(database)}.notes`));
    },
    async createMaster({ username, password }) {
      await pool.query(`CREATE USER ?@'%' IDENTIFIED BY ?`, [username, password]);
      await pool.query(`GRANT ALL PRIVILEGES ON *.* TO ?@'%' WITH GRANT OPTION`, [username]);
    },
    async killSessions(usernames) {
      const ids = await sessions(usernames);
      for (const sid of ids) {
        await pool.query('KILL CONNECTION ?', [sid]).catch(() => {}); // already gone: errno 1094
      }
      await untilNone(async () => (await sessions(usernames)).length);
      return ids.length;
    },
    async loginError({ username, password }, database) {
      let conn: mysql.Connection;
      try {
        conn = await mysql.createConnection({ ...base, user: username, password, database, connectTimeout: 5000 });
      } catch (err) {
        const errno = (err as { errno?: number }).errno;
        if (errno === 1045) return 'ER_ACCESS_DENIED_ERROR (1045)';
        throw err;
      }
      await conn.end();
      return null;
    },
    async dropApp({ database, usernames }) {
      await pool.query(`DROP DATABASE IF EXISTS ${mysql.escapeId(database)}`);
      for (const u of usernames) await pool.query(`DROP USER IF EXISTS ?@'%'`, [u]);
    },
    close: () => pool.end(),
  };
}

/** An administrative connection to `server` (PostgreSQL superuser or MySQL root-like user). */
export function createDbAdmin(server: ServerInfo): DbAdmin {
  return server.engine === 'postgres' ? pgAdmin(server) : mysqlAdmin(server);
}

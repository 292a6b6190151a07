/**
 * The suite must be able to fail: a naive pool (secret read once at creation, plain pg.Pool /
 * mysql2 pool, no retry) is run through it, and the rotation scenarios are asserted to FAIL.
 * Scenario 1 runs as a control: the naive pool passes it, so the harness does not just fail
 * everything.
 */
import mysql from 'mysql2';
import pg from 'pg';
import type { LibraryClient } from 'dbcreds/testing';
import { runConformanceSuite } from './src/index.js';

runConformanceSuite({
  name: 'naive pool (honesty check)',
  scenarios: [1, 2, 3, 4, 5, 10, 11, 12, 13, 15],
  expectFailures: [2, 3, 4, 5, 10, 11, 12, 13, 15],
  async create(ctx): Promise<LibraryClient<string>> {
    const creds = await ctx.source.get(); // read once, never again
    if (ctx.engine === 'postgres') {
      const pool = new pg.Pool({
        host: ctx.host,
        port: ctx.port,
        database: ctx.database,
        user: creds.username,
        password: creds.password,
        max: ctx.maxConnections,
        idleTimeoutMillis: ctx.idleTimeoutMs,
      });
      pool.on('error', () => {});
      const currentUser = async (q: { query: typeof pool.query }) =>
        ((await q.query('SELECT current_user AS u')) as { rows: Array<{ u: string }> }).rows[0]!.u;
      return {
        query: () => currentUser(pool),
        async transaction(body) {
          const client = await pool.connect();
          try {
            await client.query('BEGIN');
            await body(() => currentUser(client));
            await client.query('COMMIT');
          } finally {
            client.release();
          }
        },
        close: () => pool.end(),
      };
    }
    const pool = mysql
      .createPool({
        host: ctx.host,
        port: ctx.port,
        database: ctx.database,
        user: creds.username,
        password: creds.password,
        connectionLimit: ctx.maxConnections,
        maxIdle: ctx.maxIdle,
        idleTimeout: ctx.idleTimeoutMs,
      })
      .promise();
    const currentUser = async (q: { query: typeof pool.query }) =>
      ((await q.query('SELECT CURRENT_USER() AS u')) as unknown as [Array<{ u: string }>])[0][0]!.u;
    return {
      query: () => currentUser(pool),
      async transaction(body) {
        const conn = await pool.getConnection();
        try {
          await conn.beginTransaction();
          await body(() => currentUser(conn));
          await conn.commit();
        } finally {
          conn.release();
        }
      },
      close: () => pool.end(),
    };
  },
});

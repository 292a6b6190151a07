import { runConformanceSuite } from '@dbcreds/testbed';
import type { RowDataPacket } from 'mysql2';
import { createPool } from '../src/index.js';

runConformanceSuite({
  name: '@dbcreds/mysql2',
  engines: ['mysql'],
  async create(ctx) {
    const pool = createPool(ctx.source, {
      host: ctx.host,
      port: ctx.port,
      database: ctx.database,
      connectionLimit: ctx.maxConnections,
      maxIdle: 0,
      idleTimeout: ctx.idleTimeoutMs,
    }).promise();
    const currentUser = async (q: Pick<typeof pool, 'query'>) => {
      const [rows] = await q.query<RowDataPacket[]>('SELECT CURRENT_USER() AS u');
      return String(rows[0]!.u);
    };
    return {
      query: () => currentUser(pool),
      async transaction(body) {
        const conn = await pool.getConnection();
        try {
          await conn.beginTransaction();
          await body(() => currentUser(conn));
          await conn.commit();
        } catch (err) {
          await conn.rollback().catch(() => {});
          throw err;
        } finally {
          conn.release();
        }
      },
      close: () => pool.end(),
      inspectables: () => [pool],
    };
  },
});

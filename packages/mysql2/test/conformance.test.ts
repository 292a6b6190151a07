import { runConformanceSuite } from '@dbcreds/testbed';
import type { RowDataPacket } from 'mysql2';
import { conformancePool } from './conformance-pool.js';

// Both backends: the SDK client, and the Secrets Manager Agent in front of the local Secrets Manager.
for (const backend of ['sdk', 'agent'] as const) {
  runConformanceSuite({
    name: '@dbcreds/mysql2',
    backend,
    engines: ['mysql'],
    async create(ctx) {
      const pool = conformancePool(ctx).promise();
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
}

import { runConformanceSuite } from '@dbcreds/testbed';
import { createPool } from '../src/index.js';

runConformanceSuite({
  name: '@dbcreds/pg',
  engines: ['postgres'],
  async create(ctx) {
    const pool = createPool(ctx.source, {
      host: ctx.host,
      port: ctx.port,
      database: ctx.database,
      max: ctx.maxConnections,
      idleTimeoutMillis: ctx.idleTimeoutMs,
    });
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
        } catch (err) {
          await client.query('ROLLBACK').catch(() => {});
          throw err;
        } finally {
          client.release();
        }
      },
      close: () => pool.end(),
      inspectables: () => [pool],
    };
  },
});

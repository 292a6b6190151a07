import { runConformanceSuite } from '@dbcreds/testbed';
import { conformancePool } from './conformance-pool.js';

// Both backends: the SDK client, and the Secrets Manager Agent in front of the local Secrets Manager.
for (const backend of ['sdk', 'agent'] as const) {
  runConformanceSuite({
    name: '@dbcreds/pg',
    backend,
    engines: ['postgres'],
    async create(ctx) {
      const pool = conformancePool(ctx);
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
}

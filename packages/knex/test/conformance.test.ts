import { withRotatingCredentials } from '@dbcreds/knex';
import { runConformanceSuite } from '@dbcreds/testbed';
import * as knexModule from 'knex';
import type { Knex } from 'knex';

// knex 3.3 is CommonJS only (no detectable named exports); under vite, knex 2.5 resolves to its knex.mjs.
const knex = knexModule.knex ?? (knexModule.default as unknown as typeof knexModule.knex);

// Both backends: the SDK client, and the Secrets Manager Agent in front of the local Secrets Manager.
for (const backend of ['sdk', 'agent'] as const) {
  runConformanceSuite({
    name: '@dbcreds/knex',
    backend,
    async create(ctx) {
      const db = knex(
        withRotatingCredentials(
          {
            client: ctx.engine === 'postgres' ? 'pg' : 'mysql2',
            connection: { host: ctx.host, port: ctx.port, database: ctx.database },
            pool: { min: 0, max: ctx.maxConnections, idleTimeoutMillis: ctx.idleTimeoutMs, reapIntervalMillis: 50 },
            // knex logs every failed acquisition at warn level; scenarios 6/7 fail 100 on purpose.
            log: { warn() {} },
          },
          ctx.source,
        ),
      );
      // Raw SQL for plain queries, the query builder inside transactions: both are the library's own API.
      const query = async (): Promise<string> => {
        const result = await db.raw('select current_user as u');
        return ctx.engine === 'postgres' ? result.rows[0].u : result[0][0].u;
      };
      const inTrx = async (trx: Knex.Transaction): Promise<string> =>
        ((await trx.first(trx.raw('current_user as u'))) as { u: string }).u;
      return {
        query,
        transaction: (body) => db.transaction((trx) => body(() => inTrx(trx))),
        close: () => db.destroy(),
        // knex re-hides mysql2's config.password as a non-configurable value itself (README, Caveats).
        inspectables: () => (ctx.engine === 'postgres' ? [db, db.client] : []),
      };
    },
  });
}

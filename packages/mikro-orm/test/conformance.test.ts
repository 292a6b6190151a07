import { runConformanceSuite, uniqueName } from '@dbcreds/testbed';
import { currentUser, initOrm, noteSchema } from './orm.js';

runConformanceSuite({
  name: '@dbcreds/mikro-orm',
  async create(ctx) {
    const orm = await initOrm(ctx.engine, ctx.source, {
      dbName: ctx.database,
      host: ctx.host,
      port: ctx.port,
      entity: noteSchema(uniqueName('mo_conf')),
      pool: { min: 0, max: ctx.maxConnections, idleTimeoutMillis: ctx.idleTimeoutMs },
    });
    return {
      query: () => currentUser(orm, ctx.engine),
      transaction: (body) =>
        orm.em.fork().transactional((em) => body(() => currentUser(orm, ctx.engine, em.getTransactionContext()))),
      close: () => orm.close(true),
      // MikroORM 6 queries through knex, which re-hides mysql2's config.password itself (knex README, Caveats).
      inspectables: () => {
        const conn = orm.em.getConnection();
        const knexInside = typeof (conn as { getKnex?: unknown }).getKnex === 'function';
        return knexInside && ctx.engine === 'mysql' ? [orm.config.getAll()] : [orm.config.getAll(), conn];
      },
    };
  },
});

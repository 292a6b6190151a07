import { withRotatingCredentials } from '@dbcreds/sequelize';
import { type ConformanceContext, runConformanceSuite } from '@dbcreds/testbed';
import { type Dialect, QueryTypes, Sequelize, type Transaction } from 'sequelize';

/**
 * One Sequelize over the scenario's server, with the conformance pool shape (churning, 50 max). Not the
 * catalog's client (dbcreds/testing): the catalog resolves sequelize from the CLI, whose copy loads mariadb
 * 3.4.5, while this package tests its mariadb dialect with mariadb 3.5.4 (3.4.5 leaves a connection killed
 * during its initial SQL as an unhandled rejection).
 */
function create(dialect: (ctx: ConformanceContext) => Dialect) {
  return async (ctx: ConformanceContext) => {
    // The leak audit inspects the driver connections too: the churning pool has evicted most by then.
    const connections: unknown[] = [];
    const sequelize = new Sequelize(
      withRotatingCredentials(
        {
          dialect: dialect(ctx),
          host: ctx.host,
          port: ctx.port,
          database: ctx.database,
          pool: { min: 0, max: ctx.maxConnections, idle: ctx.idleTimeoutMs, evict: 50 },
          logging: false,
          hooks: { afterConnect: (c: unknown) => void (connections.length < 20 && connections.push(c)) },
        },
        ctx.source,
      ),
    );
    const sql = ctx.engine === 'postgres' ? 'SELECT current_user AS u' : 'SELECT CURRENT_USER() AS u';
    const currentUser = async (transaction?: Transaction): Promise<string> => {
      const [row] = await sequelize.query<{ u: string }>(sql, { type: QueryTypes.SELECT, transaction });
      return row!.u;
    };
    return {
      query: () => currentUser(),
      transaction: (body: (q: () => Promise<string>) => Promise<void>) =>
        sequelize.transaction((t) => body(() => currentUser(t))),
      close: () => sequelize.close(),
      inspectables: () => [sequelize, ...connections],
    };
  };
}

// sequelize-pool starts another create for the remaining waiters after each failed one (see the option).
runConformanceSuite({
  name: '@dbcreds/sequelize (postgres, mysql dialects)',
  createsPerFailedQuery: 2,
  create: create((ctx) => (ctx.engine === 'postgres' ? 'postgres' : 'mysql')),
});

runConformanceSuite({
  name: '@dbcreds/sequelize (mariadb dialect)',
  engines: ['mysql'],
  createsPerFailedQuery: 2,
  create: create(() => 'mariadb'),
});

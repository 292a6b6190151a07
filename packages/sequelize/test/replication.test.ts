// Sequelize `replication` (writer node + reader node) through rotations: the reader is the test bed's TCP relay (startFaultProxy, mode pass)
// in front of the same test server on another port, reached as `localhost`, so every query can
// tell which node served it (the session's client port is one of the proxy's upstream ports).
import { withRotatingCredentials } from '@dbcreds/sequelize';
import { type ConformanceContext, runConformanceSuite, SESSION_SQL, startFaultProxy } from '@dbcreds/testbed';
import { QueryTypes, Sequelize, type Transaction } from 'sequelize';

runConformanceSuite({
  name: '@dbcreds/sequelize replication (write + read node)',
  // Error semantics (6-8) are the same code path as without replication (conformance.test.ts).
  scenarios: [1, 2, 3, 4, 5, 9, 10],
  async create(ctx: ConformanceContext) {
    // ctx.host! : scenario 14 (the only one without a host) is not in this list.
    const reader = await startFaultProxy({ target: { host: ctx.host!, port: ctx.port }, protocol: 'tcp' });
    const sequelize = new Sequelize(
      withRotatingCredentials(
        {
          dialect: ctx.engine === 'postgres' ? 'postgres' : 'mysql',
          database: ctx.database,
          replication: { write: { host: ctx.host, port: ctx.port }, read: [{ host: 'localhost', port: reader.port }] },
          pool: { min: 0, max: ctx.maxConnections, idle: ctx.idleTimeoutMs, evict: 50 },
          logging: false,
        },
        ctx.source,
      ),
    );
    /** One query; throws unless it ran on the node `expected` (a failed query for the suite). */
    const session = async (expected: 'reader' | 'writer', transaction?: Transaction): Promise<string> => {
      const [row] = await sequelize.query<{ u: string; p: number | string }>(SESSION_SQL[ctx.engine], {
        type: QueryTypes.SELECT,
        transaction,
      });
      const node = reader.upstreamPorts.has(Number(row!.p)) ? 'reader' : 'writer';
      if (node !== expected) throw new Error(`expected the ${expected} node, served by the ${node}`);
      return row!.u;
    };
    return {
      // A SELECT outside a transaction goes to the read pool; a transaction to the write pool.
      query: () => session('reader'),
      transaction: (body) => sequelize.transaction((t) => body(() => session('writer', t))),
      async close() {
        await sequelize.close();
        await reader.close();
      },
    };
  },
});

import { type ConformanceContext, createAdmin, runConformanceSuite } from '@dbcreds/testbed';
import { DataSource } from 'typeorm';
import { beforeAll, expect, it } from 'vitest';
import { withRotatingCredentials } from '../src/index.js';
import { createSchema, Item, inTransaction, TYPEORM_LINE, Whoami } from './fixtures.js';

beforeAll(async () => {
  for (const engine of ['postgres', 'mysql'] as const) {
    const admin = await createAdmin(engine);
    await createSchema(admin);
    await admin.close();
  }
});

it(`runs against the TypeORM line the config selects (${TYPEORM_LINE})`, () => {
  expect(TYPEORM_LINE).toBe(process.env.DBCREDS_EXPECT_TYPEORM ?? '1');
});

const CURRENT_USER = 'SELECT CURRENT_USER AS u';

runConformanceSuite({
  name: `@dbcreds/typeorm (TypeORM ${TYPEORM_LINE})`,
  async create(ctx: ConformanceContext) {
    const endpoint = { host: ctx.host, port: ctx.port, database: ctx.database, poolSize: ctx.maxConnections };
    const dataSource = new DataSource(
      ctx.engine === 'postgres'
        ? withRotatingCredentials(
            {
              type: 'postgres',
              ...endpoint,
              entities: [Whoami, Item],
              extra: { idleTimeoutMillis: ctx.idleTimeoutMs },
            },
            ctx.source,
          )
        : withRotatingCredentials(
            {
              type: 'mariadb',
              ...endpoint,
              entities: [Whoami, Item],
              extra: { maxIdle: ctx.maxIdle, idleTimeout: ctx.idleTimeoutMs },
            },
            ctx.source,
          ),
    );
    await dataSource.initialize();
    let n = 0;
    // Alternates DataSource.query and a repository call (the whoami view).
    const whoami = async (manager = dataSource.manager): Promise<string> =>
      n++ % 2 === 0
        ? ((await manager.query(CURRENT_USER)) as Array<{ u: string }>)[0]!.u
        : (await manager.getRepository(Whoami).find({ take: 1 }))[0]!.u;
    return {
      query: () => whoami(),
      transaction: (body) => inTransaction(dataSource, (manager) => body(() => whoami(manager))),
      close: () => dataSource.destroy(),
      inspectables: () => [dataSource, dataSource.driver],
    };
  },
});

import { type ConformanceClient, type ConformanceContext, createAdmin, runConformanceSuite } from '@dbcreds/testbed';
import { beforeAll } from 'vitest';
import { withRotatingCredentials } from '../src/index.js';
import { createSchema, MysqlPrismaClient, PgPrismaClient, whoami } from './fixtures.js';

beforeAll(async () => {
  for (const engine of ['postgres', 'mysql'] as const) {
    const admin = await createAdmin(engine);
    await createSchema(admin);
    await admin.close();
  }
});

async function create(ctx: ConformanceContext): Promise<ConformanceClient> {
  const endpoint = { host: ctx.host, port: ctx.port, database: ctx.database };
  const prisma =
    ctx.engine === 'postgres'
      ? new PgPrismaClient(
          withRotatingCredentials({}, ctx.source, {
            provider: 'postgres',
            ...endpoint,
            pool: { max: ctx.maxConnections, idleTimeoutMillis: ctx.idleTimeoutMs },
          }),
        )
      : new MysqlPrismaClient(
          withRotatingCredentials({}, ctx.source, {
            provider: 'mysql',
            ...endpoint,
            // bounds how long a non-credential refusal (scenario 7: a locked account) takes to show
            pool: { connectionLimit: ctx.maxConnections, initializationTimeout: 300 },
          }),
        );
  let n = 0;
  return {
    // Alternates a model call (findFirst on the whoami view) and $queryRaw.
    query: () => whoami(prisma, n++ % 2 === 0 ? 'model' : 'raw').catch(exposeDriverError),
    transaction: async (body) => {
      // (one of two generated clients: the union of their overloads is not callable, hence the cast)
      await (prisma as InstanceType<typeof PgPrismaClient>)
        .$transaction(async (tx: any) => body(() => whoami(tx, n++ % 2 === 0 ? 'model' : 'raw')), {
          maxWait: 10_000,
          timeout: 20_000,
        })
        .catch(exposeDriverError);
    },
    close: () => prisma.$disconnect(),
  };
}

/**
 * Prisma errors keep the driver's code in `meta.driverAdapterError.cause.originalCode`, which the
 * suite's `reachableCodes` does not walk (core's `isAuthError` does). Link it as `cause`; the error
 * itself (code, message, meta) is unchanged.
 */
function exposeDriverError(err: any): never {
  if (err?.cause === undefined && err?.meta?.driverAdapterError) {
    Object.defineProperty(err, 'cause', { value: err.meta.driverAdapterError, configurable: true });
  }
  throw err;
}

// 7 on PostgreSQL: NOLOGIN answers 28000, which @dbcreds/pg retries once (auth, per core), but
// PrismaPg reports it as `DatabaseAccessDenied` (P1010) with `originalCode: '28000'`, which core's
// isAuthError does not read, so the suite expects 1 attempt. Remove once core classifies originalCode.
runConformanceSuite({ name: '@dbcreds/prisma', engines: ['postgres'], create, expectFailures: [7] });
// Not run on MariaDB (covered in mariadb.test.ts instead):
// 1: needs idle connections to close; the mariadb pool keeps `minimumIdle` (>= 1: with 0 it never
//    opens a connection) open for good.
// 6: PrismaMariaDb reports 1045 as `{ kind: 'AuthenticationFailed', originalCode: '1045' }` (a
//    string): the suite looks for the number 1045.
runConformanceSuite({ name: '@dbcreds/prisma', engines: ['mysql'], create, scenarios: [2, 3, 4, 5, 7, 8, 9, 10] });

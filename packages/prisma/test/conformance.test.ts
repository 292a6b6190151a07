import { type ConformanceContext, createAdmin, runConformanceSuite } from '@dbcreds/testbed';
import type { LibraryClient } from 'dbcreds/testing';
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

async function create(ctx: ConformanceContext): Promise<LibraryClient<string>> {
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
    query: () => whoami(prisma, n++ % 2 === 0 ? 'model' : 'raw'),
    transaction: async (body) => {
      // (one of two generated clients: the union of their overloads is not callable, hence the cast)
      await (prisma as InstanceType<typeof PgPrismaClient>).$transaction(
        async (tx: any) => body(() => whoami(tx, n++ % 2 === 0 ? 'model' : 'raw')),
        {
          maxWait: 10_000,
          timeout: 20_000,
        },
      );
    },
    close: () => prisma.$disconnect(),
    inspectables: () => [prisma],
  };
}

// 7 on PostgreSQL: NOLOGIN answers 28000; PrismaPg reports it as `DatabaseAccessDenied` (P1010) with
// `originalCode: '28000'`, which core classifies as an auth error: retried once, like @dbcreds/pg.
// 15 (out-of-band change) is not run on PostgreSQL (#24). Its ~64 s were the leak audit, not Prisma: `inspect`
// of the Prisma client at depth 10 expanded the pg pool's shared objects once per path (135 MB of text, ~50 s);
// the audit now inspects each object once (test/src/leak-audit.ts `addGraph`) and the scenario takes 4–16 s.
// It still fails in 3 of 9 runs: 5 queries fail with 28P01 after a full 10 s wait (GetSecretValue 18 =
// 1 + 3 + 7 polls × 2: a wait that found nothing newer than a version the server accepts). Suspected, not
// proven: pg-pool builds a queued client from the shared `pool.options` when a slot frees, so a checkout
// that applied the new password can connect with the old one another caller applied after it; the refusal
// is then charged to the new version, nothing is newer, and the wait runs out.
runConformanceSuite({
  name: '@dbcreds/prisma',
  engines: ['postgres'],
  create,
  scenarios: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14],
});
// Scenario 1 is not run on MariaDB (covered in mariadb.test.ts instead): it needs idle connections to
// close, and the mariadb pool keeps `minimumIdle` (>= 1: with 0 it never opens a connection) open for good.
runConformanceSuite({
  name: '@dbcreds/prisma',
  engines: ['mysql'],
  create,
  scenarios: [2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15],
});

// Kysely's MysqlDialect over a @dbcreds/mysql2 pool: the conformance suite through Kysely's own API (the catalog's client).
import { fromCatalog, runConformanceSuite } from '@dbcreds/testbed';
import { kysely as kyselyClient } from 'dbcreds/testing';
import * as kysely from 'kysely';
import { expect, it } from 'vitest';

// The version matrix (test/matrix/query-builders) runs this file against kysely 0.27, whose root still exported Migrator.
it('runs against the expected kysely line', () => {
  expect('Migrator' in kysely ? '0.27' : '0.29').toBe(process.env.DBCREDS_EXPECT_KYSELY ?? '0.29');
});

runConformanceSuite({
  name: 'kysely MysqlDialect over @dbcreds/mysql2',
  engines: ['mysql'],
  create: fromCatalog(kyselyClient),
});

// Kysely's MysqlDialect over a @dbcreds/mysql2 pool: the conformance suite through Kysely's own API.
import { runConformanceSuite } from '@dbcreds/testbed';
import * as kysely from 'kysely';
import { Kysely, MysqlDialect, sql } from 'kysely';
import { expect, it } from 'vitest';
import { conformancePool } from './conformance-pool.js';

// The version matrix (test/matrix/query-builders) runs this file against kysely 0.27, whose root still exported Migrator.
it('runs against the expected kysely line', () => {
  expect('Migrator' in kysely ? '0.27' : '0.29').toBe(process.env.DBCREDS_EXPECT_KYSELY ?? '0.29');
});

runConformanceSuite({
  name: 'kysely MysqlDialect over @dbcreds/mysql2',
  engines: ['mysql'],
  async create(ctx) {
    const pool = conformancePool(ctx);
    // Kysely's MysqlDriver calls pool.getConnection(cb) (the patched one) for every query and transaction.
    const db = new Kysely<Record<string, never>>({ dialect: new MysqlDialect({ pool }) });
    const currentUser = async (q: Kysely<Record<string, never>>): Promise<string> =>
      (await q.selectNoFrom(sql<string>`current_user()`.as('u')).executeTakeFirstOrThrow()).u;
    return {
      query: () => currentUser(db),
      transaction: (body) => db.transaction().execute((trx) => body(() => currentUser(trx))),
      close: () => db.destroy(),
    };
  },
});

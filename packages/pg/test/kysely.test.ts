// Kysely's PostgresDialect over a @dbcreds/pg pool: the conformance suite through Kysely's own API.
import { runConformanceSuite } from '@dbcreds/testbed';
import * as kysely from 'kysely';
import { Kysely, PostgresDialect, sql } from 'kysely';
import { expect, it } from 'vitest';
import { conformancePool } from './conformance-pool.js';

// The version matrix (test/matrix/query-builders) runs this file against kysely 0.27, whose root still exported Migrator.
it('runs against the expected kysely line', () => {
  expect('Migrator' in kysely ? '0.27' : '0.29').toBe(process.env.DBCREDS_EXPECT_KYSELY ?? '0.29');
});

runConformanceSuite({
  name: 'kysely PostgresDialect over @dbcreds/pg',
  engines: ['postgres'],
  async create(ctx) {
    const pool = conformancePool(ctx);
    // Kysely's PostgresDriver calls pool.connect() for every query and transaction; destroy() ends the pool.
    const db = new Kysely<Record<string, never>>({ dialect: new PostgresDialect({ pool }) });
    const currentUser = async (q: Kysely<Record<string, never>>): Promise<string> =>
      (await q.selectNoFrom(sql<string>`current_user`.as('u')).executeTakeFirstOrThrow()).u;
    return {
      query: () => currentUser(db),
      transaction: (body) => db.transaction().execute((trx) => body(() => currentUser(trx))),
      close: () => db.destroy(),
    };
  },
});

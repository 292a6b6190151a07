// Drizzle's node-postgres driver over a @dbcreds/pg pool: the conformance suite through Drizzle's own API.
import { runConformanceSuite } from '@dbcreds/testbed';
import { sql } from 'drizzle-orm';
import { drizzle } from 'drizzle-orm/node-postgres';
import { npmVersion } from 'drizzle-orm/version';
import { expect, it } from 'vitest';
import { conformancePool } from './conformance-pool.js';

// The version matrix (test/matrix/query-builders) runs this file against the oldest drizzle-orm claimed.
it('runs against the expected drizzle-orm line', () => {
  expect(npmVersion.split('.').slice(0, 2).join('.')).toBe(process.env.DBCREDS_EXPECT_DRIZZLE ?? '0.45');
});

runConformanceSuite({
  name: 'drizzle-orm node-postgres over @dbcreds/pg',
  engines: ['postgres'],
  async create(ctx) {
    const pool = conformancePool(ctx);
    const db = drizzle(pool);
    const currentUser = async (q: Pick<typeof db, 'execute'>): Promise<string> =>
      String((await q.execute<{ u: string }>(sql`select current_user as u`)).rows[0]!.u);
    return {
      query: () => currentUser(db),
      // db.transaction checks a client out with pool.connect() and runs BEGIN … COMMIT on it.
      transaction: (body) => db.transaction((tx) => body(() => currentUser(tx))),
      close: () => pool.end(),
    };
  },
});

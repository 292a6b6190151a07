// Drizzle's mysql2 driver over a @dbcreds/mysql2 pool: the conformance suite through Drizzle's own API.
import { runConformanceSuite } from '@dbcreds/testbed';
import { sql } from 'drizzle-orm';
import { drizzle } from 'drizzle-orm/mysql2';
import { npmVersion } from 'drizzle-orm/version';
import type { RowDataPacket } from 'mysql2';
import { expect, it } from 'vitest';
import { conformancePool } from './conformance-pool.js';

// The version matrix (test/matrix/query-builders) runs this file against the oldest drizzle-orm claimed.
it('runs against the expected drizzle-orm line', () => {
  expect(npmVersion.split('.').slice(0, 2).join('.')).toBe(process.env.DBCREDS_EXPECT_DRIZZLE ?? '0.45');
});

runConformanceSuite({
  name: 'drizzle-orm mysql2 over @dbcreds/mysql2',
  engines: ['mysql'],
  async create(ctx) {
    const pool = conformancePool(ctx);
    // Drizzle wraps the callback pool with pool.promise(): its getConnection/query call the patched pool.getConnection.
    const db = drizzle(pool);
    const currentUser = async (q: Pick<typeof db, 'execute'>): Promise<string> => {
      const [rows] = (await q.execute(sql`select current_user() as u`)) as unknown as [RowDataPacket[]];
      return String(rows[0]!.u);
    };
    return {
      query: () => currentUser(db),
      transaction: (body) => db.transaction((tx) => body(() => currentUser(tx))),
      close: () => new Promise<void>((resolve, reject) => pool.end((err) => (err ? reject(err) : resolve()))),
    };
  },
});

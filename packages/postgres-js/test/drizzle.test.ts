// Drizzle's postgres-js driver over a @dbcreds/postgres-js sql: the conformance suite through Drizzle's own API.
import { runConformanceSuite } from '@dbcreds/testbed';
import { sql } from 'drizzle-orm';
import { drizzle } from 'drizzle-orm/postgres-js';
import { conformanceSql } from './conformance-sql.js';

runConformanceSuite({
  name: 'drizzle-orm postgres-js over @dbcreds/postgres-js',
  engines: ['postgres'],
  async create(ctx) {
    const client = conformanceSql(ctx);
    const db = drizzle(client);
    const currentUser = async (q: Pick<typeof db, 'execute'>): Promise<string> =>
      String((await q.execute<{ u: string }>(sql`select current_user as u`))[0]!.u);
    return {
      query: () => currentUser(db),
      // db.transaction runs on sql.begin: BEGIN … COMMIT on one reserved connection.
      transaction: (body) => db.transaction((tx) => body(() => currentUser(tx))),
      close: () => client.end({ timeout: 5 }),
      inspectables: () => [client, db],
    };
  },
});

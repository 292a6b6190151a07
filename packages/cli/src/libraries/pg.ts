import type { RetryingPool } from '@dbcreds/pg';
import { inTransaction, pgTransactional } from '../stack/transaction.js';
import { sqlWorkload } from './sql.js';
import type { LibraryClientOptions, LibraryEntry } from './types.js';

/** A `@dbcreds/pg` pool with the options' pool shape (also under Drizzle and Kysely). */
export async function pgPool(o: LibraryClientOptions): Promise<RetryingPool> {
  const { createPool } = await import('@dbcreds/pg');
  const pool = createPool(o.source, {
    host: o.host,
    port: o.port,
    database: o.database,
    max: o.pool.max,
    idleTimeoutMillis: o.pool.idleTimeoutMs,
    ...(o.pool.connectTimeoutMs === undefined ? {} : { connectionTimeoutMillis: o.pool.connectTimeoutMs }),
  });
  // A killed idle session makes the pool emit 'error'; without a listener the process dies.
  if (o.ignorePoolErrors) pool.on('error', () => {});
  return pool;
}

/** node-postgres through `createPool` from `@dbcreds/pg`. */
export const pg: LibraryEntry = {
  name: 'pg',
  packages: ['@dbcreds/pg'],
  engines: ['postgres'],
  peers: {},
  async connect(o) {
    const pool = await pgPool(o);
    const rows = (q: Pick<RetryingPool, 'query'>) => async (sql: string, params?: unknown[]) =>
      (await q.query(sql, params)).rows;
    return {
      query: sqlWorkload(o.engine, o.workload, rows(pool)),
      async transaction(body) {
        const client = await pool.connect();
        await inTransaction(pgTransactional(client), () => body(sqlWorkload(o.engine, o.workload, rows(client), true)));
      },
      close: () => pool.end(),
      inspectables: () => [pool],
    };
  },
};

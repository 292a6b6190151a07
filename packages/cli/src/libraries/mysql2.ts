import type { Pool, RowDataPacket } from 'mysql2';
import { inTransaction } from '../stack/transaction.js';
import { sqlWorkload } from './sql.js';
import type { LibraryClientOptions, LibraryEntry } from './types.js';

/** A `@dbcreds/mysql2` pool with the options' pool shape (also under Drizzle and Kysely). */
export async function mysql2Pool(o: LibraryClientOptions): Promise<Pool> {
  const { createPool } = await import('@dbcreds/mysql2');
  const pool = createPool(o.source, {
    host: o.host,
    port: o.port,
    database: o.database,
    connectionLimit: o.pool.max,
    // maxIdle 0 + idleTimeout: idle connections are closed after idleTimeout (connection churn).
    maxIdle: o.pool.maxIdle ?? 0,
    idleTimeout: o.pool.idleTimeoutMs,
    ...(o.pool.connectTimeoutMs === undefined ? {} : { connectTimeout: o.pool.connectTimeoutMs }),
  });
  if (o.ignorePoolErrors) pool.on('error', () => {});
  return pool;
}

/** mysql2 through `createPool` from `@dbcreds/mysql2`, driven by its promise API. */
export const mysql2: LibraryEntry = {
  name: 'mysql2',
  packages: ['@dbcreds/mysql2'],
  engines: ['mysql'],
  peers: {},
  async connect(o) {
    const pool = (await mysql2Pool(o)).promise();
    type Queryable = Pick<typeof pool, 'query'>;
    const rows = (q: Queryable) => async (sql: string, params?: unknown[]) =>
      (await q.query<RowDataPacket[]>(sql, params))[0];
    return {
      query: sqlWorkload(o.engine, o.workload, rows(pool)),
      async transaction(body) {
        const conn = await pool.getConnection();
        const tx = {
          begin: () => conn.beginTransaction(),
          commit: () => conn.commit(),
          rollback: () => conn.rollback(),
        };
        await inTransaction({ ...tx, release: () => conn.release() }, () =>
          body(sqlWorkload(o.engine, o.workload, rows(conn), true)),
        );
      },
      close: () => pool.end(),
      inspectables: () => [pool],
    };
  },
};

import { sqlWorkload } from './sql.js';
import type { LibraryEntry } from './types.js';

/** postgres.js through `createSql` from `@dbcreds/postgres-js` (its own `sql`; raw SQL with `sql.unsafe`). */
export const postgresJs: LibraryEntry = {
  name: 'postgres-js',
  packages: ['@dbcreds/postgres-js'],
  engines: ['postgres'],
  peers: { any: ['postgres'] },
  async connect(o) {
    const { createSql } = await import('@dbcreds/postgres-js');
    const sql = createSql(o.source, {
      ...(o.host === undefined ? {} : { host: o.host }),
      port: o.port,
      database: o.database,
      max: o.pool.max,
      idle_timeout: o.pool.idleTimeoutMs / 1000, // seconds
      ...(o.pool.connectTimeoutMs === undefined ? {} : { connect_timeout: o.pool.connectTimeoutMs / 1000 }),
      onnotice: () => {},
    });
    type Unsafe = Pick<typeof sql, 'unsafe'>;
    const rows = (q: Unsafe) => async (text: string, params?: unknown[]) =>
      (await q.unsafe(text, params as never[])) as unknown as Array<Record<string, unknown>>;
    return {
      query: sqlWorkload(o.engine, o.workload, rows(sql)),
      // sql.begin reserves one connection and runs BEGIN … COMMIT on it.
      async transaction(body) {
        await sql.begin((tx) => body(sqlWorkload(o.engine, o.workload, rows(tx), true)));
      },
      close: () => sql.end({ timeout: 5 }),
      inspectables: () => [sql, sql.options],
    };
  },
};

import type { Knex } from 'knex';
import { noteOf } from './sql.js';
import type { LibraryClientOptions, LibraryEntry, NoteInput } from './types.js';

/** The workload through knex: raw SQL for `select-1` / `current-user`, the query builder for `notes`. */
function work(db: Knex | Knex.Transaction, o: LibraryClientOptions, inTx: boolean) {
  const pg = o.engine === 'postgres';
  return async (note?: NoteInput): Promise<unknown> => {
    if (o.workload === 'select-1') return db.raw('SELECT 1');
    if (o.workload === 'current-user') {
      // In a transaction the query builder (`first`), outside raw SQL: both are knex's own API.
      if (inTx) return ((await db.first(db.raw('current_user as u'))) as { u: string }).u;
      const result = await db.raw('select current_user as u');
      return pg ? result.rows[0].u : result[0][0].u;
    }
    const { author, body } = noteOf(note);
    await db('notes').insert({ author, body });
    if (inTx) return db('notes').where({ author }).count({ n: '*' });
    return db('notes').select('id', 'body').where({ author }).orderBy('id', 'desc').limit(5);
  };
}

/** knex through `withRotatingCredentials` from `@dbcreds/knex` (client pg or mysql2). */
export const knex: LibraryEntry = {
  name: 'knex',
  packages: ['@dbcreds/knex'],
  engines: ['postgres', 'mysql'],
  peers: { any: ['knex', '@dbcreds/knex'] },
  async connect(o) {
    const knexModule = await import('knex');
    // knex 3 is CommonJS only (no detectable named exports); under vite, knex 2.5 resolves to its knex.mjs.
    const create = knexModule.knex ?? (knexModule.default as unknown as typeof knexModule.knex);
    const { withRotatingCredentials } = await import('@dbcreds/knex');
    const quiet = () => {};
    const db = create(
      withRotatingCredentials(
        {
          client: o.engine === 'postgres' ? 'pg' : 'mysql2',
          connection: { host: o.host, port: o.port, database: o.database },
          pool: {
            min: 0,
            max: o.pool.max,
            idleTimeoutMillis: o.pool.idleTimeoutMs,
            reapIntervalMillis: o.pool.reapIntervalMs ?? 100,
          },
          // knex warns "Connection Error" for every idle connection a load terminates on purpose.
          log: { warn: quiet, error: quiet, deprecate: quiet, debug: quiet },
        },
        o.source,
      ),
    );
    return {
      query: work(db, o, false),
      transaction: (body) => db.transaction((trx) => body(work(trx, o, true))),
      close: () => db.destroy(),
      // knex re-hides mysql2's config.password as a non-configurable value itself (README, Caveats).
      inspectables: () => (o.engine === 'postgres' ? [db, db.client] : []),
    };
  },
};

import type { Generated, Kysely as KyselyDb, Transaction } from 'kysely';
import { mysql2Pool } from './mysql2.js';
import { pgPool } from './pg.js';
import { noteOf } from './sql.js';
import type { LibraryEntry, NoteInput } from './types.js';

interface Database {
  notes: { id: Generated<number>; author: string; body: string };
}

/** Kysely's PostgresDialect over the `@dbcreds/pg` pool, or its MysqlDialect over the `@dbcreds/mysql2` pool. */
export const kysely: LibraryEntry = {
  name: 'kysely',
  packages: ['@dbcreds/pg', '@dbcreds/mysql2'],
  engines: ['postgres', 'mysql'],
  peers: { any: ['kysely'] },
  async connect(o) {
    const { Kysely, MysqlDialect, PostgresDialect, sql } = await import('kysely');
    const dialect =
      o.engine === 'postgres'
        ? new PostgresDialect({ pool: await pgPool(o) })
        : new MysqlDialect({ pool: await mysql2Pool(o) });
    const db = new Kysely<Database>({ dialect });
    const currentUser = o.engine === 'postgres' ? sql<string>`current_user` : sql<string>`current_user()`;
    const work = (q: KyselyDb<Database> | Transaction<Database>, inTx: boolean) => async (note?: NoteInput) => {
      if (o.workload === 'select-1') return sql`SELECT 1`.execute(q);
      if (o.workload === 'current-user') return (await q.selectNoFrom(currentUser.as('u')).executeTakeFirstOrThrow()).u;
      const { author, body } = noteOf(note);
      await q.insertInto('notes').values({ author, body }).execute();
      if (inTx) {
        return q
          .selectFrom('notes')
          .select((eb) => eb.fn.countAll().as('n'))
          .where('author', '=', author)
          .execute();
      }
      return q
        .selectFrom('notes')
        .select(['id', 'body'])
        .where('author', '=', author)
        .orderBy('id', 'desc')
        .limit(5)
        .execute();
    };
    return {
      query: work(db, false),
      transaction: (body) => db.transaction().execute((trx) => body(work(trx, true))),
      close: () => db.destroy(),
      inspectables: () => [db],
    };
  },
};

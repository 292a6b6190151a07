import { mysql2Pool } from './mysql2.js';
import { pgPool } from './pg.js';
import { noteOf } from './sql.js';
import type { LibraryEntry, NoteInput } from './types.js';

/** Drizzle over the `@dbcreds/pg` pool (node-postgres driver) or the `@dbcreds/mysql2` pool (mysql2 driver). */
export const drizzle: LibraryEntry = {
  name: 'drizzle',
  packages: ['@dbcreds/pg', '@dbcreds/mysql2'],
  engines: ['postgres', 'mysql'],
  peers: { any: ['drizzle-orm'] },
  async connect(o) {
    const { count, desc, eq, sql } = await import('drizzle-orm');
    // The node-postgres and mysql2 databases and tables differ in type only: one set of queries serves both.
    let db: any;
    let notes: any;
    let close: () => Promise<void>;
    let inspectables: () => unknown[];
    if (o.engine === 'postgres') {
      const { pgTable, serial, text } = await import('drizzle-orm/pg-core');
      const pool = await pgPool(o);
      db = (await import('drizzle-orm/node-postgres')).drizzle(pool);
      notes = pgTable('notes', { id: serial('id').primaryKey(), author: text('author'), body: text('body') });
      close = () => pool.end();
      inspectables = () => [pool];
    } else {
      const { int, mysqlTable, varchar } = await import('drizzle-orm/mysql-core');
      const pool = await mysql2Pool(o);
      db = (await import('drizzle-orm/mysql2')).drizzle(pool);
      const column = (name: string) => varchar(name, { length: 255 });
      notes = mysqlTable('notes', {
        id: int('id').autoincrement().primaryKey(),
        author: column('author'),
        body: column('body'),
      });
      close = () => pool.promise().end();
      inspectables = () => [pool];
    }
    const currentUser = o.engine === 'postgres' ? sql`select current_user as u` : sql`select current_user() as u`;
    const work = (q: any, inTx: boolean) => async (note?: NoteInput) => {
      if (o.workload === 'select-1') return q.execute(sql`SELECT 1`);
      if (o.workload === 'current-user') {
        const result = await q.execute(currentUser);
        // node-postgres answers { rows }, mysql2 [rows, fields]
        return String((o.engine === 'postgres' ? result.rows : result[0])[0].u);
      }
      const { author, body } = noteOf(note);
      await q.insert(notes).values({ author, body });
      if (inTx) return q.select({ n: count() }).from(notes).where(eq(notes.author, author));
      return q
        .select({ id: notes.id, body: notes.body })
        .from(notes)
        .where(eq(notes.author, author))
        .orderBy(desc(notes.id))
        .limit(5);
    };
    return {
      query: work(db, false),
      // db.transaction checks a connection out of the pool and runs BEGIN … COMMIT on it.
      transaction: (body) => db.transaction((tx: unknown) => body(work(tx, true))),
      close,
      inspectables,
    };
  },
};

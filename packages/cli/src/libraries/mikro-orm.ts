import type { EntityManager } from '@mikro-orm/core';
import { type NoteRow, noteOf } from './sql.js';
import type { LibraryEntry, NoteInput } from './types.js';

/** MikroORM through `withRotatingCredentials` from `@dbcreds/mikro-orm` (PostgreSqlDriver or MySqlDriver). */
export const mikroOrm: LibraryEntry = {
  name: 'mikro-orm',
  packages: ['@dbcreds/mikro-orm'],
  engines: ['postgres', 'mysql'],
  peers: {
    any: ['@mikro-orm/core', '@dbcreds/mikro-orm'],
    postgres: ['@mikro-orm/postgresql'],
    mysql: ['@mikro-orm/mysql'],
  },
  async connect(o) {
    const { EntitySchema, MikroORM } = await import('@mikro-orm/core');
    const { withRotatingCredentials } = await import('@dbcreds/mikro-orm');
    const Note = new EntitySchema<NoteRow>({
      name: 'Note',
      tableName: 'notes',
      properties: {
        id: { type: 'number', primary: true, autoincrement: true },
        author: { type: 'string' },
        body: { type: 'string' },
      },
    });
    const common = {
      host: o.host,
      port: o.port,
      dbName: o.database,
      entities: [Note],
      pool: { min: 0, max: o.pool.max, idleTimeoutMillis: o.pool.idleTimeoutMs },
      debug: false,
    };
    const orm =
      o.engine === 'postgres'
        ? await MikroORM.init(
            withRotatingCredentials(
              { driver: (await import('@mikro-orm/postgresql')).PostgreSqlDriver, ...common },
              o.source,
            ),
          )
        : await MikroORM.init(
            withRotatingCredentials({ driver: (await import('@mikro-orm/mysql')).MySqlDriver, ...common }, o.source),
          );
    const currentUser = o.engine === 'postgres' ? 'select current_user as u' : 'select current_user() as u';
    // `em`: a transaction's fork (queries run in its transaction), or undefined for a fresh fork per call.
    const work = (tx: EntityManager | undefined) => async (note?: NoteInput) => {
      const conn = orm.em.getConnection();
      const ctx = tx?.getTransactionContext();
      if (o.workload === 'select-1') return conn.execute('SELECT 1', [], 'all', ctx);
      if (o.workload === 'current-user')
        return ((await conn.execute(currentUser, [], 'all', ctx)) as Array<{ u: string }>)[0]!.u;
      const { author, body } = noteOf(note);
      const em = tx ?? orm.em.fork();
      em.create(Note, { author, body });
      await em.flush();
      if (tx) return em.count(Note, { author });
      return em.find(Note, { author }, { orderBy: { id: 'desc' }, limit: 5 });
    };
    return {
      query: work(undefined),
      transaction: (body) => orm.em.fork().transactional((em) => body(work(em))),
      close: () => orm.close(true),
      inspectables: () => [orm.config.getAll(), orm.em.getConnection()],
    };
  },
};

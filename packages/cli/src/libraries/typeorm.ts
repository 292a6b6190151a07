import type { DataSource, EntityManager } from 'typeorm';
import { type NoteRow, noteOf } from './sql.js';
import type { LibraryEntry, NoteInput } from './types.js';

/** TypeORM through `withRotatingCredentials` from `@dbcreds/typeorm` (type postgres or mysql). */
export const typeorm: LibraryEntry = {
  name: 'typeorm',
  packages: ['@dbcreds/typeorm'],
  engines: ['postgres', 'mysql'],
  peers: { any: ['typeorm', '@dbcreds/typeorm'] },
  async connect(o) {
    const { DataSource, EntitySchema } = await import('typeorm');
    const { withRotatingCredentials } = await import('@dbcreds/typeorm');
    const Note = new EntitySchema<NoteRow>({
      name: 'Note',
      tableName: 'notes',
      columns: {
        id: { type: Number, primary: true, generated: true },
        author: { type: String },
        body: { type: String },
      },
    });
    const common = { host: o.host, port: o.port, database: o.database, entities: [Note], poolSize: o.pool.max };
    const ds: DataSource = new DataSource(
      o.engine === 'postgres'
        ? withRotatingCredentials(
            { type: 'postgres', ...common, extra: { idleTimeoutMillis: o.pool.idleTimeoutMs } },
            o.source,
          )
        : withRotatingCredentials(
            {
              type: 'mysql',
              ...common,
              extra: { maxIdle: o.pool.maxIdle ?? 0, idleTimeout: o.pool.idleTimeoutMs },
            },
            o.source,
          ),
    );
    await ds.initialize();
    const work = (em: EntityManager, inTx: boolean) => async (note?: NoteInput) => {
      if (o.workload === 'select-1') return em.query('SELECT 1');
      if (o.workload === 'current-user')
        return ((await em.query('SELECT CURRENT_USER AS u')) as Array<{ u: string }>)[0]!.u;
      const { author, body } = noteOf(note);
      await em.insert(Note, { author, body });
      if (inTx) return em.count(Note, { where: { author } });
      return em.find(Note, { where: { author }, order: { id: 'DESC' }, take: 5 });
    };
    return {
      query: work(ds.manager, false),
      transaction: (body) => ds.transaction((em) => body(work(em, true))),
      close: () => ds.destroy(),
      inspectables: () => [ds, ds.driver],
    };
  },
};

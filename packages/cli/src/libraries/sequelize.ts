import type { Transaction } from 'sequelize';
import { noteOf, sqlWorkload } from './sql.js';
import type { LibraryEntry, NoteInput } from './types.js';

/** Sequelize through `withRotatingCredentials` from `@dbcreds/sequelize` (dialect postgres or mysql). */
export const sequelize: LibraryEntry = {
  name: 'sequelize',
  packages: ['@dbcreds/sequelize'],
  engines: ['postgres', 'mysql'],
  peers: { any: ['sequelize', '@dbcreds/sequelize'] },
  async connect(o) {
    const { DataTypes, QueryTypes, Sequelize } = await import('sequelize');
    const { withRotatingCredentials } = await import('@dbcreds/sequelize');
    // The first driver connections, for a leak audit (a churning pool has evicted most of them by then).
    const connections: unknown[] = [];
    const dialect = o.engine === 'postgres' ? 'postgres' : 'mysql';
    const timeout = o.pool.connectTimeoutMs;
    const db = new Sequelize(
      withRotatingCredentials(
        {
          dialect,
          host: o.host,
          port: o.port,
          database: o.database,
          pool: { min: 0, max: o.pool.max, idle: o.pool.idleTimeoutMs, evict: o.pool.reapIntervalMs ?? 100 },
          ...(timeout === undefined
            ? {}
            : {
                dialectOptions:
                  o.engine === 'postgres' ? { connectionTimeoutMillis: timeout } : { connectTimeout: timeout },
              }),
          logging: false,
          hooks: { afterConnect: (c: unknown) => void (connections.length < 20 && connections.push(c)) },
        },
        o.source,
      ),
    );
    const Note = db.define(
      'Note',
      {
        id: { type: DataTypes.INTEGER, primaryKey: true, autoIncrement: true },
        author: DataTypes.STRING,
        body: DataTypes.STRING,
      },
      { tableName: 'notes', timestamps: false },
    );
    const work = (transaction: Transaction | undefined) => {
      if (o.workload !== 'notes') {
        const run = (sql: string) => db.query<Record<string, unknown>>(sql, { type: QueryTypes.SELECT, transaction });
        return sqlWorkload(o.engine, o.workload, run);
      }
      return async (note?: NoteInput) => {
        const { author, body } = noteOf(note);
        await Note.create({ author, body }, { transaction });
        if (transaction) return Note.count({ where: { author }, transaction });
        return Note.findAll({ attributes: ['id', 'body'], where: { author }, order: [['id', 'DESC']], limit: 5 });
      };
    };
    return {
      query: work(undefined),
      transaction: (body) => db.transaction((t) => body(work(t))),
      close: () => db.close(),
      inspectables: () => [db, ...connections],
    };
  },
};

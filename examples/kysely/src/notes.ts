import type { CredentialSource } from '@dbcreds/core';
import { createPool as createMysqlPool } from '@dbcreds/mysql2';
import { createPool as createPgPool } from '@dbcreds/pg';
import type { NotesStore } from 'dbcreds/testing';
import { type Generated, Kysely, MysqlDialect, PostgresDialect, sql } from 'kysely';

interface Database {
  notes: { id: Generated<number>; author: string; body: string };
}

/**
 * The notes table through Kysely. The dialect is handed a @dbcreds/pg or @dbcreds/mysql2 pool,
 * whose every new connection takes its credentials from `source`.
 */
export function createNotesStore(source: CredentialSource, engine: 'postgres' | 'mysql'): NotesStore {
  // host, port and database come from the secret unless given here
  const dialect =
    engine === 'postgres'
      ? new PostgresDialect({ pool: createPgPool(source, { max: 10, idleTimeoutMillis: 30_000 }) })
      : new MysqlDialect({ pool: createMysqlPool(source, { connectionLimit: 10, maxIdle: 2, idleTimeout: 60_000 }) });
  const db = new Kysely<Database>({ dialect });
  return {
    list: (limit) =>
      db.selectFrom('notes').select(['id', 'author', 'body']).orderBy('id', 'desc').limit(limit).execute(),
    async create(note) {
      if (engine === 'postgres') {
        return await db.insertInto('notes').values(note).returning('id').executeTakeFirstOrThrow();
      }
      const { insertId } = await db.insertInto('notes').values(note).executeTakeFirstOrThrow();
      return { id: Number(insertId) };
    },
    async whoami() {
      const user = engine === 'postgres' ? sql<string>`current_user` : sql<string>`current_user()`;
      return (await db.selectNoFrom(user.as('u')).executeTakeFirstOrThrow()).u;
    },
    close: () => db.destroy(), // ends the pool
  };
}

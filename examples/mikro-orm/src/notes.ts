import type { CredentialSource } from '@dbcreds/core';
import { withRotatingCredentials } from '@dbcreds/mikro-orm';
import { EntitySchema, MikroORM } from '@mikro-orm/core';
import { MySqlDriver } from '@mikro-orm/mysql';
import { PostgreSqlDriver } from '@mikro-orm/postgresql';
import type { NotesStore } from 'dbcreds/testing';

interface Note {
  id: number;
  author: string;
  body: string;
}

const NoteEntity = new EntitySchema<Note>({
  name: 'Note',
  tableName: 'notes',
  properties: {
    id: { type: 'number', primary: true, autoincrement: true },
    author: { type: 'string' },
    body: { type: 'string' },
  },
});

/** The notes table through MikroORM; every new connection takes its credentials from `source`. */
export async function createNotesStore(source: CredentialSource, engine: 'postgres' | 'mysql'): Promise<NotesStore> {
  // MikroORM validates dbName before connecting: take it from the secret (host and port follow it too)
  const { dbname } = await source.get();
  const options = { dbName: dbname, entities: [NoteEntity], pool: { min: 0, max: 10 } };
  const orm =
    engine === 'postgres'
      ? await MikroORM.init(withRotatingCredentials({ driver: PostgreSqlDriver, ...options }, source))
      : await MikroORM.init(withRotatingCredentials({ driver: MySqlDriver, ...options }, source));
  return {
    async list(limit) {
      const notes = await orm.em.fork().find(NoteEntity, {}, { orderBy: { id: 'desc' }, limit });
      return notes.map(({ id, author, body }) => ({ id, author, body }));
    },
    async create(note) {
      const em = orm.em.fork();
      const entity = em.create(NoteEntity, note);
      await em.flush();
      return { id: entity.id };
    },
    async whoami() {
      const sql = engine === 'postgres' ? 'SELECT current_user AS u' : 'SELECT CURRENT_USER() AS u';
      const rows = (await orm.em.getConnection().execute(sql)) as Array<{ u: string }>;
      return rows[0]!.u;
    },
    close: () => orm.close(),
  };
}

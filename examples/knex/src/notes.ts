import type { CredentialSource } from '@dbcreds/core';
import { withRotatingCredentials } from '@dbcreds/knex';
import type { NotesStore } from 'dbcreds/testing';
import knex from 'knex';

/** The notes table through knex; every new connection takes its credentials from `source`. */
export function createNotesStore(source: CredentialSource, engine: 'postgres' | 'mysql'): NotesStore {
  const db = knex(
    withRotatingCredentials(
      {
        client: engine === 'postgres' ? 'pg' : 'mysql2',
        // host, port and database come from the secret unless given here
        pool: { min: 0, max: 10 },
      },
      source,
    ),
  );
  return {
    list: (limit) => db('notes').select('id', 'author', 'body').orderBy('id', 'desc').limit(limit),
    async create(note) {
      if (engine === 'postgres') {
        const [row] = await db('notes').insert(note).returning('id');
        return { id: row.id };
      }
      const [id] = await db('notes').insert(note);
      return { id: id! };
    },
    async whoami() {
      const sql = engine === 'postgres' ? 'SELECT current_user AS u' : 'SELECT CURRENT_USER() AS u';
      const result = await db.raw(sql);
      return engine === 'postgres' ? result.rows[0].u : result[0][0].u;
    },
    close: () => db.destroy(),
  };
}

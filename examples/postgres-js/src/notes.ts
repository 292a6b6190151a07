import type { CredentialSource } from '@dbcreds/core';
import { createSql } from '@dbcreds/postgres-js';
import type { NotesStore } from 'dbcreds/testing';

interface Note {
  id: number;
  author: string;
  body: string;
}

/** The notes table through postgres.js; every new connection takes its credentials from `source`. */
export function createNotesStore(source: CredentialSource): NotesStore {
  // host, port and database come from the secret unless given here; idle_timeout is in seconds
  const sql = createSql(source, { max: 10, idle_timeout: 30 });
  return {
    list: (limit) => sql<Note[]>`select id, author, body from notes order by id desc limit ${limit}`,
    async create({ author, body }) {
      const [row] = await sql<Array<{ id: number }>>`insert into notes ${sql({ author, body })} returning id`;
      return { id: row!.id };
    },
    whoami: async () => (await sql<Array<{ u: string }>>`select current_user as u`)[0]!.u,
    close: () => sql.end({ timeout: 5 }),
  };
}

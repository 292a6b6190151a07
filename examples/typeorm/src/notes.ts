import type { CredentialSource } from '@dbcreds/core';
import { withRotatingCredentials } from '@dbcreds/typeorm';
import type { NotesStore } from 'dbcreds/testing';
import { DataSource, EntitySchema } from 'typeorm';

interface Note {
  id: number;
  author: string;
  body: string;
}

const NoteEntity = new EntitySchema<Note>({
  name: 'Note',
  tableName: 'notes',
  columns: {
    id: { type: Number, primary: true, generated: true },
    author: { type: String },
    body: { type: String },
  },
});

/** The notes table through TypeORM; every new connection takes its credentials from `source`. */
export async function createNotesStore(source: CredentialSource, engine: 'postgres' | 'mysql'): Promise<NotesStore> {
  // host, port and database come from the secret unless given here
  const dataSource = new DataSource(
    withRotatingCredentials({ type: engine, entities: [NoteEntity], poolSize: 10 }, source),
  );
  await dataSource.initialize();
  const notes = dataSource.getRepository(NoteEntity);
  return {
    list: (limit) => notes.find({ order: { id: 'DESC' }, take: limit }),
    async create(note) {
      const saved = await notes.save(notes.create(note));
      return { id: saved.id };
    },
    async whoami() {
      const rows = await dataSource.query(
        engine === 'postgres' ? 'SELECT current_user AS u' : 'SELECT CURRENT_USER() AS u',
      );
      return rows[0].u;
    },
    close: () => dataSource.destroy(),
  };
}

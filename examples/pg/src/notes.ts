import type { CredentialSource } from '@dbcreds/core';
import { createPool } from '@dbcreds/pg';
import type { NotesStore } from 'dbcreds/testing';

/** The notes table through a pg Pool; every new connection takes its credentials from `source`. */
export function createNotesStore(source: CredentialSource): NotesStore {
  // host, port and database come from the secret unless given here
  const pool = createPool(source, { max: 10, idleTimeoutMillis: 30_000 });
  pool.on('error', (err) => console.warn('idle client closed by the server:', (err as { code?: string }).code));
  return {
    async list(limit) {
      const { rows } = await pool.query('SELECT id, author, body FROM notes ORDER BY id DESC LIMIT $1', [limit]);
      return rows;
    },
    async create({ author, body }) {
      const { rows } = await pool.query('INSERT INTO notes (author, body) VALUES ($1, $2) RETURNING id', [
        author,
        body,
      ]);
      return { id: rows[0].id };
    },
    async whoami() {
      const { rows } = await pool.query('SELECT current_user AS u');
      return rows[0].u;
    },
    close: () => pool.end(),
  };
}

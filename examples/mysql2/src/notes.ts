import type { CredentialSource } from '@dbcreds/core';
import { createPool } from '@dbcreds/mysql2';
import type { NotesStore } from 'dbcreds/testing';
import type { ResultSetHeader, RowDataPacket } from 'mysql2';

/** The notes table through a mysql2 pool; every new connection takes its credentials from `source`. */
export function createNotesStore(source: CredentialSource): NotesStore {
  // host, port and database come from the secret unless given here
  const pool = createPool(source, { connectionLimit: 10, maxIdle: 2, idleTimeout: 60_000 }).promise();
  return {
    async list(limit) {
      const [rows] = await pool.query<RowDataPacket[]>('SELECT id, author, body FROM notes ORDER BY id DESC LIMIT ?', [
        limit,
      ]);
      return rows.map((r) => ({ id: r.id, author: r.author, body: r.body }));
    },
    async create({ author, body }) {
      const [result] = await pool.execute<ResultSetHeader>('INSERT INTO notes (author, body) VALUES (?, ?)', [
        author,
        body,
      ]);
      return { id: result.insertId };
    },
    async whoami() {
      const [rows] = await pool.query<RowDataPacket[]>('SELECT CURRENT_USER() AS u');
      return rows[0]!.u;
    },
    close: () => pool.end(),
  };
}

import type { LibraryEngine, LibraryWorkload, NoteInput } from './types.js';

/** A row of the `notes` table, for the ORMs' entity schemas. */
export interface NoteRow {
  id: number;
  author: string;
  body: string;
}

/** Runs one SQL statement through a library's raw query API and resolves to its rows. */
export type RunSql = (sql: string, params?: unknown[]) => Promise<Array<Record<string, unknown>>>;

/** The `notes` workload needs the note to write; a missing one is a caller's bug. */
export function noteOf(note: NoteInput | undefined): NoteInput {
  if (!note) throw new TypeError("the 'notes' workload's query takes the note to write");
  return note;
}

/**
 * The workload as SQL, for libraries whose own API is raw SQL (pg, mysql2, Sequelize's `query`):
 * `inTransaction` picks the transaction flavour of `notes` (a write and a count).
 */
export function sqlWorkload(
  engine: LibraryEngine,
  workload: LibraryWorkload,
  run: RunSql,
  inTransaction = false,
): (note?: NoteInput) => Promise<unknown> {
  const p = engine === 'postgres' ? (i: number) => `$${i}` : () => '?';
  switch (workload) {
    case 'select-1':
      return () => run('SELECT 1');
    case 'current-user': {
      const sql = engine === 'postgres' ? 'SELECT current_user AS u' : 'SELECT CURRENT_USER() AS u';
      return async () => String((await run(sql))[0]!.u);
    }
    case 'notes':
      return async (note) => {
        const { author, body } = noteOf(note);
        await run(`INSERT INTO notes (author, body) VALUES (${p(1)}, ${p(2)})`, [author, body]);
        return inTransaction
          ? await run(`SELECT count(*) AS n FROM notes WHERE author = ${p(1)}`, [author])
          : await run(`SELECT id, body FROM notes WHERE author = ${p(1)} ORDER BY id DESC LIMIT 5`, [author]);
      };
  }
}

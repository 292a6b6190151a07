import type { CredentialSource } from '@dbcreds/core';
import { createPool as createMysqlPool } from '@dbcreds/mysql2';
import { createPool as createPgPool } from '@dbcreds/pg';
import { createSql } from '@dbcreds/postgres-js';
import type { NotesStore } from 'dbcreds/testing';
import { desc, sql } from 'drizzle-orm';
import { drizzle as drizzleMysql } from 'drizzle-orm/mysql2';
import { int, mysqlTable, varchar } from 'drizzle-orm/mysql-core';
import { drizzle as drizzlePg } from 'drizzle-orm/node-postgres';
import { pgTable, serial, text } from 'drizzle-orm/pg-core';
import { drizzle as drizzlePostgresJs } from 'drizzle-orm/postgres-js';

const pgNotes = pgTable('notes', {
  id: serial('id').primaryKey(),
  author: text('author').notNull(),
  body: text('body').notNull(),
});
const mysqlNotes = mysqlTable('notes', {
  id: int('id').autoincrement().primaryKey(),
  author: varchar('author', { length: 64 }).notNull(),
  body: varchar('body', { length: 255 }).notNull(),
});

/** Drizzle's PostgreSQL drivers this example runs on: node-postgres (`pg`) or postgres.js (`postgres`). */
export type PgDriver = 'node-postgres' | 'postgres-js';

/**
 * The notes table through Drizzle. Drizzle has no pool of its own: it is handed a @dbcreds/pg pool, a
 * @dbcreds/postgres-js sql or a @dbcreds/mysql2 pool, whose every new connection takes its credentials
 * from `source`.
 */
export function createNotesStore(
  source: CredentialSource,
  engine: 'postgres' | 'mysql',
  driver: PgDriver = 'node-postgres',
): NotesStore {
  // host, port and database come from the secret unless given here
  if (engine === 'postgres' && driver === 'postgres-js') {
    const client = createSql(source, { max: 10, idle_timeout: 30 }); // idle_timeout in seconds
    const db = drizzlePostgresJs(client);
    return {
      list: (limit) => db.select().from(pgNotes).orderBy(desc(pgNotes.id)).limit(limit),
      async create(note) {
        const [row] = await db.insert(pgNotes).values(note).returning({ id: pgNotes.id });
        return { id: row!.id };
      },
      whoami: async () => String((await db.execute<{ u: string }>(sql`select current_user as u`))[0]!.u),
      close: () => client.end({ timeout: 5 }),
    };
  }
  if (engine === 'postgres') {
    const pool = createPgPool(source, { max: 10, idleTimeoutMillis: 30_000 });
    const db = drizzlePg(pool);
    return {
      list: (limit) => db.select().from(pgNotes).orderBy(desc(pgNotes.id)).limit(limit),
      async create(note) {
        const [row] = await db.insert(pgNotes).values(note).returning({ id: pgNotes.id });
        return { id: row!.id };
      },
      whoami: async () => String((await db.execute<{ u: string }>(sql`select current_user as u`)).rows[0]!.u),
      close: () => pool.end(),
    };
  }
  const pool = createMysqlPool(source, { connectionLimit: 10, maxIdle: 2, idleTimeout: 60_000 });
  const db = drizzleMysql(pool); // wraps the callback pool with pool.promise()
  return {
    list: (limit) => db.select().from(mysqlNotes).orderBy(desc(mysqlNotes.id)).limit(limit),
    async create(note) {
      const [result] = await db.insert(mysqlNotes).values(note);
      return { id: result.insertId };
    },
    async whoami() {
      const [rows] = (await db.execute(sql`select current_user() as u`)) as unknown as [Array<{ u: string }>];
      return rows[0]!.u;
    },
    close: () => pool.promise().end(),
  };
}

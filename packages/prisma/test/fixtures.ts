import { type Admin, type EngineName, serverFor } from '@dbcreds/testbed';
import { PrismaClient as MysqlPrismaClient } from './generated/mysql/client.ts';
import { PrismaClient as PgPrismaClient } from './generated/postgres/client.ts';

export { MysqlPrismaClient, PgPrismaClient };
export type AnyPrismaClient = InstanceType<typeof PgPrismaClient> | InstanceType<typeof MysqlPrismaClient>;

const DDL: Record<EngineName, string[]> = {
  postgres: [
    'CREATE TABLE IF NOT EXISTS dbcreds_prisma_item (id SERIAL PRIMARY KEY, name VARCHAR(100) NOT NULL)',
    'GRANT ALL ON TABLE dbcreds_prisma_item TO PUBLIC',
    'GRANT ALL ON SEQUENCE dbcreds_prisma_item_id_seq TO PUBLIC',
    'CREATE OR REPLACE VIEW dbcreds_prisma_whoami AS SELECT current_user::text AS u',
    'GRANT SELECT ON dbcreds_prisma_whoami TO PUBLIC',
  ],
  mysql: [
    'CREATE TABLE IF NOT EXISTS ??.dbcreds_prisma_item (id INT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(100) NOT NULL)',
    // INVOKER: CURRENT_USER() is the querying user, not the view's definer.
    'CREATE SQL SECURITY INVOKER VIEW IF NOT EXISTS ??.dbcreds_prisma_whoami AS SELECT CURRENT_USER() AS u',
  ],
};

/** Creates the test schema (idempotent; test files run in parallel, so one concurrent-DDL failure is retried). */
export async function createSchema(admin: Admin): Promise<void> {
  const db = serverFor(admin.engine).database;
  for (const sql of DDL[admin.engine]) {
    const params = admin.engine === 'mysql' ? [db] : [];
    await admin.exec(sql, params).catch(() => admin.exec(sql, params));
  }
}

/** current_user through a model call (the whoami view) or a raw query: `user` (PostgreSQL) / `user@host` (MySQL). */
export async function whoami(client: Pick<AnyPrismaClient, '$queryRaw'>, via: 'model' | 'raw'): Promise<string> {
  if (via === 'model') {
    const row = await (client as any).whoami.findFirst();
    return row.u;
  }
  const rows = await client.$queryRaw<Array<{ u: string }>>`SELECT CURRENT_USER AS u`;
  return rows[0]!.u;
}

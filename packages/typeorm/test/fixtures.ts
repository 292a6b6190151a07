import { type Admin, serverFor } from '@dbcreds/testbed';
import * as typeorm from 'typeorm';
import { type DataSource, type EntityManager, EntitySchema } from 'typeorm';

/** A view returning the connection's current user: repository calls prove which login a pooled connection used. */
export const Whoami = new EntitySchema<{ u: string }>({
  name: 'Whoami',
  tableName: 'dbcreds_typeorm_whoami',
  columns: { u: { type: String, primary: true } },
});

/** A view returning the connection's user and client port (`SESSION_SQL`): which replication node served a repository read. */
export const Session = new EntitySchema<{ u: string; p: string }>({
  name: 'Session',
  tableName: 'dbcreds_typeorm_session',
  columns: { u: { type: String, primary: true }, p: { type: String } },
});

/** A plain table for repository writes. */
export const Item = new EntitySchema<{ id: number; name: string }>({
  name: 'Item',
  tableName: 'dbcreds_typeorm_item',
  columns: { id: { type: Number, primary: true, generated: true }, name: { type: String, length: 100 } },
});

const DDL = {
  postgres: [
    'CREATE TABLE IF NOT EXISTS dbcreds_typeorm_item (id SERIAL PRIMARY KEY, name VARCHAR(100) NOT NULL)',
    'GRANT ALL ON TABLE dbcreds_typeorm_item TO PUBLIC',
    'GRANT ALL ON SEQUENCE dbcreds_typeorm_item_id_seq TO PUBLIC',
    'CREATE OR REPLACE VIEW dbcreds_typeorm_whoami AS SELECT current_user::text AS u',
    'GRANT SELECT ON dbcreds_typeorm_whoami TO PUBLIC',
    'CREATE OR REPLACE VIEW dbcreds_typeorm_session AS SELECT current_user::text AS u, inet_client_port()::text AS p',
    'GRANT SELECT ON dbcreds_typeorm_session TO PUBLIC',
  ],
  mysql: [
    'CREATE TABLE IF NOT EXISTS ??.dbcreds_typeorm_item (id INT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(100) NOT NULL)',
    // INVOKER: CURRENT_USER() is the querying user, not the view's definer.
    'CREATE SQL SECURITY INVOKER VIEW IF NOT EXISTS ??.dbcreds_typeorm_whoami AS SELECT CURRENT_USER() AS u',
    "CREATE SQL SECURITY INVOKER VIEW IF NOT EXISTS ??.dbcreds_typeorm_session AS SELECT CURRENT_USER() AS u, SUBSTRING_INDEX(host, ':', -1) AS p FROM information_schema.processlist WHERE id = CONNECTION_ID()",
  ],
};

/**
 * Creates the test schema (idempotent). Test files run in parallel: on PostgreSQL the DDL runs as one
 * transaction under an advisory lock (concurrent `CREATE TABLE IF NOT EXISTS … SERIAL` can fail, or leave
 * the loser without the `_id_seq` it grants on); on MariaDB one concurrent-DDL failure is retried.
 */
export async function createSchema(admin: Admin): Promise<void> {
  if (admin.engine === 'postgres') {
    // One simple-protocol query (no parameters): several statements, one session.
    await admin.exec(['BEGIN', 'SELECT pg_advisory_xact_lock(726874)', ...DDL.postgres, 'COMMIT'].join(';\n'));
    return;
  }
  const params = [serverFor('mysql').database];
  for (const sql of DDL.mysql) await admin.exec(sql, params).catch(() => admin.exec(sql, params));
}

/** The TypeORM line under test: '0.3' (vitest.typeorm03.config.ts) or '1' (default). */
export const TYPEORM_LINE = typeof (typeorm as Record<string, unknown>).createConnection === 'function' ? '0.3' : '1';

/** BEGIN … COMMIT on a QueryRunner (the master with replication); rolls back on error. */
export async function inTransaction(
  dataSource: DataSource,
  body: (manager: EntityManager) => Promise<void>,
): Promise<void> {
  const runner = dataSource.createQueryRunner();
  try {
    await runner.connect();
    await runner.startTransaction();
    await body(runner.manager);
    await runner.commitTransaction();
  } catch (err) {
    if (runner.isTransactionActive) await runner.rollbackTransaction();
    throw err;
  } finally {
    await runner.release();
  }
}

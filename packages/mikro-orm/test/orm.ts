import type { CredentialSource, CredentialSourceOptions } from '@dbcreds/core';
import { withRotatingCredentials } from '@dbcreds/mikro-orm';
import type { EngineName } from '@dbcreds/testbed';
import { EntitySchema, MikroORM } from '@mikro-orm/core';
import { MySqlDriver } from '@mikro-orm/mysql';
import { PostgreSqlDriver } from '@mikro-orm/postgresql';

export interface Note {
  id: number;
  body: string;
}

/** A fresh entity schema on its own table (other suites share the run's database). */
export function noteSchema(tableName: string): EntitySchema<Note> {
  return new EntitySchema<Note>({
    name: 'Note',
    tableName,
    properties: { id: { type: 'number', primary: true, autoincrement: true }, body: { type: 'string' } },
  });
}

/** `MikroORM.init(withRotatingCredentials({ driver, dbName, entities, … }, source))` for the engine. */
export async function initOrm(
  engine: EngineName,
  source: CredentialSource | CredentialSourceOptions,
  opts: { dbName: string; host?: string; port?: number; entity: EntitySchema<Note>; pool?: object },
): Promise<MikroORM> {
  const { dbName, host, port, entity, pool } = opts;
  const common = { dbName, host, port, entities: [entity], pool, debug: false };
  return engine === 'postgres'
    ? await MikroORM.init(withRotatingCredentials({ driver: PostgreSqlDriver, ...common }, source))
    : await MikroORM.init(withRotatingCredentials({ driver: MySqlDriver, ...common }, source));
}

/** `current_user` through MikroORM's own connection API (inside `ctx`'s transaction when given). */
export async function currentUser(orm: MikroORM, engine: EngineName, ctx?: unknown): Promise<string> {
  const sql = engine === 'postgres' ? 'select current_user as u' : 'select current_user() as u';
  const rows = (await orm.em.getConnection().execute(sql, [], 'all', ctx)) as Array<{ u: string }>;
  return rows[0]!.u;
}

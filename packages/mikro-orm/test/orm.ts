import type { CredentialSource, CredentialSourceOptions } from '@dbcreds/core';
import { withRotatingCredentials } from '@dbcreds/mikro-orm';
import type { EngineName } from '@dbcreds/testbed';
import { EntitySchema, MikroORM, Utils } from '@mikro-orm/core';
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

/** The MikroORM major under test: 7, or 6 under vitest.mikroorm6.config.ts (which sets the expectation). */
export const ormMajor = (): string => Utils.getORMVersion().split('.')[0]!;
export const expectedMajor = process.env.DBCREDS_EXPECT_MIKRO_ORM ?? '7';

/** The schema generator's create/drop under both majors (v7 `create`/`drop`, v6 `createSchema`/`dropSchema`). */
export function schema(orm: MikroORM): { create(): Promise<void>; drop(): Promise<void> } {
  const gen = orm.schema as unknown as Record<string, () => Promise<void>>;
  return ormMajor() === '6'
    ? { create: () => gen.createSchema!.call(gen), drop: () => gen.dropSchema!.call(gen) }
    : { create: () => gen.create!.call(gen), drop: () => gen.drop!.call(gen) };
}

/** What holds the physical connections: v7's native pool, v6's knex instance. */
export async function nativeClient(orm: MikroORM): Promise<object> {
  const conn = orm.em.getConnection() as unknown as { getKnex?: () => object; getNativeClient(): Promise<object> };
  return ormMajor() === '6' ? conn.getKnex!() : await conn.getNativeClient();
}

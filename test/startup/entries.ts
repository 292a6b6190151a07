/**
 * Every entry point a new app awaits first, each against an unreachable Secrets Manager
 * (AWS_ENDPOINT_URL_SECRETS_MANAGER, set by the parent test) and an unreachable database: run by
 * child.mts (top-level await) and child.cts (then callbacks), spawned by startup-exit.test.ts.
 */
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type { CredentialSourceOptions } from '@dbcreds/core';

/** The ORMs resolve from their adapter packages' folders (the test bed does not depend on them). */
const from = (pkg: string) =>
  createRequire(fileURLToPath(new URL(`../../packages/${pkg}/package.json`, import.meta.url)));

export interface Entry {
  /** The call an app awaits first. */
  run(): Promise<unknown>;
  /** What the app's `finally` would close. */
  close(): Promise<unknown>;
}

/** Small budgets: three attempts with backoff waits (the unref'd timers the bug was about) in well under a second. */
export function sourceOptions(): CredentialSourceOptions {
  return {
    secretId: 'startup/db',
    clientConfig: { region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } },
    attemptTimeoutMs: 2_000,
    retry: { maxAttempts: 3, baseDelayMs: 100, maxDelayMs: 100 },
  };
}

/** Each case loads only its own adapter and library (a child's startup is most of its run time). */
export async function entry(name: string, db: { host: string; port: number }): Promise<Entry> {
  const src = sourceOptions();
  const endpoint = { host: db.host, port: db.port, database: 'app' };
  const none = async () => undefined;
  switch (name) {
    case 'core': {
      const { createCredentialSource } = await import('@dbcreds/core');
      const source = createCredentialSource(src);
      return { run: () => source.get(), close: async () => source.close() };
    }
    case 'pg.query': {
      const pool = (await import('@dbcreds/pg')).createPool(src, endpoint);
      return { run: () => pool.query('select 1'), close: () => pool.end() };
    }
    case 'pg.connect': {
      const pool = (await import('@dbcreds/pg')).createPool(src, endpoint);
      return { run: () => pool.connect(), close: () => pool.end() };
    }
    case 'mysql2': {
      const pool = (await import('@dbcreds/mysql2')).createPool(src, endpoint).promise();
      return { run: () => pool.query('select 1'), close: () => pool.end() };
    }
    case 'mariadb': {
      const pool = (await import('@dbcreds/mariadb')).createPool(src, endpoint);
      return { run: () => pool.query('select 1'), close: () => pool.end() };
    }
    case 'knex': {
      const knex = from('knex')('knex') as typeof import('knex').knex;
      const { withRotatingCredentials } = await import('@dbcreds/knex');
      const db = knex(withRotatingCredentials({ client: 'pg', connection: endpoint }, src));
      return { run: () => db.raw('select 1'), close: () => db.destroy() };
    }
    case 'typeorm': {
      const { DataSource } = from('typeorm')('typeorm') as {
        DataSource: new (o: object) => { initialize(): Promise<unknown> };
      };
      const { withRotatingCredentials } = await import('@dbcreds/typeorm');
      const ds = new DataSource(withRotatingCredentials({ type: 'postgres', ...endpoint }, src));
      return { run: () => ds.initialize(), close: none };
    }
    case 'sequelize': {
      const { Sequelize } = from('sequelize')('sequelize') as {
        Sequelize: new (o: object) => { authenticate(): Promise<unknown>; close(): Promise<unknown> };
      };
      const { withRotatingCredentials } = await import('@dbcreds/sequelize');
      const seq = new Sequelize(withRotatingCredentials({ dialect: 'postgres', ...endpoint, logging: false }, src));
      return { run: () => seq.authenticate(), close: () => seq.close() };
    }
    case 'mikro-orm': {
      const req = from('mikro-orm');
      type Orm = { em: { getConnection(): { execute(sql: string): Promise<unknown> } }; close(): Promise<unknown> };
      const { MikroORM, EntitySchema } = req('@mikro-orm/core') as {
        MikroORM: { init(o: object): Promise<Orm> };
        EntitySchema: new (o: object) => object;
      };
      const { PostgreSqlDriver } = req('@mikro-orm/postgresql') as { PostgreSqlDriver: never };
      const entity = new EntitySchema({ name: 'Note', properties: { id: { type: 'number', primary: true } } });
      const { withRotatingCredentials } = await import('@dbcreds/mikro-orm');
      const options = withRotatingCredentials(
        { driver: PostgreSqlDriver, dbName: 'app', ...db, entities: [entity] },
        src,
      );
      // MikroORM 7's init() does not connect: the first query does.
      let orm: Orm | undefined;
      return {
        run: async () => {
          orm = await MikroORM.init(options);
          return orm.em.getConnection().execute('select 1');
        },
        close: async () => orm?.close(),
      };
    }
    case 'prisma': {
      const { PrismaClient } = await import('../../packages/prisma/test/generated/postgres/client.ts');
      const { withRotatingCredentials } = await import('@dbcreds/prisma');
      const prisma = new PrismaClient(withRotatingCredentials({}, src, { provider: 'postgres', ...endpoint }));
      return { run: () => prisma.$queryRaw`select 1`, close: () => prisma.$disconnect() };
    }
    default:
      throw new Error(`unknown entry ${name}`);
  }
}

export const ENTRIES = [
  'core',
  'pg.query',
  'pg.connect',
  'mysql2',
  'mariadb',
  'knex',
  'typeorm',
  'sequelize',
  'mikro-orm',
  'prisma',
] as const;

/** What the rejection handler saw: the chain of errors (`cause`, Sequelize's `parent`): name, code, whether it names ECONNREFUSED. */
export function describeRejection(err: unknown): Array<{ name: string; code?: string; refused: boolean }> {
  const chain: Array<{ name: string; code?: string; refused: boolean }> = [];
  type Link = { name?: string; code?: unknown; message?: unknown; cause?: unknown; parent?: unknown };
  for (let e = err as Link | undefined; e; ) {
    chain.push({
      name: String(e.name),
      ...(typeof e.code === 'string' ? { code: e.code } : {}),
      refused: String(e.message).includes('ECONNREFUSED'),
    });
    if (chain.length > 8) break;
    e = (e.cause ?? e.parent) as typeof e;
  }
  return chain;
}

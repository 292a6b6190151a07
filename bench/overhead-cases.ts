/**
 * The pairs of the overhead benchmark: for each driver pool and ORM, the plain library with a fixed
 * user/password ("raw") and the same library through dbcreds (its client from the catalog of libraries,
 * `dbcreds/testing`), with the same pool settings. Every side answers `SELECT 1` through the library's own
 * query API.
 */
import type { SecretsManagerClientConfig } from '@aws-sdk/client-secrets-manager';
import { type LibraryClient, type LibraryClientOptions, libraryByName } from 'dbcreds/testing';
import mysql from 'mysql2';
import pg from 'pg';
import type { DrillEngine, DrillServer } from './drill-servers.js';

export type Mode = 'steady' | 'churn';

/** What every side of a pair is built from. */
export interface CaseContext {
  engine: DrillEngine;
  server: DrillServer;
  login: { username: string; password: string };
  /** Source options for the dbcreds side (each side builds and owns its source). */
  source: { secretId: string; clientConfig: SecretsManagerClientConfig };
  mode: Mode;
  /** Pool size (16: one connection per concurrent query). */
  poolMax: number;
  /** Idle timeout in ms: long in steady mode, short in churn mode. */
  idleTimeoutMs: number;
}

export interface OverheadCase {
  id: string;
  engine: DrillEngine;
  /** Why a mode is not measured for this case (then `build` is not called for it). */
  skip?: Partial<Record<Mode, string>>;
  raw(ctx: CaseContext): Promise<LibraryClient>;
  dbcreds(ctx: CaseContext): Promise<LibraryClient>;
}

/** The dbcreds side's client options: the pair's pool shape, `SELECT 1`. */
function clientOptions(ctx: CaseContext): LibraryClientOptions {
  return {
    engine: ctx.engine,
    source: ctx.source,
    ...endpoint(ctx),
    pool: {
      max: ctx.poolMax,
      idleTimeoutMs: ctx.idleTimeoutMs,
      // mysql2: maxIdle 0 closes every connection idle for idleTimeout (churn); steady keeps them all.
      maxIdle: ctx.mode === 'churn' ? 0 : ctx.poolMax,
      reapIntervalMs: Math.min(1000, ctx.idleTimeoutMs),
    },
    workload: 'select-1',
    ignorePoolErrors: true,
  };
}

/** The dbcreds side of a pair: the catalog's client of `library`. */
const viaCatalog = (library: string) => (ctx: CaseContext) => libraryByName(library).connect(clientOptions(ctx));

const silence = (pool: { on(e: 'error', l: () => void): unknown }) => pool.on('error', () => {});

const endpoint = (ctx: CaseContext) => ({
  host: ctx.server.host,
  port: ctx.server.port,
  database: ctx.server.database,
});

function pgPoolConfig(ctx: CaseContext): pg.PoolConfig {
  return { ...endpoint(ctx), max: ctx.poolMax, idleTimeoutMillis: ctx.idleTimeoutMs };
}

function mysqlPoolOptions(ctx: CaseContext): mysql.PoolOptions {
  // maxIdle 0 closes every connection idle for idleTimeout (churn); steady keeps them all.
  return {
    ...endpoint(ctx),
    connectionLimit: ctx.poolMax,
    maxIdle: ctx.mode === 'churn' ? 0 : ctx.poolMax,
    idleTimeout: ctx.idleTimeoutMs,
  };
}

const pgPool: OverheadCase = {
  id: 'pg',
  engine: 'postgres',
  async raw(ctx) {
    const pool = new pg.Pool({ ...pgPoolConfig(ctx), user: ctx.login.username, password: ctx.login.password });
    silence(pool);
    return { query: () => pool.query('SELECT 1'), close: () => pool.end() };
  },
  dbcreds: viaCatalog('pg'),
};

const mysql2Pool: OverheadCase = {
  id: 'mysql2',
  engine: 'mysql',
  async raw(ctx) {
    const pool = mysql.createPool({ ...mysqlPoolOptions(ctx), user: ctx.login.username, password: ctx.login.password });
    silence(pool);
    const p = pool.promise();
    return { query: () => p.query('SELECT 1'), close: () => p.end() };
  },
  dbcreds: viaCatalog('mysql2'),
};

/**
 * The noise floor: the plain pool against a second plain pool, same settings, measured exactly as a
 * pair. Its ratio is what this machine reports for zero overhead; read the other pairs against it.
 */
function control(of: OverheadCase): OverheadCase {
  return { id: `control (${of.id} vs ${of.id})`, engine: of.engine, raw: of.raw, dbcreds: of.raw };
}

function knexCase(engine: DrillEngine): OverheadCase {
  const client = engine === 'postgres' ? 'pg' : 'mysql2';
  const pool = (ctx: CaseContext) => ({
    min: 0,
    max: ctx.poolMax,
    idleTimeoutMillis: ctx.idleTimeoutMs,
    reapIntervalMillis: Math.min(1000, ctx.idleTimeoutMs),
  });
  const side = async (k: import('knex').Knex): Promise<LibraryClient> => ({
    query: () => k.raw('SELECT 1'),
    close: () => k.destroy(),
  });
  return {
    id: `knex (${client})`,
    engine,
    async raw(ctx) {
      const { default: knex } = await import('knex');
      const connection = { ...endpoint(ctx), user: ctx.login.username, password: ctx.login.password };
      return side(knex({ client, connection, pool: pool(ctx) }));
    },
    dbcreds: viaCatalog('knex'),
  };
}

function typeormCase(engine: DrillEngine): OverheadCase {
  const options = (ctx: CaseContext) => ({
    ...endpoint(ctx),
    poolSize: ctx.poolMax,
    extra:
      engine === 'postgres'
        ? { idleTimeoutMillis: ctx.idleTimeoutMs }
        : { maxIdle: ctx.mode === 'churn' ? 0 : ctx.poolMax, idleTimeout: ctx.idleTimeoutMs },
  });
  const type = engine === 'postgres' ? ('postgres' as const) : ('mysql' as const);
  const side = async (ds: import('typeorm').DataSource): Promise<LibraryClient> => {
    await ds.initialize();
    return { query: () => ds.query('SELECT 1'), close: () => ds.destroy() };
  };
  return {
    id: `TypeORM (${type})`,
    engine,
    async raw(ctx) {
      const { DataSource } = await import('typeorm');
      return side(
        new DataSource({ type, ...options(ctx), username: ctx.login.username, password: ctx.login.password } as never),
      );
    },
    dbcreds: viaCatalog('typeorm'),
  };
}

function mikroOrmCase(engine: DrillEngine): OverheadCase {
  const load = async () => {
    const { EntitySchema, MikroORM } = await import('@mikro-orm/core');
    const driver =
      engine === 'postgres'
        ? (await import('@mikro-orm/postgresql')).PostgreSqlDriver
        : (await import('@mikro-orm/mysql')).MySqlDriver;
    const entity = new EntitySchema({
      name: 'BenchNote',
      tableName: 'bench_note',
      properties: { id: { type: 'number', primary: true } },
    });
    return { MikroORM, driver, entity };
  };
  const options = (ctx: CaseContext, driver: unknown, entity: unknown) => ({
    driver,
    dbName: ctx.server.database,
    host: ctx.server.host,
    port: ctx.server.port,
    entities: [entity],
    pool: { min: 0, max: ctx.poolMax, idleTimeoutMillis: ctx.idleTimeoutMs },
    debug: false,
  });
  const side = (orm: import('@mikro-orm/core').MikroORM): LibraryClient => ({
    query: () => orm.em.getConnection().execute('SELECT 1'),
    close: () => orm.close(true),
  });
  return {
    id: `MikroORM (${engine === 'postgres' ? 'pg' : 'mysql2'})`,
    engine,
    async raw(ctx) {
      const { MikroORM, driver, entity } = await load();
      const opts = { ...options(ctx, driver, entity), user: ctx.login.username, password: ctx.login.password };
      return side(await MikroORM.init(opts as never));
    },
    dbcreds: viaCatalog('mikro-orm'),
  };
}

type AnyPrisma = { $queryRaw(q: TemplateStringsArray): Promise<unknown>; $disconnect(): Promise<void> };
/** One of two generated clients, whose option types differ. */
type PrismaCtor = new (o: any) => AnyPrisma;

function prismaCase(engine: DrillEngine): OverheadCase {
  // The generated clients the catalog's Prisma entry uses (the dbcreds side), so both sides run the same client.
  const client = async (): Promise<PrismaCtor> =>
    engine === 'postgres'
      ? (await import('../packages/cli/src/demo/generated/postgres/client.ts')).PrismaClient
      : (await import('../packages/cli/src/demo/generated/mysql/client.ts')).PrismaClient;
  const side = (prisma: AnyPrisma): LibraryClient => ({
    query: () => prisma.$queryRaw`SELECT 1`,
    close: () => prisma.$disconnect(),
  });
  return {
    id: `Prisma (${engine === 'postgres' ? 'adapter-pg' : 'adapter-mariadb'})`,
    engine,
    async raw(ctx) {
      const Client = await client();
      const login = { user: ctx.login.username, password: ctx.login.password };
      if (engine === 'postgres') {
        const { PrismaPg } = await import('@prisma/adapter-pg');
        return side(new Client({ adapter: new PrismaPg({ ...pgPoolConfig(ctx), ...login }) }));
      }
      const { PrismaMariaDb } = await import('@prisma/adapter-mariadb');
      const { MARIADB_POOL_DEFAULTS } = await import('@dbcreds/mariadb');
      // The catalog's idle timeout (mariadb's is in seconds), so both sides churn alike.
      const idleTimeout = Math.max(1, Math.round(ctx.idleTimeoutMs / 1000));
      const config = {
        ...MARIADB_POOL_DEFAULTS,
        ...endpoint(ctx),
        ...login,
        connectionLimit: ctx.poolMax,
        idleTimeout,
      };
      return side(new Client({ adapter: new PrismaMariaDb(config) }));
    },
    dbcreds: viaCatalog('prisma'),
  };
}

/** postgres.js: plain `postgres()` against the catalog's `createSql` client. */
const postgresJsCase: OverheadCase = {
  id: 'postgres-js',
  engine: 'postgres',
  async raw(ctx) {
    const { default: postgres } = await import('postgres');
    const sql = postgres({ ...postgresJsOptions(ctx), user: ctx.login.username, pass: ctx.login.password });
    return { query: () => sql`select 1`, close: () => sql.end() };
  },
  dbcreds: viaCatalog('postgres-js'),
};

function postgresJsOptions(ctx: CaseContext) {
  return { ...endpoint(ctx), max: ctx.poolMax, idle_timeout: ctx.idleTimeoutMs / 1000, onnotice: () => {} };
}

export const ALL_CASES: OverheadCase[] = [
  control(pgPool),
  pgPool,
  control(mysql2Pool),
  mysql2Pool,
  knexCase('postgres'),
  knexCase('mysql'),
  typeormCase('postgres'),
  typeormCase('mysql'),
  mikroOrmCase('postgres'),
  mikroOrmCase('mysql'),
  prismaCase('postgres'),
  prismaCase('mysql'),
  control(postgresJsCase),
  postgresJsCase,
];

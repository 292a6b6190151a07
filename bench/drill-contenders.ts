/**
 * The contenders of the rotation drill: each one reproduces how users wire that approach today.
 * bench/README.md explains what each reproduces and why. Every contender gets the same pool
 * shape (max connections, short idle timeout) and issues `SELECT 1` through its own query API.
 */
import type { SecretsManagerClientConfig } from '@aws-sdk/client-secrets-manager';
import { LIBRARY_NAMES, type LibraryClient, libraryByName } from 'dbcreds/testing';
import mysql from 'mysql2';
import pg from 'pg';
import type { DrillEngine, DrillServer } from './drill-servers.js';

/** What a contender needs to build its pool. */
export interface ContenderContext {
  engine: DrillEngine;
  server: DrillServer;
  secretId: string;
  /** Points the AWS SDK at the local Secrets Manager. */
  clientConfig: SecretsManagerClientConfig & {
    endpoint: string;
    region: string;
    credentials: { accessKeyId: string; secretAccessKey: string };
  };
  /** The credentials as read once at startup (what a naive app would put in its config). */
  initial: { username: string; password: string };
  pool: { max: number; idleTimeoutMs: number; connectTimeoutMs: number };
}

export interface ContenderSpec {
  id: string;
  label: string;
  /** A client whose `query()` is one round trip (`SELECT 1`) through the contender's own query API. */
  create(ctx: ContenderContext): Promise<LibraryClient>;
}

function silence(pool: { on(event: 'error', listener: (err: Error) => void): unknown }): void {
  // A killed idle session makes pg/mysql2 pools emit 'error'; without a listener the process dies.
  pool.on('error', () => {});
}

function naivePg(ctx: ContenderContext): LibraryClient {
  const pool = new pg.Pool({
    host: ctx.server.host,
    port: ctx.server.port,
    database: ctx.server.database,
    user: ctx.initial.username,
    password: ctx.initial.password,
    max: ctx.pool.max,
    idleTimeoutMillis: ctx.pool.idleTimeoutMs,
    connectionTimeoutMillis: ctx.pool.connectTimeoutMs,
  });
  silence(pool);
  return {
    query: async () => {
      await pool.query('SELECT 1');
    },
    close: () => pool.end(),
  };
}

function mysqlPoolOptions(ctx: ContenderContext, user: string, password: string): mysql.PoolOptions {
  return {
    host: ctx.server.host,
    port: ctx.server.port,
    database: ctx.server.database,
    user,
    password,
    connectionLimit: ctx.pool.max,
    // maxIdle 0 + idleTimeout: idle connections are closed after idleTimeout (connection churn).
    maxIdle: 0,
    idleTimeout: ctx.pool.idleTimeoutMs,
    connectTimeout: ctx.pool.connectTimeoutMs,
  };
}

function naiveMysql(ctx: ContenderContext): LibraryClient {
  const pool = mysql.createPool(mysqlPoolOptions(ctx, ctx.initial.username, ctx.initial.password));
  silence(pool);
  const p = pool.promise();
  return {
    query: async () => {
      await p.query('SELECT 1');
    },
    close: () => p.end(),
  };
}

/** 1. naive: the secret is read once at startup and baked into the pool config. */
export const naive: ContenderSpec = {
  id: 'naive',
  label: 'naive (secret read once)',
  create: async (ctx) => (ctx.engine === 'postgres' ? naivePg(ctx) : naiveMysql(ctx)),
};

/**
 * 2. AWS Lambda Powertools `@aws-lambda-powertools/parameters`: `getSecret(id, { maxAge, transform })`
 * is `DEFAULT_PROVIDERS.secrets.get(id, options)`; we build the same `SecretsProvider` with a
 * `clientConfig` pointing at the local endpoint (the documented way to configure the client), one per
 * contender so caches never leak between runs. The cached value feeds every *new* connection
 * (pg's `password` callback / mysql2 pool's connection config); nothing refreshes on auth failure.
 */
export function powertools(maxAgeSeconds: number): ContenderSpec {
  return {
    id: `powertools-${maxAgeSeconds}s`,
    label: `Powertools getSecret maxAge=${maxAgeSeconds}s`,
    async create(ctx) {
      const { SecretsProvider } = await import('@aws-lambda-powertools/parameters/secrets');
      const provider = new SecretsProvider({ clientConfig: ctx.clientConfig });
      const read = async () => {
        const value = await provider.get<{ username: string; password: string }>(ctx.secretId, {
          maxAge: maxAgeSeconds,
          transform: 'json',
        });
        if (!value || typeof value !== 'object') throw new Error('secret is not JSON');
        return value;
      };
      if (ctx.engine === 'postgres') {
        const pool = new pg.Pool({
          host: ctx.server.host,
          port: ctx.server.port,
          database: ctx.server.database,
          user: ctx.initial.username, // pg's `user` is static; only `password` may be a function
          password: async () => (await read()).password,
          max: ctx.pool.max,
          idleTimeoutMillis: ctx.pool.idleTimeoutMs,
          connectionTimeoutMillis: ctx.pool.connectTimeoutMs,
        });
        silence(pool);
        return {
          query: async () => {
            await pool.query('SELECT 1');
          },
          close: () => pool.end(),
        };
      }
      // mysql2 has no password callback: copy the cached secret into the pool's connection config
      // before each acquire, so every new physical connection uses the cached value.
      const pool = mysql.createPool(mysqlPoolOptions(ctx, ctx.initial.username, ctx.initial.password));
      silence(pool);
      const p = pool.promise();
      // Runtime field of mysql2's Pool (not in its typings): the config each new connection copies.
      const { connectionConfig } = (pool as unknown as { config: { connectionConfig: Record<string, unknown> } })
        .config;
      return {
        query: async () => {
          const secret = await read();
          connectionConfig.user = secret.username;
          connectionConfig.password = secret.password;
          await p.query('SELECT 1');
        },
        close: () => p.end(),
      };
    },
  };
}

/**
 * 3. aws-advanced-nodejs-wrapper with the `secretsManager` plugin, through its own pool client
 * (`AwsPgPoolClient` / `AwsMySQLPoolClient` + `AwsPoolConfig`, the wrapper's documented pooling).
 * `secretEndpoint` / `secretRegion` are the plugin's property names (wrapper_property.js in 2.0.1).
 */
export const awsWrapper: ContenderSpec = {
  id: 'aws-wrapper',
  label: 'aws-advanced-nodejs-wrapper secretsManager',
  async create(ctx) {
    // The wrapper's winston logger reads LOG_LEVEL at import time; it would print every failed connect.
    process.env.LOG_LEVEL ??= 'off';
    // The plugin builds `new SecretsManagerClient({ region, endpoint })`: credentials come only from
    // the SDK's default chain (in production an IAM role), so give the chain dummy ones via env.
    process.env.AWS_ACCESS_KEY_ID ??= ctx.clientConfig.credentials.accessKeyId;
    process.env.AWS_SECRET_ACCESS_KEY ??= ctx.clientConfig.credentials.secretAccessKey;
    const { AwsPoolConfig } = await import('aws-advanced-nodejs-wrapper');
    const poolConfig = new AwsPoolConfig({
      maxConnections: ctx.pool.max,
      idleTimeoutMillis: ctx.pool.idleTimeoutMs,
      maxIdleConnections: 0,
    });
    const config = {
      host: ctx.server.host,
      port: ctx.server.port,
      database: ctx.server.database,
      secretId: ctx.secretId,
      secretRegion: ctx.clientConfig.region,
      secretEndpoint: ctx.clientConfig.endpoint,
      plugins: 'secretsManager',
      // The wrapper caches detected dialects per host *without the port* (DatabaseDialectManager);
      // PostgreSQL and MariaDB both live on 127.0.0.1 here, so name the dialect explicitly.
      dialect: ctx.engine === 'postgres' ? 'pg' : 'mysql',
      ...(ctx.engine === 'postgres'
        ? { connectionTimeoutMillis: ctx.pool.connectTimeoutMs }
        : { connectTimeout: ctx.pool.connectTimeoutMs }),
    };
    if (ctx.engine === 'postgres') {
      const { AwsPgPoolClient } = await import('aws-advanced-nodejs-wrapper/pg');
      const client = new AwsPgPoolClient(config, poolConfig);
      return {
        query: async () => {
          await client.query('SELECT 1');
        },
        close: () => client.end(),
      };
    }
    const { AwsMySQLPoolClient } = await import('aws-advanced-nodejs-wrapper/mysql');
    const client = new AwsMySQLPoolClient(config, poolConfig);
    return {
      query: async () => {
        await client.query({ sql: 'SELECT 1' });
      },
      close: () => client.end(),
    };
  },
};

/**
 * dbcreds through the catalog of libraries (`dbcreds/testing`): `library`'s client with the drill's pool shape,
 * defaults otherwise.
 */
function connectVia(library: string, ctx: ContenderContext): Promise<LibraryClient> {
  return libraryByName(library).connect({
    engine: ctx.engine,
    source: { secretId: ctx.secretId, clientConfig: ctx.clientConfig },
    host: ctx.server.host,
    port: ctx.server.port,
    database: ctx.server.database,
    pool: { max: ctx.pool.max, idleTimeoutMs: ctx.pool.idleTimeoutMs, connectTimeoutMs: ctx.pool.connectTimeoutMs },
    workload: 'select-1',
    ignorePoolErrors: true,
  });
}

const viaCatalog = (id: string, label: string, library: string): ContenderSpec => ({
  id,
  label,
  create: (ctx) => connectVia(library, ctx),
});

/** 4. dbcreds: `createPool(source, config)` from `@dbcreds/pg` / `@dbcreds/mysql2`, defaults otherwise. */
export const dbcreds: ContenderSpec = {
  id: 'dbcreds',
  label: 'dbcreds createPool',
  create: (ctx) => connectVia(ctx.engine === 'postgres' ? 'pg' : 'mysql2', ctx),
};

/** dbcreds through Drizzle (`drizzle(pool)` over the same pools): not in the default run. */
export const dbcredsDrizzle = viaCatalog('dbcreds-drizzle', 'dbcreds pool via Drizzle', 'drizzle');
/** dbcreds through Kysely (`PostgresDialect` / `MysqlDialect` over the same pools): not in the default run. */
export const dbcredsKysely = viaCatalog('dbcreds-kysely', 'dbcreds pool via Kysely', 'kysely');
/** dbcreds' Sequelize adapter (`withRotatingCredentials`, dialect postgres / mysql): not in the default run. */
export const dbcredsSequelize = viaCatalog('dbcreds-sequelize', 'dbcreds Sequelize adapter', 'sequelize');

/** The default run: dbcreds and its peers. */
export const ALL_CONTENDERS: ContenderSpec[] = [naive, powertools(300), powertools(5), awsWrapper, dbcreds];
/** dbcreds through the ORMs (`--contenders orms`, or by id): the same hooks as `dbcreds`, so opt-in to keep the default run short. */
export const ORM_CONTENDERS: ContenderSpec[] = [dbcredsSequelize, dbcredsDrizzle, dbcredsKysely];

export function contenderById(id: string): ContenderSpec {
  const m = /^powertools-(\d+)s$/.exec(id);
  if (m) return powertools(Number(m[1]));
  // Any library of the catalog by `dbcreds-<name>` (the ones without a constant above too).
  const library = /^dbcreds-(.+)$/.exec(id)?.[1];
  if (library && LIBRARY_NAMES.includes(library) && !ORM_CONTENDERS.some((c) => c.id === id)) {
    return viaCatalog(id, `dbcreds via ${library}`, library);
  }
  const known = [...ALL_CONTENDERS, ...ORM_CONTENDERS];
  const found = known.find((c) => c.id === id);
  if (!found) {
    throw new Error(`unknown contender ${JSON.stringify(id)}; known: ${known.map((c) => c.id).join(', ')}`);
  }
  return found;
}

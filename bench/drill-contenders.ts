/**
 * The contenders of the rotation drill: each one reproduces how users wire that approach today.
 * bench/README.md explains what each reproduces and why. Every contender gets the same pool
 * shape (max connections, short idle timeout) and issues `SELECT 1` through its own query API.
 */
import type { SecretsManagerClientConfig } from '@aws-sdk/client-secrets-manager';
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

export interface ContenderInstance {
  /** One round trip through the contender's own query API. */
  query(): Promise<void>;
  close(): Promise<void>;
}

export interface ContenderSpec {
  id: string;
  label: string;
  create(ctx: ContenderContext): Promise<ContenderInstance>;
}

function silence(pool: { on(event: 'error', listener: (err: Error) => void): unknown }): void {
  // A killed idle session makes pg/mysql2 pools emit 'error'; without a listener the process dies.
  pool.on('error', () => {});
}

function naivePg(ctx: ContenderContext): ContenderInstance {
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

function naiveMysql(ctx: ContenderContext): ContenderInstance {
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

type DbcredsPool =
  | { engine: 'postgres'; pool: import('@dbcreds/pg').RetryingPool }
  | { engine: 'mysql'; pool: mysql.Pool };

/** `createPool(source, config)` from `@dbcreds/pg` / `@dbcreds/mysql2` with the drill's pool shape, defaults otherwise. */
async function dbcredsPool(ctx: ContenderContext): Promise<DbcredsPool> {
  const source = { secretId: ctx.secretId, clientConfig: ctx.clientConfig };
  if (ctx.engine === 'postgres') {
    const { createPool } = await import('@dbcreds/pg');
    const pool = createPool(source, {
      host: ctx.server.host,
      port: ctx.server.port,
      database: ctx.server.database,
      max: ctx.pool.max,
      idleTimeoutMillis: ctx.pool.idleTimeoutMs,
      connectionTimeoutMillis: ctx.pool.connectTimeoutMs,
    });
    silence(pool);
    return { engine: 'postgres', pool };
  }
  const { createPool } = await import('@dbcreds/mysql2');
  const { user: _u, password: _p, ...options } = mysqlPoolOptions(ctx, '', '');
  const pool = createPool(source, options);
  silence(pool);
  return { engine: 'mysql', pool };
}

const endPool = (p: DbcredsPool): Promise<void> => (p.engine === 'postgres' ? p.pool.end() : p.pool.promise().end());

/** 4. dbcreds: `createPool(source, config)` from `@dbcreds/pg` / `@dbcreds/mysql2`, defaults otherwise. */
export const dbcreds: ContenderSpec = {
  id: 'dbcreds',
  label: 'dbcreds createPool',
  async create(ctx) {
    const p = await dbcredsPool(ctx);
    const query = p.engine === 'postgres' ? () => p.pool.query('SELECT 1') : () => p.pool.promise().query('SELECT 1');
    return {
      query: async () => {
        await query();
      },
      close: () => endPool(p),
    };
  },
};

/** dbcreds through Drizzle (`drizzle(pool)` over the same pools): not in the default run. */
export const dbcredsDrizzle: ContenderSpec = {
  id: 'dbcreds-drizzle',
  label: 'dbcreds pool via Drizzle',
  async create(ctx) {
    const { sql } = await import('drizzle-orm');
    const p = await dbcredsPool(ctx);
    let execute: () => Promise<unknown>;
    if (p.engine === 'postgres') {
      const db = (await import('drizzle-orm/node-postgres')).drizzle(p.pool);
      execute = () => db.execute(sql`SELECT 1`);
    } else {
      const db = (await import('drizzle-orm/mysql2')).drizzle(p.pool);
      execute = () => db.execute(sql`SELECT 1`);
    }
    return {
      query: async () => {
        await execute();
      },
      close: () => endPool(p),
    };
  },
};

/** dbcreds through Kysely (`PostgresDialect` / `MysqlDialect` over the same pools): not in the default run. */
export const dbcredsKysely: ContenderSpec = {
  id: 'dbcreds-kysely',
  label: 'dbcreds pool via Kysely',
  async create(ctx) {
    const { Kysely, MysqlDialect, PostgresDialect, sql } = await import('kysely');
    const p = await dbcredsPool(ctx);
    const dialect =
      p.engine === 'postgres' ? new PostgresDialect({ pool: p.pool }) : new MysqlDialect({ pool: p.pool });
    const db = new Kysely<Record<string, never>>({ dialect });
    return {
      query: async () => {
        await sql`SELECT 1`.execute(db);
      },
      close: () => db.destroy(),
    };
  },
};

/** dbcreds' Sequelize adapter (`withRotatingCredentials`, dialect postgres / mysql): not in the default run. */
export const dbcredsSequelize: ContenderSpec = {
  id: 'dbcreds-sequelize',
  label: 'dbcreds Sequelize adapter',
  async create(ctx) {
    const { Sequelize } = await import('sequelize');
    const { withRotatingCredentials } = await import('@dbcreds/sequelize');
    const sequelize = new Sequelize(
      withRotatingCredentials(
        {
          dialect: ctx.engine === 'postgres' ? 'postgres' : 'mysql',
          host: ctx.server.host,
          port: ctx.server.port,
          database: ctx.server.database,
          pool: { min: 0, max: ctx.pool.max, idle: ctx.pool.idleTimeoutMs, evict: 100 },
          dialectOptions:
            ctx.engine === 'postgres'
              ? { connectionTimeoutMillis: ctx.pool.connectTimeoutMs }
              : { connectTimeout: ctx.pool.connectTimeoutMs },
          logging: false,
        },
        { secretId: ctx.secretId, clientConfig: ctx.clientConfig },
      ),
    );
    return {
      query: async () => {
        await sequelize.query('SELECT 1');
      },
      close: () => sequelize.close(),
    };
  },
};

// postgres.js (issue #25; to move into the library catalog): by id only (`--contenders dbcreds-postgres-js`).
/** dbcreds' postgres.js adapter (`createSql`, the drill's pool shape): PostgreSQL only, not in the default run. */
export const dbcredsPostgresJs: ContenderSpec = {
  id: 'dbcreds-postgres-js',
  label: 'dbcreds postgres.js createSql',
  async create(ctx) {
    if (ctx.engine !== 'postgres') throw new Error('dbcreds-postgres-js: postgres.js speaks PostgreSQL only');
    const { createSql } = await import('@dbcreds/postgres-js');
    const sql = createSql(
      { secretId: ctx.secretId, clientConfig: ctx.clientConfig },
      {
        host: ctx.server.host,
        port: ctx.server.port,
        database: ctx.server.database,
        max: ctx.pool.max,
        idle_timeout: ctx.pool.idleTimeoutMs / 1000, // seconds
        connect_timeout: ctx.pool.connectTimeoutMs / 1000,
        onnotice: () => {},
      },
    );
    return {
      query: async () => {
        await sql`SELECT 1`;
      },
      close: () => sql.end({ timeout: 5 }),
    };
  },
};

/** The default run: dbcreds and its peers. */
export const ALL_CONTENDERS: ContenderSpec[] = [naive, powertools(300), powertools(5), awsWrapper, dbcreds];
/** dbcreds through the ORMs (`--contenders orms`, or by id): the same hooks as `dbcreds`, so opt-in to keep the default run short. */
export const ORM_CONTENDERS: ContenderSpec[] = [dbcredsSequelize, dbcredsDrizzle, dbcredsKysely];

export function contenderById(id: string): ContenderSpec {
  const m = /^powertools-(\d+)s$/.exec(id);
  if (m) return powertools(Number(m[1]));
  const known = [...ALL_CONTENDERS, ...ORM_CONTENDERS, dbcredsPostgresJs];
  const found = known.find((c) => c.id === id);
  if (!found) {
    throw new Error(`unknown contender ${JSON.stringify(id)}; known: ${known.map((c) => c.id).join(', ')}`);
  }
  return found;
}

import { ConfigurationError, type CredentialSource, type CredentialSourceOptions } from '@dbcreds/core';
import { checkOptions, forbidKeys, presentKeys } from '@dbcreds/core/adapter';
import type { DataSourceOptions } from 'typeorm';

export interface RotatingTypeOrmOptions {
  /**
   * Close the source when the DataSource is destroyed (its pool ends). Default: true when `source` was given
   * as options (each pool TypeORM builds then creates its own source), false for a `CredentialSource` passed in.
   */
  closeSource?: boolean;
}

type Loaded = { mod?: any; error?: unknown };
const load = (spec: Promise<any>): Promise<Loaded> =>
  spec.then(
    (mod) => ({ mod }),
    (error: unknown) => ({ error }),
  );
// Optional peers: a MySQL app need not install pg (and the reverse), so both are loaded lazily and
// an error is only raised for the engine actually configured.
const [pg, dbcredsPg, mysql2, dbcredsMysql2] = await Promise.all([
  load(import('pg')),
  load(import('@dbcreds/pg')),
  load(import('mysql2')),
  load(import('@dbcreds/mysql2')),
]);

const SUPPORTED_TYPES = ['postgres', 'mysql', 'mariadb'];
/** Options that would carry credentials: they always come from the secret. */
const CREDENTIAL_KEYS = ['username', 'password', 'url'];
const EXTRA_CREDENTIAL_KEYS = ['user', 'username', 'password', 'connectionString', 'uri'];
/** Options this package sets or cannot honour. */
const UNSUPPORTED_KEYS = ['driver', 'replication', 'nativeDriver', 'connectorPackage'];

/**
 * Returns TypeORM `DataSource` options whose connections authenticate with the credentials of
 * `source` (re-read after an authentication failure, with one retry per connection attempt).
 * User and password always come from the secret; explicit `host`, `port` and `database` win over
 * the secret's. Supported `type`s: `postgres` (needs `pg`), `mysql` and `mariadb` (need `mysql2`).
 */
export function withRotatingCredentials<T extends DataSourceOptions>(
  options: T,
  source: CredentialSource | CredentialSourceOptions,
  adapterOptions?: RotatingTypeOrmOptions,
): T {
  checkOptions('typeorm', adapterOptions ?? {}, 'the adapter options', { allowed: ['closeSource'] });
  checkOptions('typeorm', options, 'the TypeORM options');
  const opts = options as unknown as Record<string, unknown>;
  if (!SUPPORTED_TYPES.includes(opts.type as string)) {
    throw new ConfigurationError(
      `@dbcreds/typeorm: type must be ${SUPPORTED_TYPES.map((t) => `'${t}'`).join(', ')}; got '${String(opts.type)}'`,
      { keys: ['type'] },
    );
  }
  forbidKeys(
    'typeorm',
    [...presentKeys(opts, CREDENTIAL_KEYS), ...presentKeys(opts.extra as object, EXTRA_CREDENTIAL_KEYS, 'extra.')],
    'must not be set: user and password come from the secret (host, port and database may be set explicitly)',
  );
  forbidKeys(
    'typeorm',
    presentKeys(opts, UNSUPPORTED_KEYS),
    'is not supported (it supplies its own driver; for read replicas create one DataSource per endpoint and secret)',
  );
  // Source options go to the pool as they are: it creates the source and closes it on dataSource.destroy().
  const closeSource = adapterOptions?.closeSource;
  const driver = opts.type === 'postgres' ? pgDriver(source, closeSource) : mysqlDriver(source, closeSource);
  return { ...options, driver };
}

/** `pg` with `Pool` replaced: TypeORM runs `new driver.Pool(config)`; the pool takes user/password from the secret. */
function pgDriver(source: CredentialSource | CredentialSourceOptions, closeSource: boolean | undefined): unknown {
  const pgModule = required(pg, 'pg');
  const { createPool } = required(dbcredsPg, '@dbcreds/pg');
  function Pool(config: Record<string, unknown>) {
    return createPool(source, { ...driverConfig(config, ['user', 'password', 'connectionString']), closeSource });
  }
  // `native: undefined` keeps TypeORM from switching to pg-native (which would bypass the pool).
  return Object.create(pgModule, { Pool: { value: Pool }, native: { value: undefined } });
}

/** A copy of `mysql2` whose `createPool` returns a pool that takes user/password from the secret. */
function mysqlDriver(source: CredentialSource | CredentialSourceOptions, closeSource: boolean | undefined): unknown {
  const mysqlModule = required(mysql2, 'mysql2');
  const { createPool } = required(dbcredsMysql2, '@dbcreds/mysql2');
  return {
    ...mysqlModule,
    createPool: (config: Record<string, unknown>) =>
      createPool(source, { ...driverConfig(config, ['user', 'password', 'uri']), closeSource }),
  };
}

/** Drops credential keys (TypeORM always sets them, undefined here) and unset keys. */
function driverConfig(config: Record<string, unknown>, drop: string[]): Record<string, unknown> {
  return Object.fromEntries(Object.entries(config).filter(([k, v]) => v !== undefined && !drop.includes(k)));
}

function required(loaded: Loaded, name: string): any {
  if (loaded.error !== undefined) {
    throw new ConfigurationError(`@dbcreds/typeorm needs the package '${name}' for this database type`, {
      keys: ['type'],
      cause: loaded.error,
    });
  }
  return loaded.mod.default ?? loaded.mod;
}

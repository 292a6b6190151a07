import { ConfigurationError, type CredentialSource, type CredentialSourceOptions } from '@dbcreds/core';
import { checkOptions, forbidKeys, loadPeer, presentKeys } from '@dbcreds/core/adapter';
import type { DataSourceOptions } from 'typeorm';
import peerRequire from './require.cjs';

export interface RotatingTypeOrmOptions {
  /**
   * Close the source when the DataSource is destroyed (its pool ends). Default: true when `source` was given
   * as options (each pool TypeORM builds then creates its own source), false for a `CredentialSource` passed in.
   */
  closeSource?: boolean;
}

// Optional peers: a MySQL app need not install pg (and the reverse), so each is loaded (with this
// package's own require, synchronously: TypeORM builds its pool synchronously) for the engine configured.
const peer = (name: string): any =>
  loadPeer(peerRequire, name, '@dbcreds/typeorm', { keys: ['type'], why: 'for this database type' });

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
  const pgModule = peer('pg');
  const { createPool } = peer('@dbcreds/pg');
  function Pool(config: Record<string, unknown>) {
    return createPool(source, { ...driverConfig(config, ['user', 'password', 'connectionString']), closeSource });
  }
  // `native: undefined` keeps TypeORM from switching to pg-native (which would bypass the pool).
  return Object.create(pgModule, { Pool: { value: Pool }, native: { value: undefined } });
}

/** A copy of `mysql2` whose `createPool` returns a pool that takes user/password from the secret. */
function mysqlDriver(source: CredentialSource | CredentialSourceOptions, closeSource: boolean | undefined): unknown {
  const mysqlModule = peer('mysql2');
  const { createPool } = peer('@dbcreds/mysql2');
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

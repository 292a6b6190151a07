import { ConfigurationError, type CredentialSource, type CredentialSourceOptions } from '@dbcreds/core';
import { loadPeer } from '@dbcreds/core/adapter';
import type { DataSourceOptions } from 'typeorm';
import peerRequire from './require.cjs';

/** Reserved for future options; passing any key throws a `ConfigurationError`. */
export type RotatingTypeOrmOptions = Record<string, never>;

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
  const unknown = Object.keys(adapterOptions ?? {});
  if (unknown.length > 0) {
    throw new ConfigurationError(`Unknown @dbcreds/typeorm option(s): ${unknown.join(', ')}`, { keys: unknown });
  }
  if (options === null || typeof options !== 'object') {
    throw new ConfigurationError('TypeORM options must be an object', { keys: ['options'] });
  }
  const opts = options as unknown as Record<string, unknown>;
  if (!SUPPORTED_TYPES.includes(opts.type as string)) {
    throw new ConfigurationError(
      `@dbcreds/typeorm supports type ${SUPPORTED_TYPES.map((t) => `'${t}'`).join(', ')}; got '${String(opts.type)}'`,
      { keys: ['type'] },
    );
  }
  const credentialKeys = CREDENTIAL_KEYS.filter((k) => opts[k] !== undefined);
  const extra = (opts.extra ?? {}) as Record<string, unknown>;
  credentialKeys.push(...EXTRA_CREDENTIAL_KEYS.filter((k) => extra[k] !== undefined).map((k) => `extra.${k}`));
  if (credentialKeys.length > 0) {
    throw new ConfigurationError(
      `Remove ${credentialKeys.join(', ')} from the TypeORM options: user and password come from the secret ` +
        '(host, port and database may be set explicitly)',
      { keys: credentialKeys },
    );
  }
  const unsupported = UNSUPPORTED_KEYS.filter((k) => opts[k] !== undefined);
  if (unsupported.length > 0) {
    throw new ConfigurationError(
      `@dbcreds/typeorm does not support the TypeORM option(s) ${unsupported.join(', ')} ` +
        '(it supplies its own driver; for read replicas create one DataSource per endpoint and secret)',
      { keys: unsupported },
    );
  }
  // Source options go to the pool as they are: it creates the source and closes it on dataSource.destroy().
  const driver = opts.type === 'postgres' ? pgDriver(source) : mysqlDriver(source);
  return { ...options, driver };
}

/** `pg` with `Pool` replaced: TypeORM runs `new driver.Pool(config)`; the pool takes user/password from the secret. */
function pgDriver(source: CredentialSource | CredentialSourceOptions): unknown {
  const pgModule = peer('pg');
  const { createPool } = peer('@dbcreds/pg');
  function Pool(config: Record<string, unknown>) {
    return createPool(source, driverConfig(config, ['user', 'password', 'connectionString']));
  }
  // `native: undefined` keeps TypeORM from switching to pg-native (which would bypass the pool).
  return Object.create(pgModule, { Pool: { value: Pool }, native: { value: undefined } });
}

/** A copy of `mysql2` whose `createPool` returns a pool that takes user/password from the secret. */
function mysqlDriver(source: CredentialSource | CredentialSourceOptions): unknown {
  const mysqlModule = peer('mysql2');
  const { createPool } = peer('@dbcreds/mysql2');
  return {
    ...mysqlModule,
    createPool: (config: Record<string, unknown>) =>
      createPool(source, driverConfig(config, ['user', 'password', 'uri'])),
  };
}

/** Drops credential keys (TypeORM always sets them, undefined here) and unset keys. */
function driverConfig(config: Record<string, unknown>, drop: string[]): Record<string, unknown> {
  return Object.fromEntries(Object.entries(config).filter(([k, v]) => v !== undefined && !drop.includes(k)));
}

import { ConfigurationError, type CredentialSource, type CredentialSourceOptions } from '@dbcreds/core';
import { adoptSource, checkOptions, engineFamily, forbidKeys, loadPeer, presentKeys } from '@dbcreds/core/adapter';
import type { SqlDriverAdapterFactory } from '@prisma/client/runtime/client';
import peerRequire from './require.cjs';

/** An optional peer, loaded with this package's own require when first needed (ConfigurationError if missing). */
const peer = (name: string): any =>
  loadPeer(peerRequire, name, '@dbcreds/prisma', { keys: ['provider'], why: 'for this provider' });

export type PrismaProvider = 'postgres' | 'mysql';

export interface RotatingPrismaOptions {
  /** `'postgres'` (@prisma/adapter-pg) or `'mysql'` (@prisma/adapter-mariadb; MySQL and MariaDB). Default: the only installed adapter. */
  provider?: PrismaProvider;
  /** Explicit endpoint; each wins over the secret's `host` / `port` / `dbname`. */
  host?: string;
  port?: number;
  database?: string;
  /** Pool settings without endpoint or credentials: `pg.PoolConfig` (PostgreSQL) or mariadb `PoolConfig` (MySQL). */
  pool?: Record<string, unknown>;
  /** Options for `PrismaPg` / `PrismaMariaDb` (e.g. `schema`, `useTextProtocol`); `disposeExternalPool` is always true. */
  driverAdapter?: Record<string, unknown>;
  /**
   * Close the source when Prisma disconnects (`$disconnect()`; a later query reconnects with a new source).
   * Default: true when `source` was given as options (the adapter created it), false for a `CredentialSource`.
   */
  closeSource?: boolean;
}

const OPTION_KEYS = ['provider', 'host', 'port', 'database', 'pool', 'driverAdapter', 'closeSource'];
const CLIENT_KEYS = ['adapter', 'accelerateUrl', 'datasourceUrl', 'datasources', 'url', 'username', 'password'];
const POOL_KEYS = ['user', 'username', 'password', 'connectionString', 'uri', 'url', 'host', 'port', 'database'];

/**
 * Returns PrismaClient options with a driver adapter whose connections authenticate with the
 * credentials of `source` (re-read after an authentication failure; one retry per acquisition).
 */
export function withRotatingCredentials<T extends object>(
  clientOptions: T,
  source: CredentialSource | CredentialSourceOptions,
  options: RotatingPrismaOptions = {},
): T & { adapter: SqlDriverAdapterFactory } {
  checkOptions('prisma', options, 'the adapter options', { allowed: OPTION_KEYS });
  checkOptions('prisma', clientOptions, 'the PrismaClient options');
  const why =
    'the adapter is supplied here, user and password come from the secret, host/port/database are adapter options';
  forbidKeys('prisma', presentKeys(clientOptions, CLIENT_KEYS), `must not be set: ${why}`);
  checkOptions('prisma', options.pool ?? {}, 'pool', { forbidden: POOL_KEYS, why, prefix: 'pool.' });
  const provider = options.provider ?? defaultProvider();
  if (provider !== 'postgres' && provider !== 'mysql') {
    throw new ConfigurationError(`@dbcreds/prisma: provider must be 'postgres' or 'mysql'`, { keys: ['provider'] });
  }
  let adopted = adoptSource(source, options.closeSource);
  const endpoint = { host: options.host, port: options.port, database: options.database };
  const driverAdapter = { ...options.driverAdapter, disposeExternalPool: true };
  const adapter: SqlDriverAdapterFactory = {
    provider,
    adapterName: '@dbcreds/prisma',
    // A fresh pool and Prisma adapter per connect(): `$disconnect()` ends the pool, a later query reconnects.
    async connect() {
      const { source: credentialSource, closeSource } = adopted;
      const adapter = await connectAdapter(credentialSource);
      if (!closeSource) return adapter;
      const dispose = adapter.dispose.bind(adapter);
      adapter.dispose = async () => {
        try {
          await dispose();
        } finally {
          credentialSource.close();
          adopted = adoptSource(source, options.closeSource); // a later connect() gets a fresh source
        }
      };
      return adapter;
    },
  };
  async function connectAdapter(credentialSource: CredentialSource) {
    const engine = (await credentialSource.get()).engine;
    if (engine && engineFamily(engine) !== provider) {
      throw new ConfigurationError(
        `@dbcreds/prisma: the secret's engine '${engine}' does not match provider '${provider}'`,
        {
          keys: ['provider'],
        },
      );
    }
    if (provider === 'mysql') {
      // The peer the user installs first: it brings the driver @dbcreds/mariadb loads.
      const { PrismaMariaDb } = peer('@prisma/adapter-mariadb');
      const pool = peer('@dbcreds/mariadb').createPool(credentialSource, { ...endpoint, ...options.pool });
      return new PrismaMariaDb(pool, driverAdapter).connect();
    }
    const { PrismaPg } = peer('@prisma/adapter-pg');
    const pool = peer('@dbcreds/pg').createPool(credentialSource, { ...endpoint, ...options.pool });
    const factory = new PrismaPg(pool, driverAdapter);
    if (factory.externalPool !== pool) {
      await pool.end();
      throw new ConfigurationError(
        "@prisma/adapter-pg and @dbcreds/pg load different copies of 'pg' (the pool fails its instanceof check): dedupe pg",
        { keys: ['provider'] },
      );
    }
    return factory.connect();
  }
  return { ...clientOptions, adapter };
}

/** True when `name` resolves from this package (installed), without loading it. */
function installed(name: string): boolean {
  try {
    peerRequire.resolve(name);
    return true;
  } catch {
    return false;
  }
}

function defaultProvider(): PrismaProvider {
  const pg = installed('@prisma/adapter-pg');
  if (pg !== installed('@prisma/adapter-mariadb')) return pg ? 'postgres' : 'mysql';
  const why = !pg
    ? 'neither @prisma/adapter-pg nor @prisma/adapter-mariadb is installed: install the one for your database'
    : 'both @prisma/adapter-pg and @prisma/adapter-mariadb are installed';
  throw new ConfigurationError(
    `Set the adapter option provider: 'postgres' or 'mysql' (${why}), e.g. withRotatingCredentials({}, source, { provider: 'postgres' })`,
    { keys: ['provider'] },
  );
}

import { ConfigurationError, type CredentialSource, type CredentialSourceOptions } from '@dbcreds/core';
import {
  adoptReplicaSources,
  checkOptions,
  endpointFieldsFromSecret,
  forbidKeys,
  loadPeer,
  presentKeys,
  shareReplicaSources,
} from '@dbcreds/core/adapter';
import type { DataSourceOptions } from 'typeorm';
import peerRequire from './require.cjs';

export interface RotatingTypeOrmOptions {
  /**
   * Close the source when the DataSource is destroyed (its pools end). Default: true when `source` was given
   * as options (one source per secret, shared by every pool TypeORM builds), false for a `CredentialSource` passed in.
   */
  closeSource?: boolean;
  /**
   * Credentials of the `replication.slaves` (readers), when they have their own secret (a
   * `CredentialSource` or its options). Default: `source` (one secret per cluster).
   */
  readerSource?: CredentialSource | CredentialSourceOptions;
}

type Source = CredentialSource | CredentialSourceOptions;
type Node = { host?: string; port?: number };
interface Replication {
  master: Node;
  slaves: Node[];
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
const UNSUPPORTED_KEYS = ['driver', 'nativeDriver', 'connectorPackage'];

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
  checkOptions('typeorm', adapterOptions ?? {}, 'the adapter options', { allowed: ['closeSource', 'readerSource'] });
  checkOptions('typeorm', options, 'the TypeORM options');
  const opts = options as unknown as Record<string, unknown>;
  if (!SUPPORTED_TYPES.includes(opts.type as string)) {
    throw new ConfigurationError(
      `@dbcreds/typeorm: type must be ${SUPPORTED_TYPES.map((t) => `'${t}'`).join(', ')}; got '${String(opts.type)}'`,
      { keys: ['type'] },
    );
  }
  const replication = opts.replication as Replication | undefined;
  if (replication !== undefined) checkOptions('typeorm', replication, 'replication', { prefix: 'replication.' });
  forbidKeys(
    'typeorm',
    [
      ...presentKeys(opts, CREDENTIAL_KEYS),
      ...presentKeys(opts.extra as object, EXTRA_CREDENTIAL_KEYS, 'extra.'),
      ...presentKeys(replication?.master, CREDENTIAL_KEYS, 'replication.master.'),
      ...(replication?.slaves ?? []).flatMap((n, i) => presentKeys(n, CREDENTIAL_KEYS, `replication.slaves[${i}].`)),
    ],
    'must not be set: user and password come from the secret (host, port and database may be set explicitly)',
  );
  forbidKeys('typeorm', presentKeys(opts, UNSUPPORTED_KEYS), 'is not supported (this package supplies the driver)');
  const { closeSource, readerSource } = adapterOptions ?? {};
  const driver =
    opts.type === 'postgres'
      ? pgDriver(source, readerSource, closeSource, replication)
      : mysqlDriver(source, readerSource, closeSource);
  return { ...options, driver };
}

/**
 * `pg` with `Pool` replaced: TypeORM runs `new driver.Pool(config)` once per node (replication: each
 * slave, then the master); the pools share one source per secret (readers: `readerSource`), closed
 * with the last pool when the adapter created it.
 */
function pgDriver(
  source: Source,
  readerSource: Source | undefined,
  closeSource?: boolean,
  replication?: Replication,
): unknown {
  const pgModule = peer('pg');
  const { createPool } = peer('@dbcreds/pg');
  const shared = shareReplicaSources(source, readerSource, closeSource);
  const same = (a: Node, b: Node) => a.host === b.host && a.port === b.port;
  function Pool(config: Record<string, unknown>) {
    const reader = replication && !same(replication.master, config) && replication.slaves.some((n) => same(n, config));
    const cfg = driverConfig(config, ['user', 'password', 'connectionString']);
    const { sources, release } = shared.acquire();
    const pool = createPool((reader ? sources.reader : sources.writer).source, { ...cfg, closeSource: false });
    const end = pool.end.bind(pool);
    pool.end = (callback?: () => void) => {
      release();
      return end(callback);
    };
    return pool;
  }
  // `native: undefined` keeps TypeORM from switching to pg-native (which would bypass the pool).
  return Object.create(pgModule, { Pool: { value: Pool }, native: { value: undefined } });
}

/**
 * A copy of `mysql2` whose `createPool` returns a pool that takes user/password from the secret, and
 * whose `createPoolCluster` (replication) patches the pool of each node TypeORM adds ('MASTER',
 * 'SLAVE<i>': readers use `readerSource`). mysql2's `PoolCluster.add` builds its `Pool` internally,
 * so the node's pool is reached through the cluster's `_nodes`.
 */
function mysqlDriver(source: Source, readerSource: Source | undefined, closeSource?: boolean): unknown {
  const mysqlModule = peer('mysql2');
  const { createPool, installRetry } = peer('@dbcreds/mysql2');
  const createPoolCluster = (clusterConfig: unknown) => {
    const cluster = mysqlModule.createPoolCluster(clusterConfig);
    const sources = adoptReplicaSources(source, readerSource, closeSource);
    const add = cluster.add.bind(cluster);
    cluster.add = (id: string, config: Record<string, unknown>) => {
      add(id, config);
      const pool = cluster._nodes?.[id]?.pool;
      if (!pool) throw new ConfigurationError('@dbcreds/typeorm: unsupported mysql2 PoolCluster (no _nodes[id].pool)');
      installRetry(
        pool,
        (id.startsWith('SLAVE') ? sources.reader : sources.writer).source,
        endpointFieldsFromSecret(config),
      );
    };
    const end = cluster.end.bind(cluster);
    cluster.end = (cb?: (err: unknown) => void) => {
      sources.close();
      end(cb);
    };
    return cluster;
  };
  return {
    ...mysqlModule,
    createPool: (config: Record<string, unknown>) =>
      createPool(source, { ...driverConfig(config, ['user', 'password', 'uri']), closeSource }),
    createPoolCluster,
  };
}

/** Drops credential keys (TypeORM always sets them, undefined here) and unset keys. */
function driverConfig(config: Record<string, unknown>, drop: string[]): Record<string, unknown> {
  return Object.fromEntries(Object.entries(config).filter(([k, v]) => v !== undefined && !drop.includes(k)));
}

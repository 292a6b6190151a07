/**
 * A mysql2 pool whose new connections take user and password from a CredentialSource,
 * refreshing the secret and retrying once when the server answers errno 1045 (core's
 * `withAuthRetry`). mysql2 has no credential callback: the pool's `getConnection` is replaced on
 * the instance and writes the credentials into `pool.config.connectionConfig`, which mysql2
 * copies for every new connection (existing connections keep theirs). A checkout served by a free
 * (already authenticated) connection goes straight to mysql2.
 */
import { ConfigurationError, type CredentialSource, type CredentialSourceOptions } from '@dbcreds/core';
import {
  adoptSource,
  applyCredentials,
  checkOptions,
  endpointFieldsFromSecret,
  iamDriverRequirements,
  loadPeer,
  type SecretEndpointFields,
} from '@dbcreds/core/adapter';
import type { Pool, PoolConnection, PoolOptions } from 'mysql2';
import peerRequire from './require.cjs';

/** The driver, through the kit: without `mysql2` installed, importing this package says what to install. */
const mysql = loadPeer<typeof import('mysql2')>(peerRequire, 'mysql2', '@dbcreds/mysql2');

/** mysql2 PoolOptions without the keys that would override the secret, plus `closeSource`. */
export type RetryingPoolOptions = Omit<PoolOptions, 'user' | 'password' | 'uri'> & {
  /** Close the source on `end()`. Default: true when `source` was given as options (the pool created it). */
  closeSource?: boolean;
};

type GetConnectionCallback = (err: NodeJS.ErrnoException | null, connection: PoolConnection) => void;

/** The part of a mysql2 core pool (callback API) a retry needs. */
export interface Mysql2PoolLike {
  getConnection(cb: GetConnectionCallback): void;
}

const FORBIDDEN = ['user', 'password', 'uri'];
/** Marks callbacks of our own attempts: when mysql2 re-enters getConnection for a queued waiter, don't nest a retry. */
const INTERNAL = Symbol('dbcreds.mysql2.internal');

function connectionConfigOf(pool: Mysql2PoolLike): Record<string, unknown> {
  const cfg = (pool as { config?: { connectionConfig?: Record<string, unknown> } }).config?.connectionConfig;
  if (!cfg) {
    const hint = (pool as { pool?: unknown }).pool ? ': this looks like a PromisePool, pass promisePool.pool' : '';
    throw new ConfigurationError(`@dbcreds/mysql2: not a mysql2 core pool (no config.connectionConfig)${hint}`);
  }
  return cfg;
}

/** mysql2's `_freeConnections` (a queue with `length`); without it, every checkout takes the credential path. */
function hasFreeConnection(pool: Mysql2PoolLike): boolean {
  const free = (pool as { _freeConnections?: { length?: unknown } })._freeConnections;
  return typeof free?.length === 'number' && free.length > 0;
}

function patch(pool: Mysql2PoolLike, source: CredentialSource, from: SecretEndpointFields): void {
  const cfg = connectionConfigOf(pool);
  const original = pool.getConnection.bind(pool);
  const getConnection = (cb: GetConnectionCallback & { [INTERNAL]?: true }): void => {
    // A free connection is authenticated already: mysql2 hands it out synchronously, no credential needed.
    if (cb[INTERNAL] || hasFreeConnection(pool)) {
      original(cb);
      return;
    }
    source
      .withAuthRetry(
        (creds) =>
          new Promise<PoolConnection>((resolve, reject) => {
            applyCredentials(cfg, creds, from);
            const done = Object.assign(
              (err: NodeJS.ErrnoException | null, conn: PoolConnection) => {
                if (err) reject(err);
                else resolve(conn);
              },
              { [INTERNAL]: true as const },
            );
            original(done);
          }),
      )
      // Call back outside the promise chain: an exception in the callback must not become a rejection.
      .then(
        (conn) => process.nextTick(cb, null, conn),
        (err: NodeJS.ErrnoException) => process.nextTick(cb, err, undefined as unknown as PoolConnection),
      );
  };
  Object.defineProperty(pool, 'getConnection', { value: getConnection, writable: true, configurable: true });
}

/**
 * Makes an existing mysql2 core pool (callback API; e.g. the pool TypeORM or MikroORM created)
 * take user/password from `source` for every new connection. `query`, `execute` and
 * `.promise()` all go through `getConnection`. `fill`: the endpoint fields to take from the secret
 * (default none: host/port/database stay as configured). Returns the pool.
 */
export function installRetry<P extends Mysql2PoolLike>(
  pool: P,
  source: CredentialSource,
  fill: SecretEndpointFields = { host: false, port: false, database: false },
): P {
  const cfg = connectionConfigOf(pool);
  // mysql2's ConnectionConfig stores enableCleartextPlugin as a boolean: false means "not set" here.
  const given = { ...cfg, enableCleartextPlugin: cfg.enableCleartextPlugin === true ? true : undefined };
  Object.assign(cfg, iamDriverRequirements('mysql2', source, 'mysql', given));
  patch(pool, source, fill);
  return pool;
}

/**
 * A real mysql2 `Pool` (callback API; `.promise()` works) reading credentials from the source.
 * host/port/database: from `options` first, then the secret's host/port/dbname.
 * `source`: a CredentialSource, or its options (the pool then owns the source and closes it on `end()`).
 */
export function createPool(
  source: CredentialSource | CredentialSourceOptions,
  options: RetryingPoolOptions = {},
): Pool {
  checkOptions('mysql2', options, 'the pool options', {
    forbidden: FORBIDDEN,
    why: 'user and password come from the secret; use host/port/database',
  });
  const { closeSource, ...poolOptions } = options;
  const { source: resolved, closeSource: owns } = adoptSource(source, closeSource);
  // An RDS IAM source needs TLS and mysql_clear_password: refused, or the plugin enabled, here.
  const iam = iamDriverRequirements('mysql2', resolved, 'mysql', poolOptions as Record<string, unknown>);
  const pool = mysql.createPool({ ...poolOptions, ...iam });
  patch(pool, resolved, endpointFieldsFromSecret(poolOptions));
  if (owns) {
    const end = pool.end.bind(pool) as (cb?: (err: NodeJS.ErrnoException | null) => void) => void;
    const ownedEnd = (cb?: (err: NodeJS.ErrnoException | null) => void): void => {
      resolved.close();
      end(cb);
    };
    Object.defineProperty(pool, 'end', { value: ownedEnd, writable: true, configurable: true });
  }
  return pool;
}

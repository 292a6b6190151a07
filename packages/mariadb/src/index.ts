/**
 * A pool for the `mariadb` connector (MariaDB and MySQL) whose connections take user and password
 * from a CredentialSource. The connector fixes the password per pool, so this facade swaps inner
 * pools when the secret version changes, and refreshes the secret and retries once when the server
 * refuses a login (core's `withAuthRetry`). Prisma's `PrismaMariaDb` runs over it (`@dbcreds/prisma`).
 */
import { type CredentialSource, type CredentialSourceOptions, DbCredsError, type DbCredentials } from '@dbcreds/core';
import {
  adoptSource,
  checkOptions,
  closeWith,
  endpointFieldsFromSecret,
  endpointFromSecret,
  isLoginRefused,
  loadPeer,
  type SecretEndpointFields,
} from '@dbcreds/core/adapter';
import type mariadbTypes from 'mariadb';
import peerRequire from './require.cjs';

/** The connector, through the kit: without `mariadb` installed, importing this package says what to install. */
const mariadb = loadPeer<typeof mariadbTypes>(peerRequire, 'mariadb', '@dbcreds/mariadb');

/** MySQL pool defaults (ms): why minimumIdle is 1, acquireTimeout 5 s and initializationTimeout 1 s: see README. */
export const MARIADB_POOL_DEFAULTS = {
  connectionLimit: 10,
  minimumIdle: 1,
  acquireTimeout: 5_000,
  initializationTimeout: 1_000,
  prepareCacheLength: 0,
};

/** mariadb `PoolConfig` without credentials (host/port/database win over the secret's), plus `closeSource`. */
export type RotatingMariaDbPoolConfig = Record<string, unknown> & {
  /** Close the source on `end()`. Default: true when `source` was given as options (the pool created it). */
  closeSource?: boolean;
};

type Entry = {
  pool: any;
  creds: DbCredentials;
  waiters: Set<(err: unknown) => void>;
  refused: boolean;
  refusal?: unknown;
};

const NOOP = (): void => {};
/** A login the server refused (fatal: a query's 1044 is not); core's table, see isLoginRefused. */
const refusedLogin = (err: any): boolean => err?.fatal === true && isLoginRefused(err);
/** The mariadb `logger` option (function or object), with `onError` called before its `error`. */
function withErrorTap(logger: any, onError: (err: unknown) => void): object {
  const base =
    typeof logger === 'function' ? { network: logger, query: logger, error: logger, warning: logger } : logger;
  const error = (err: unknown) => {
    onError(err);
    base?.error?.(err);
  };
  return { ...base, error };
}

/**
 * The facade (duck-typed like a mariadb pool: getConnection/query/execute/end; PrismaMariaDb takes it). A
 * new secret version gets a new inner pool and the old one is ended: idle connections close at once,
 * checked-out ones when released (mariadb destroys leftovers after 10 s).
 */
export class RotatingMariaDbPool {
  readonly source: CredentialSource;
  readonly #config: Record<string, unknown>;
  readonly #closeSource: boolean;
  readonly #fill: SecretEndpointFields;
  #current: Entry | undefined;
  #closed = false;

  constructor(source: CredentialSource | CredentialSourceOptions, config: RotatingMariaDbPoolConfig = {}) {
    checkOptions('mariadb', config, 'the pool config', {
      forbidden: ['user', 'password'],
      why: 'user and password come from the secret; use host/port/database',
    });
    const { closeSource, ...rest } = config;
    const adopted = adoptSource(source, closeSource);
    this.source = adopted.source;
    this.#closeSource = adopted.closeSource;
    this.#config = rest;
    this.#fill = endpointFieldsFromSecret(rest);
  }

  /**
   * A connection. Served by an idle, already authenticated connection of the current pool: straight
   * from it. Otherwise one acquisition through `source.withAuthRetry`, and one more on the newest pool
   * if a swap ended the one it waited on.
   */
  getConnection(): Promise<any> {
    return this.#call('getConnection');
  }

  query = (sql: unknown, values?: unknown): Promise<any> => this.#call('query', sql, values);
  execute = (sql: unknown, values?: unknown): Promise<any> => this.#call('execute', sql, values);

  end(): Promise<void> {
    this.#closed = true;
    const entry = this.#current;
    this.#current = undefined;
    return closeWith({ source: this.source, closeSource: this.#closeSource }, async () => entry?.pool.end());
  }

  /**
   * On the current pool when it holds an idle connection for the source's current version (mariadb
   * hands it out synchronously: no login, no credential); otherwise through the credential path. If
   * mariadb still needed a new connection (the idle one failed its validation) and the server refused
   * that login, the statement never ran: the credential path runs it, with its refresh and retry.
   */
  #call(method: 'getConnection' | 'query' | 'execute', sql?: unknown, values?: unknown): Promise<any> {
    const e = this.#current;
    if (!e || e.refused || e.pool.idleConnections() === 0) return this.#slow(method, sql, values);
    // mariadb refills its pool on its own: a call still lets an expired TTL start the background reload.
    this.source.get().catch(NOOP);
    if (this.source.stats().versionId !== e.creds.versionId) return this.#slow(method, sql, values);
    return e.pool[method](sql, values).catch((err: any) =>
      refusedLogin(err) || refusedLogin(err?.cause) ? this.#slow(method, sql, values) : Promise.reject(err),
    );
  }

  /** The credential path: a connection (`getConnection`), or one for this statement, released after it. */
  async #slow(method: 'getConnection' | 'query' | 'execute', sql: unknown, values: unknown): Promise<any> {
    const conn = await this.#acquireSlow();
    if (method === 'getConnection') return conn;
    try {
      return await conn[method](sql, values);
    } finally {
      await conn.release();
    }
  }

  #acquireSlow(): Promise<any> {
    return this.source.withAuthRetry(async (creds) => {
      const entry = this.#poolFor(creds);
      try {
        return await acquire(entry);
      } catch (err) {
        if (this.#current === entry || this.#current === undefined) throw err;
        return acquire(this.#current);
      }
    });
  }

  #poolFor(creds: DbCredentials): Entry {
    if (this.#closed) throw new DbCredsError('This RotatingMariaDbPool has been ended', { code: 'DBCREDS_CLOSED' });
    const previous = this.#current;
    // Same version = same user and password (the stage may move from AWSPENDING to AWSCURRENT). A pool
    // whose login was refused is replaced even so: its own retries back off up to 10 s.
    if (previous?.creds.versionId === creds.versionId && !previous.refused) return previous;
    const { logger, ...rest } = this.#config;
    const entry = { creds, waiters: new Set(), refused: false } as Omit<Entry, 'pool'> as Entry;
    // mariadb's pool reports only the first error since its last good connection (its 'error' event
    // and acquire timeouts carry it as `cause`): after a connect timeout, the refusals that follow are
    // invisible there. The connector logs each connection's own error: the refusals are taken from there.
    entry.pool = mariadb.createPool({
      ...MARIADB_POOL_DEFAULTS,
      ...rest,
      ...endpointFromSecret(creds, this.#fill),
      user: creds.username,
      password: creds.password,
      logger: withErrorTap(logger, (err) => {
        if (refusedLogin(err)) entry.refusal = err;
      }),
    } as mariadbTypes.PoolConfig);
    const pool = entry.pool;
    pool.on('connection', () => {
      entry.refusal = undefined;
    });
    // mariadb reports a failed connection attempt on the pool's 'error' event, but to waiting callers
    // only after acquireTimeout (without the 1045 cause while a connection is checked out). If the server
    // refused the login, fail them now with its own error (PrismaMariaDb maps 1045 to P1000, so
    // withAuthRetry refreshes). The next acquisition replaces the pool and ends it (its queued requests
    // too): until then its idle connections, authenticated earlier, stay open (a refill refused in the
    // background between setSecret and finishSecret does not drop them).
    pool.on('error', (poolError: { cause?: unknown }) => {
      const err = entry.refusal ?? poolError?.cause;
      entry.refusal = undefined;
      if (!refusedLogin(err)) return;
      entry.refused = true;
      for (const reject of entry.waiters) reject(err);
      entry.waiters.clear();
    });
    this.#current = entry;
    previous?.pool.end().catch(() => undefined);
    return entry;
  }
}

/** pool.getConnection(), rejected early by a refused login; a connection arriving after that is released. */
function acquire(entry: Entry): Promise<any> {
  return new Promise((resolve, reject) => {
    entry.waiters.add(reject);
    entry.pool.getConnection().then(
      (conn: any) => (entry.waiters.delete(reject) ? resolve(conn) : conn.release().catch(() => undefined)),
      (err: unknown) => {
        entry.waiters.delete(reject);
        reject(err);
      },
    );
  });
}

/** `new RotatingMariaDbPool(source, config)`. `source`: a CredentialSource or its options (then the pool owns it). */
export function createPool(
  source: CredentialSource | CredentialSourceOptions,
  config: RotatingMariaDbPoolConfig = {},
): RotatingMariaDbPool {
  return new RotatingMariaDbPool(source, config);
}

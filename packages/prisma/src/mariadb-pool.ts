/** Optional peers are loaded lazily: a PostgreSQL app need not install mariadb (and the reverse). */
import { type CredentialSource, DbCredsError, type DbCredentials } from '@dbcreds/core';
import { isLoginRefused, loadPeer } from '@dbcreds/core/adapter';
import peerRequire from './require.cjs';

/** MySQL pool defaults (ms): why minimumIdle is 1, acquireTimeout 5 s and initializationTimeout 1 s: see README. */
export const MARIADB_POOL_DEFAULTS = {
  connectionLimit: 10,
  minimumIdle: 1,
  acquireTimeout: 5_000,
  initializationTimeout: 1_000,
  prepareCacheLength: 0,
};

/** An optional peer, loaded with this package's own require when first needed (ConfigurationError if missing). */
export const peer = (name: string): any =>
  loadPeer(peerRequire, name, '@dbcreds/prisma', { keys: ['provider'], why: 'for this provider' });

type Entry = {
  pool: any;
  creds: DbCredentials;
  waiters: Set<(err: unknown) => void>;
  refused: boolean;
  refusal?: unknown;
};

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
 * The pool handed to PrismaMariaDb (duck-typed: getConnection/query/execute/end). mariadb fixes the
 * password per pool, so a new secret version gets a new inner pool and the old one is ended: idle
 * connections close at once, checked-out ones when released (mariadb destroys leftovers after 10 s).
 */
export class RotatingMariaDbPool {
  #current: Entry | undefined;
  #closed = false;

  constructor(
    private readonly source: CredentialSource,
    private readonly config: Record<string, unknown>,
  ) {}

  /** One acquisition through `source.withAuthRetry`; one more on the newest pool if a swap ended the one it waited on. */
  getConnection(): Promise<any> {
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

  query = (sql: unknown, values?: unknown): Promise<any> => this.#run('query', sql, values);
  execute = (sql: unknown, values?: unknown): Promise<any> => this.#run('execute', sql, values);

  async end(): Promise<void> {
    this.#closed = true;
    const entry = this.#current;
    this.#current = undefined;
    await entry?.pool.end();
  }

  async #run(method: 'query' | 'execute', sql: unknown, values: unknown): Promise<any> {
    const conn = await this.getConnection();
    try {
      return await conn[method](sql, values);
    } finally {
      await conn.release();
    }
  }

  #poolFor(creds: DbCredentials): Entry {
    if (this.#closed) throw new DbCredsError('This RotatingMariaDbPool has been ended', { code: 'DBCREDS_CLOSED' });
    const previous = this.#current;
    // Same version = same user and password (the stage may move from AWSPENDING to AWSCURRENT). A pool
    // whose login was refused is replaced even so: its own retries back off up to 10 s.
    if (previous?.creds.versionId === creds.versionId && !previous.refused) return previous;
    const { host, port, database, logger, ...rest } = this.config;
    const entry = { creds, waiters: new Set(), refused: false } as Omit<Entry, 'pool'> as Entry;
    // mariadb's pool reports only the first error since its last good connection (its 'error' event
    // and acquire timeouts carry it as `cause`): after a connect timeout, the refusals that follow are
    // invisible there. The connector logs each connection's own error: the refusals are taken from there.
    entry.pool = peer('mariadb').createPool({
      ...MARIADB_POOL_DEFAULTS,
      ...rest,
      host: host ?? creds.host,
      port: port ?? creds.port,
      database: database ?? creds.dbname,
      user: creds.username,
      password: creds.password,
      logger: withErrorTap(logger, (err) => {
        if (refusedLogin(err)) entry.refusal = err;
      }),
    });
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

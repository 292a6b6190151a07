/**
 * A `pg.Pool` whose new connections take user and password from a CredentialSource, refreshing
 * the secret and retrying once when the server rejects them (core's `withAuthRetry`). A checkout
 * that pg-pool serves with an idle, already authenticated client skips all of that.
 */
import type { CredentialSource, CredentialSourceOptions } from '@dbcreds/core';
import {
  adoptSource,
  applyCredentials,
  checkOptions,
  endpointFieldsFromSecret,
  hideConnectionPassword,
  iamDriverRequirements,
  loadPeer,
  type SecretEndpointFields,
} from '@dbcreds/core/adapter';
import type pg from 'pg';
import peerRequire from './require.cjs';

/** The driver, through the kit: without `pg` installed, importing this package says what to install. */
const { Pool } = loadPeer<typeof pg>(peerRequire, 'pg', '@dbcreds/pg');

/** pg.PoolConfig without the keys that would override the secret, plus `closeSource`. */
export type RetryingPoolConfig = Omit<pg.PoolConfig, 'user' | 'password' | 'connectionString'> & {
  /** Close the source on `end()`. Default: true when `source` was given as options (the pool created it). */
  closeSource?: boolean;
};

type ConnectCallback = (err: Error | undefined, client: pg.PoolClient | undefined, done: (r?: any) => void) => void;

/** The part of a pg-pool a retry needs: `connect()` (promise form) and the options new clients copy. */
export interface PgPoolLike {
  connect(): Promise<pg.PoolClient>;
  options: { user?: string; password?: unknown; host?: string; port?: number; database?: string };
}

const NOOP = (): void => {};

/**
 * True when pg-pool will hand this checkout an idle client, so no new physical connection (and no
 * credential) is involved: more idle clients than waiters. pg-pool queues the checkout and serves
 * the queue from `_idle` on the next tick, before any timer or socket event could remove an idle
 * client. Without these pg-pool 3 internals: false (every checkout takes the credential path).
 */
function idleClientFor(pool: object): boolean {
  const { _idle: idle, _pendingQueue: queue } = pool as { _idle?: unknown[]; _pendingQueue?: unknown[] };
  return Array.isArray(idle) && Array.isArray(queue) && idle.length > queue.length;
}

/**
 * Listens to a client's 'error' from the moment pg-pool hands it over until the caller has it: pg-pool
 * has removed its idle listener by then, and an ErrorResponse parsed in the same socket chunk as the
 * login's ReadyForQuery (a session killed right after login, as failovers do) would otherwise be an
 * unhandled 'error' event: a crash. The caller's first query on such a client fails instead.
 */
const HANDOVER_GUARD = (): void => {};

/** pg-pool's callback form as a promise, the client guarded from the callback on (see HANDOVER_GUARD). */
function guarded(connectOnce: (cb: ConnectCallback) => void): Promise<pg.PoolClient> {
  return new Promise((resolve, reject) =>
    connectOnce((err, client) => {
      if (err || !client) return reject(err);
      client.on('error', HANDOVER_GUARD);
      resolve(client);
    }),
  );
}

function deliver(p: Promise<pg.PoolClient>, cb: ConnectCallback): undefined {
  // An exception in the callback must not become a rejection.
  p.then(
    (client) => process.nextTick(cb, undefined, client, client.release.bind(client)),
    (err: Error) => process.nextTick(cb, err, undefined, NOOP),
  );
  return undefined;
}

/**
 * Makes an existing pg-pool-like object (e.g. the pool MikroORM or Prisma created) take its
 * credentials from `source`: replaces `pool.connect` on the instance. `pool.query` goes through
 * `connect`, so it is covered too. Returns the pool.
 */
export function installRetry<P extends PgPoolLike>(pool: P, source: CredentialSource): P {
  iamDriverRequirements('pg', source, 'postgres', pool.options as Record<string, unknown>);
  const original = pool.connect.bind(pool) as (cb?: ConnectCallback) => Promise<pg.PoolClient> | undefined;
  const from: SecretEndpointFields = { host: false, port: false, database: false };
  const connect = (cb?: ConnectCallback): Promise<pg.PoolClient> | undefined =>
    checkout(pool, source, (done) => original(done), from, (pool.options as { max?: number }).max ?? 10, cb);
  Object.defineProperty(pool, 'connect', { value: connect, writable: true, configurable: true });
  (pool as unknown as Partial<pg.Pool>).on?.('connect', hideConnectionPassword);
  return pool;
}

/** pg-pool's own test of a client whose connection is gone (`_queryable`, `_ending`). */
function isLive(client: pg.PoolClient): boolean {
  const c = client as pg.PoolClient & { _queryable?: boolean; _ending?: boolean };
  return c._queryable !== false && !c._ending;
}

/** A checkout whose client already lost its connection is dropped, not handed out (at most `max` times). */
async function live(connect: () => Promise<pg.PoolClient>, max: number): Promise<pg.PoolClient> {
  for (let i = 0; ; i++) {
    const client = await connect();
    if (isLive(client) || i >= max) return client;
    client.release(new Error('connection ended while idle'));
  }
}

/**
 * One checkout (the callback form; the promise form wraps it). Served by an idle, authenticated client
 * (pg-pool has one for this checkout): pg-pool's callback passes through after a synchronous liveness
 * check, no credential work and no promise on `pool.query`'s path (the caller attaches its listeners
 * in that callback). Otherwise, or when that client's connection turns out gone, the credential path:
 * the source's credentials for the new connection, one refresh and retry on an auth error.
 */
function checkout(
  pool: PgPoolLike,
  source: CredentialSource,
  connectOnce: (cb: ConnectCallback) => void,
  from: SecretEndpointFields,
  max: number,
  cb?: ConnectCallback,
): Promise<pg.PoolClient> | undefined {
  if (!cb) {
    return new Promise((resolve, reject) =>
      checkout(pool, source, connectOnce, from, max, (err, client) => (client ? resolve(client) : reject(err))),
    );
  }
  if (!idleClientFor(pool)) {
    const p = source.withAuthRetry((creds) => {
      applyCredentials(pool.options as Record<string, unknown>, creds, from); // pg-pool's options for new Clients
      return live(() => guarded(connectOnce), max);
    });
    return deliver(
      p.then((c) => c.removeListener('error', HANDOVER_GUARD) as pg.PoolClient),
      cb,
    );
  }
  connectOnce((err, client, done) => {
    if (err || !client || isLive(client)) return cb(err, client, done);
    client.release(new Error('connection ended while idle'));
    checkout(pool, source, connectOnce, from, max, cb); // each round drops one ended client
  });
  return undefined;
}

/**
 * `pool.query` (promise form), retried when the server had ended the connection it got (57P01: idle
 * sessions terminated, or a fast shutdown): that statement did not complete and the termination rolled
 * it back. Each retry drops one ended client, so at most `max` (the pool size) retries reach a fresh
 * connection. Not retried: callback and Submittable forms, texts with `;` (several statements may carry
 * their own COMMIT). See README, "Connections ended by the server".
 */
function retryEnded(pool: pg.Pool, run: (q: any, values?: unknown, cb?: unknown) => unknown, max: number) {
  const P = (pool as unknown as { Promise?: PromiseConstructor }).Promise ?? Promise;
  return ((q: any, values?: unknown, cb?: unknown) => {
    if (typeof values === 'function' || typeof cb === 'function' || typeof q?.submit === 'function') {
      return run(q, values, cb);
    }
    // pg-pool's callback form inside pg-pool's own promise shape: no promise more than a plain pool.query.
    return new P((resolve, reject) => {
      let retries = max;
      const done = (err: { code?: unknown } | undefined, res: unknown): unknown => {
        if (err?.code === '57P01' && retries-- > 0 && oneStatement(q)) return run(q, values, done);
        return err ? reject(err) : resolve(res);
      };
      run(q, values, done);
    }).catch((err: Error) => {
      Error.captureStackTrace(err); // as pg-pool does: a stack trace back to the caller, not to the socket
      throw err;
    });
  }) as pg.Pool['query'];
}

const oneStatement = (q: any): boolean => typeof (q?.text ?? q) === 'string' && !(q?.text ?? q).includes(';');

/**
 * `pg.Pool` (instanceof holds) that reads user/password from the source for every new
 * connection. It listens to its own 'error' event, so an idle client killed by the server (as
 * rotations and failovers do) does not crash the process; add your own listener to log them.
 */
export class RetryingPool extends Pool {
  readonly source: CredentialSource;
  readonly #ownsSource: boolean;
  readonly #from: SecretEndpointFields;

  constructor(source: CredentialSource | CredentialSourceOptions, config: RetryingPoolConfig = {}) {
    checkOptions('pg', config, 'the pool config', {
      forbidden: ['user', 'password', 'connectionString'],
      why: 'user and password come from the secret (and a connectionString would silently override them); use host/port/database',
    });
    const { closeSource, ...poolConfig } = config;
    const adopted = adoptSource(source, closeSource);
    // An RDS IAM source needs TLS: refused here with what to set.
    iamDriverRequirements('pg', adopted.source, 'postgres', poolConfig);
    super(poolConfig);
    this.source = adopted.source;
    this.#ownsSource = adopted.closeSource;
    this.#from = endpointFieldsFromSecret(poolConfig);
    this.on('error', NOOP).on('connect', hideConnectionPassword);
    const query = super.query.bind(this) as (q: unknown, values?: unknown, cb?: unknown) => unknown;
    Object.defineProperty(this, 'query', { value: retryEnded(this, query, this.options.max ?? 10), writable: true });
  }

  override connect(): Promise<pg.PoolClient>;
  override connect(callback: ConnectCallback): void;
  override connect(callback?: ConnectCallback): Promise<pg.PoolClient> | undefined {
    return checkout(this, this.source, (done) => super.connect(done), this.#from, this.options.max ?? 10, callback);
  }

  override end(): Promise<void>;
  override end(callback: () => void): void;
  override end(callback?: () => void): Promise<void> | undefined {
    // A source the pool created is the pool's to close; a source passed in is the caller's.
    if (this.#ownsSource) this.source.close();
    return callback ? void super.end(callback) : super.end();
  }
}

/** `new RetryingPool(source, config)`. `source`: a CredentialSource or its options (then the pool owns it). */
export function createPool(
  source: CredentialSource | CredentialSourceOptions,
  config: RetryingPoolConfig = {},
): RetryingPool {
  return new RetryingPool(source, config);
}

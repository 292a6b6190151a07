import type { CredentialSource, CredentialSourceOptions } from '@dbcreds/core';
import {
  adoptSource,
  checkOptions,
  closeWith,
  endpointFromSecret,
  forbidKeys,
  loadPeer,
  presentKeys,
  type SecretEndpointFields,
} from '@dbcreds/core/adapter';
import type { Configuration, IDatabaseDriver } from '@mikro-orm/core';
import { hookKnexConnection, isKnexConnection, type KnexSqlConnection } from './knex-v6.js';
import peerRequire from './require.cjs';

/** The MikroORM options this adapter reads; every other option passes through unchanged. */
export interface RotatingOrmOptions extends NoCredentials {
  driver?: new (config: Configuration) => IDatabaseDriver;
  dbName?: string;
  host?: string;
  port?: number;
  driverOptions?: object;
  replicas?: Array<{ host?: string; port?: number } & NoCredentials>;
}

/** Not allowed: user and password come from the secret, and a `clientUrl` would carry them (use host/port/dbName). */
interface NoCredentials {
  user?: never;
  password?: never;
  clientUrl?: never;
}

export interface MikroOrmAdapterOptions {
  /**
   * Close the credential source when `orm.close()` runs. Default: true when `source` was given
   * as options (the adapter created it), false when a `CredentialSource` was passed in.
   */
  closeSource?: boolean;
  /** @deprecated Old name of `closeSource` (still accepted). */
  closeSourceOnClose?: boolean;
}

type Engine = 'pg' | 'mysql2';
type RetryHelper = { installRetry(pool: never, source: CredentialSource): unknown };
/** The parts of MikroORM's `AbstractSqlConnection` the hook uses (public or protected members). */
interface SqlConnection {
  type: 'read' | 'write';
  options: { host?: string; port?: number; driverOptions?: object };
  connect(options?: { skipOnConnect?: boolean }): Promise<void>;
  onConnect(): Promise<void>;
  getNativeClient(): Promise<object>;
}

const CREDENTIAL_KEYS = ['user', 'password', 'clientUrl'];
const NO_FILL: SecretEndpointFields = { host: false, port: false, database: false };
const DRIVER_OPTION_KEYS = ['client', 'connection', 'connectionString', 'user', 'password'];

/**
 * Returns MikroORM options whose `driver` is a subclass of yours. MikroORM 7: each connection's
 * native pool (pg-pool or mysql2, MikroORM's own copies) takes user/password from `source` for
 * every new physical connection and refreshes the secret and retries once on an auth error.
 * MikroORM 6: the same, through a subclass of MikroORM's knex dialect (knex-v6.ts).
 */
export function withRotatingCredentials<O extends RotatingOrmOptions>(
  ormOptions: O,
  source: CredentialSource | CredentialSourceOptions,
  options: MikroOrmAdapterOptions = {},
): O {
  validate(ormOptions, options);
  const adopted = adoptSource(source, options.closeSource ?? options.closeSourceOnClose);
  // The writer's host/port from the secret unless explicit; replicas keep theirs; MikroORM requires dbName.
  const fill = { host: ormOptions.host === undefined, port: ormOptions.port === undefined, database: false };
  const fillFor = (conn: { type: string }) => (conn.type === 'write' ? fill : NO_FILL);
  const Base = ormOptions.driver as NonNullable<RotatingOrmOptions['driver']>;

  class RotatingCredentialsDriver extends Base {
    constructor(config: Configuration) {
      super(config);
      const deps = this.getDependencies();
      const engine = (deps.includes('pg') ? 'pg' : deps.includes('mysql2') ? 'mysql2' : undefined) as Engine;
      forbidKeys(
        'mikro-orm',
        engine ? [] : ['driver'],
        `is ${Base.name}: only pg and mysql2 based drivers are supported`,
      );
      const { connection, replicas } = this as unknown as { connection: SqlConnection; replicas: SqlConnection[] };
      if (isKnexConnection(connection)) {
        // MikroORM 6 (knex inside): see knex-v6.ts.
        for (const conn of [connection, ...replicas])
          hookKnexConnection(conn as unknown as KnexSqlConnection, adopted.source, fillFor(conn));
        return;
      }
      // This package's own require: a PostgreSQL app need not install mysql2, nor a MySQL app pg.
      const helper = loadPeer<RetryHelper>(peerRequire, `@dbcreds/${engine}`, '@dbcreds/mikro-orm', {
        keys: ['driver'],
      });
      for (const conn of [connection, ...replicas]) hook(conn, engine, helper, adopted.source, fillFor(conn));
    }

    override close(force?: boolean): Promise<void> {
      return closeWith(adopted, () => super.close(force));
    }
  }
  Object.defineProperty(RotatingCredentialsDriver, 'name', { value: `RotatingCredentials(${Base.name})` });
  return { ...ormOptions, driver: RotatingCredentialsDriver };
}

function hook(
  conn: SqlConnection,
  engine: Engine,
  helper: RetryHelper,
  source: CredentialSource,
  fill: SecretEndpointFields,
): void {
  const patched = new WeakSet<object>();
  const install = (pool: object): void => {
    if (patched.has(pool)) return;
    helper.installRetry(pool as never, source);
    patched.add(pool);
  };
  if (engine === 'pg') {
    // Public hook (7.0.16+): patches the pool however it gets created, before its first connect.
    const user = conn.options.driverOptions as { onPoolCreated?: (pool: object) => unknown } | undefined;
    const onPoolCreated = (pool: object) => {
      install(pool);
      return user?.onPoolCreated?.(pool);
    };
    conn.options.driverOptions = { ...user, onPoolCreated };
  }
  // mysql2 pools have no creation hook: patch between building the pool and the first query
  // (onConnect's ensureDatabase already queries), so connect without onConnect, patch, then run it.
  const connect = conn.connect.bind(conn);
  conn.connect = async (options) => {
    Object.assign(conn.options, endpointFromSecret(await source.get(), fill));
    await connect({ ...options, skipOnConnect: true });
    install(await conn.getNativeClient());
    if (options?.skipOnConnect !== true) await conn.onConnect();
  };
}

function validate(ormOptions: RotatingOrmOptions, options: MikroOrmAdapterOptions): void {
  checkOptions('mikro-orm', options, 'the adapter options', { allowed: ['closeSource', 'closeSourceOnClose'] });
  checkOptions('mikro-orm', ormOptions, 'the MikroORM options');
  const noDriver = typeof ormOptions.driver !== 'function' ? ['driver'] : [];
  forbidKeys('mikro-orm', noDriver, 'must be a driver class (e.g. PostgreSqlDriver, MySqlDriver)');
  const why = 'user and password always come from the secret (use host/port/dbName)';
  const bad = presentKeys(ormOptions, CREDENTIAL_KEYS);
  for (const [i, r] of (ormOptions.replicas ?? []).entries())
    bad.push(...presentKeys(r, CREDENTIAL_KEYS, `replicas[${i}].`));
  forbidKeys('mikro-orm', bad, `must not be set: ${why}`);
  const d = ormOptions.driverOptions;
  const bypass = d !== undefined && (typeof d !== 'object' || d === null || 'createDriver' in d || 'selectFrom' in d);
  const bypasses = 'a function, Kysely instance or dialect bypasses the credential hook';
  forbidKeys('mikro-orm', bypass ? ['driverOptions'] : [], `must be a plain options object: ${bypasses}`);
  // MikroORM 6 merges driverOptions into the knex config, MikroORM 7 into the pool options.
  checkOptions('mikro-orm', d ?? {}, 'driverOptions', {
    forbidden: DRIVER_OPTION_KEYS,
    why: 'they bypass the credential hook',
    prefix: 'driverOptions.',
  });
}

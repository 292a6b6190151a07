import { ConfigurationError, type CredentialSource, type CredentialSourceOptions } from '@dbcreds/core';
import {
  adoptSource,
  checkOptions,
  closeWith,
  endpointFromSecret,
  forbidKeys,
  presentKeys,
} from '@dbcreds/core/adapter';
import type { Configuration, IDatabaseDriver } from '@mikro-orm/core';
import { hookKnexConnection, isKnexConnection, type KnexSqlConnection } from './knex-v6.js';

/** The MikroORM options this adapter reads; every other option passes through unchanged. */
export interface RotatingOrmOptions {
  driver?: new (config: Configuration) => IDatabaseDriver;
  dbName?: string;
  host?: string;
  port?: number;
  /** Not allowed: the user comes from the secret. */
  user?: never;
  /** Not allowed: the password comes from the secret. */
  password?: never;
  /** Not allowed: a URL would carry credentials; use host/port/dbName. */
  clientUrl?: never;
  driverOptions?: object;
  replicas?: Array<{ host?: string; port?: number; user?: never; password?: never; clientUrl?: never }>;
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
type DriverClass = new (config: Configuration) => IDatabaseDriver;
type RetryHelper = { installRetry(pool: never, source: CredentialSource): unknown };
/** The parts of MikroORM's `AbstractSqlConnection` the hook uses (public or protected members). */
interface SqlConnection {
  type: 'read' | 'write';
  options: { host?: string; port?: number; driverOptions?: object };
  connect(options?: { skipOnConnect?: boolean }): Promise<void>;
  onConnect(): Promise<void>;
  getNativeClient(): Promise<object>;
}

// Loaded lazily: a PostgreSQL app need not install mysql2, nor a MySQL app pg.
const HELPERS: Record<Engine, () => Promise<RetryHelper>> = {
  pg: () => import('@dbcreds/pg') as Promise<RetryHelper>,
  mysql2: () => import('@dbcreds/mysql2') as Promise<RetryHelper>,
};
const CREDENTIAL_KEYS = ['user', 'password', 'clientUrl'];
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
  const credentials = adopted.source;
  const explicit = { host: ormOptions.host !== undefined, port: ormOptions.port !== undefined };
  const Base = ormOptions.driver as DriverClass;

  class RotatingCredentialsDriver extends Base {
    constructor(config: Configuration) {
      super(config);
      const deps = this.getDependencies();
      const engine: Engine | undefined = deps.includes('pg') ? 'pg' : deps.includes('mysql2') ? 'mysql2' : undefined;
      if (engine === undefined) {
        throw new ConfigurationError(`@dbcreds/mikro-orm supports the pg and mysql2 based drivers, not ${Base.name}`, {
          keys: ['driver'],
        });
      }
      const { connection, replicas } = this as unknown as { connection: SqlConnection; replicas: SqlConnection[] };
      if (isKnexConnection(connection)) {
        // MikroORM 6 (knex inside): see knex-v6.ts.
        for (const conn of [connection, ...replicas])
          hookKnexConnection(conn as unknown as KnexSqlConnection, credentials, explicit);
        return;
      }
      const helper = HELPERS[engine]();
      helper.catch(() => {}); // surfaced by connect(), which awaits it
      for (const conn of [connection, ...replicas]) hook(conn, engine, helper, credentials, explicit);
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
  helperPromise: Promise<RetryHelper>,
  source: CredentialSource,
  explicit: { host: boolean; port: boolean },
): void {
  let helper: RetryHelper | undefined;
  void helperPromise.then((h) => (helper = h)).catch(() => {}); // rejection: surfaced by connect()
  const patched = new WeakSet<object>();
  const install = (pool: object): void => {
    if (helper === undefined || patched.has(pool)) return;
    helper.installRetry(pool as never, source);
    patched.add(pool);
  };
  if (engine === 'pg') {
    // Public hook (7.0.16+): patches the pool however it gets created, before its first connect.
    const user = conn.options.driverOptions as { onPoolCreated?: (pool: object) => unknown } | undefined;
    conn.options.driverOptions = {
      ...user,
      onPoolCreated: (pool: object) => {
        install(pool);
        return user?.onPoolCreated?.(pool);
      },
    };
  }
  // mysql2 pools have no creation hook: patch between building the pool and the first query
  // (onConnect's ensureDatabase already queries), so connect without onConnect, patch, then run it.
  const connect = conn.connect.bind(conn);
  conn.connect = async (options) => {
    helper ??= await helperPromise;
    const creds = await source.get();
    if (conn.type === 'write') {
      Object.assign(
        conn.options,
        endpointFromSecret(creds, { host: !explicit.host, port: !explicit.port, database: false }),
      );
    }
    await connect({ ...options, skipOnConnect: true });
    install(await conn.getNativeClient());
    if (options?.skipOnConnect !== true) await conn.onConnect();
  };
}

function validate(ormOptions: RotatingOrmOptions, options: MikroOrmAdapterOptions): void {
  checkOptions('mikro-orm', options, 'the adapter options', { allowed: ['closeSource', 'closeSourceOnClose'] });
  checkOptions('mikro-orm', ormOptions, 'the MikroORM options');
  if (typeof ormOptions.driver !== 'function') {
    throw new ConfigurationError(
      '@dbcreds/mikro-orm: the MikroORM options need a `driver` class (e.g. PostgreSqlDriver, MySqlDriver)',
      { keys: ['driver'] },
    );
  }
  const why = 'user and password always come from the secret (use host/port/dbName)';
  const bad = presentKeys(ormOptions, CREDENTIAL_KEYS);
  for (const [i, r] of (ormOptions.replicas ?? []).entries())
    bad.push(...presentKeys(r, CREDENTIAL_KEYS, `replicas[${i}].`));
  forbidKeys('mikro-orm', bad, `must not be set: ${why}`);
  const d = ormOptions.driverOptions;
  if (d !== undefined && (typeof d !== 'object' || d === null || 'createDriver' in d || 'selectFrom' in d)) {
    throw new ConfigurationError(
      '@dbcreds/mikro-orm: driverOptions must be a plain options object: a function, Kysely instance or dialect bypasses the credential hook',
      { keys: ['driverOptions'] },
    );
  }
  // MikroORM 6 merges driverOptions into the knex config, MikroORM 7 into the pool options.
  checkOptions('mikro-orm', d ?? {}, 'driverOptions', {
    forbidden: DRIVER_OPTION_KEYS,
    why: 'they bypass the credential hook',
    prefix: 'driverOptions.',
  });
}

import { ConfigurationError, type CredentialSource, type CredentialSourceOptions } from '@dbcreds/core';
import {
  adoptSource,
  checkOptions,
  endpointFieldsFromSecret,
  forbidKeys,
  iamDriverRequirements,
  loadPeer,
  presentKeys,
} from '@dbcreds/core/adapter';
import type { Knex } from 'knex';
import { rotatingDialect } from './dialect.js';
import peerRequire from './require.cjs';

/** `client` names accepted; `mysql` is served by the mysql2 dialect (the only MySQL driver supported). */
export type RotatingKnexClient = 'pg' | 'postgres' | 'postgresql' | 'mysql2' | 'mysql';

/** knex's dialect module per client name. knex is an optional peer (MikroORM 7 users of this package need none). */
const DIALECTS: Record<RotatingKnexClient, 'postgres' | 'mysql2'> = {
  pg: 'postgres',
  postgres: 'postgres',
  postgresql: 'postgres',
  mysql2: 'mysql2',
  mysql: 'mysql2',
};

/** Connection keys that would override the secret; the secret always supplies user and password. */
const FORBIDDEN_CONNECTION_KEYS = ['user', 'password', 'connectionString', 'uri', 'url'];

/** knex connection settings without credentials: host/port/database here win over the secret's. */
export type RotatingConnectionConfig =
  | Omit<Knex.PgConnectionConfig, 'user' | 'password' | 'connectionString'>
  | Omit<Knex.MySql2ConnectionConfig, 'user' | 'password'>;

/** A knex config whose credentials come from the secret. */
export interface RotatingKnexConfig extends Omit<Knex.Config, 'client' | 'dialect' | 'connection' | 'connectionPool'> {
  client: RotatingKnexClient;
  connection?: RotatingConnectionConfig;
}

export interface KnexAdapterOptions {
  /**
   * Close the credential source when `knex.destroy()` runs. Default: true when `source` was given
   * as options (the adapter created it), false when a `CredentialSource` was passed in.
   */
  closeSource?: boolean;
  /** @deprecated Old name of `closeSource` (still accepted). */
  closeSourceOnDestroy?: boolean;
}

const ADAPTER_OPTION_KEYS = ['closeSource', 'closeSourceOnDestroy'];

/**
 * Returns a knex config whose `client` is a subclass of the requested dialect: every new physical
 * connection reads user/password from `source`; an auth failure refreshes the secret and retries
 * that connection once (`source.withAuthRetry`). Pass the result to `knex(...)`.
 */
export function withRotatingCredentials(
  config: RotatingKnexConfig,
  source: CredentialSource | CredentialSourceOptions,
  options: KnexAdapterOptions = {},
): Knex.Config {
  const { client, connection = {}, ...rest } = validate(config, options);
  const adopted = adoptSource(source, options.closeSource ?? options.closeSourceOnDestroy);
  const dialect = DIALECTS[client];
  // Loaded here, with this package's own require: a missing knex is a ConfigurationError naming it.
  const Dialect = loadPeer<typeof Knex.Client>(peerRequire, `knex/lib/dialects/${dialect}/index.js`, '@dbcreds/knex', {
    keys: ['client'],
  });
  const family = dialect === 'postgres' ? 'postgres' : 'mysql';
  const iam = iamDriverRequirements('knex', adopted.source, family, { ...connection }, 'connection.');
  const base: Record<string, unknown> = { ...connection, ...iam };
  const Client = rotatingDialect(Dialect, adopted.source, {
    base,
    fill: endpointFieldsFromSecret(base),
    closeSource: adopted.closeSource,
  });

  // knex only builds its pool when `connection` is truthy; an empty object is enough.
  return { ...rest, client: Client, connection: { ...connection } as Knex.StaticConnectionConfig };
}

function validate(config: RotatingKnexConfig, options: KnexAdapterOptions): RotatingKnexConfig {
  checkOptions('knex', options, 'the adapter options', { allowed: ADAPTER_OPTION_KEYS });
  checkOptions('knex', config, 'the knex config');
  const raw = config as Knex.Config;
  if (typeof raw.client !== 'string' || !Object.hasOwn(DIALECTS, raw.client)) {
    throw new ConfigurationError(
      `@dbcreds/knex: client must be one of ${Object.keys(DIALECTS).join(', ')} (got ${describe(raw.client ?? raw.dialect)})`,
      { keys: ['client'] },
    );
  }
  forbidKeys('knex', presentKeys(raw, ['dialect', 'connectionPool']), 'is not supported with rotating credentials');
  const connection = raw.connection;
  if (connection === undefined) return config;
  if (typeof connection !== 'object' || connection === null) {
    throw new ConfigurationError(
      '@dbcreds/knex: connection must be an object of discrete fields (no connection string or provider function): user and password come from the secret',
      { keys: ['connection'] },
    );
  }
  checkOptions('knex', connection, 'connection', {
    forbidden: FORBIDDEN_CONNECTION_KEYS,
    why: 'user and password always come from the secret',
    prefix: 'connection.',
  });
  return config;
}

function describe(value: unknown): string {
  return typeof value === 'string' ? `'${value}'` : typeof value;
}

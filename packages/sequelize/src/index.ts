/**
 * Sequelize 6 options whose every new connection takes user and password from a CredentialSource.
 * The hook is the dialect connection manager's `connect(config)`: Sequelize calls it once per new
 * physical connection (pool `create`, replication read/write pools, the version probe) with that
 * node's config, after the `beforeConnect` hooks. The options object reaches that method through a
 * `beforeConnect` hook, whose `this` is the Sequelize instance: the first call replaces
 * `connectionManager.connect` on the instance (before Sequelize calls it) with one that writes the
 * secret into the node's config inside `source.withAuthRetry` (refresh once on 28P01/28000/1045,
 * reconnect once). README.md explains why not `beforeConnect` alone or `retry.match`.
 */
import type { CredentialSource, CredentialSourceOptions, DbCredentials } from '@dbcreds/core';
import { ConfigurationError } from '@dbcreds/core';
import {
  adoptReplicaSources,
  applyCredentials,
  checkOptions,
  endpointFieldsFromSecret,
  engineFamily,
  forbidKeys,
  hideConnectionPassword,
  iamDriverRequirements,
  presentKeys,
  type SecretEndpointFields,
} from '@dbcreds/core/adapter';
import type { ConnectionOptions, Options, Sequelize } from 'sequelize';

export interface SequelizeAdapterOptions {
  /**
   * Close the credential source(s) on `sequelize.close()`. Default: true for a source given as
   * options (the adapter created it), false for a `CredentialSource` passed in.
   */
  closeSource?: boolean;
  /**
   * The credentials of the `replication.read` nodes, when the readers have their own secret
   * (a `CredentialSource` or its options). Default: `source` (one secret per cluster).
   */
  readerSource?: CredentialSource | CredentialSourceOptions;
}

const ADAPTER_OPTION_KEYS = ['closeSource', 'readerSource'];
const DIALECTS = ['postgres', 'postgresql', 'mysql', 'mariadb'];
/** `url` too: Sequelize ignores it in the options object (host, port, database would fall back to defaults). */
const CREDENTIAL_KEYS = ['username', 'password', 'url'];
const WHY = 'user and password always come from the secret (host, port and database may be set)';
/** mysql and mariadb spread `dialectOptions` over the connection config: credentials there would win. */
const DIALECT_CREDENTIAL_KEYS = ['user', 'username', 'password', 'connectionString', 'uri', 'url'];

type NodeConfig = Record<string, unknown>;
interface ConnectionManagerLike {
  connect(config: NodeConfig): Promise<unknown>;
  close(): Promise<unknown>;
  config: NodeConfig & { replication?: { read: NodeConfig[]; write: NodeConfig } | false };
  /** postgres: the pg module whose `Client` Sequelize constructs. */
  lib?: { Client?: new (...args: any[]) => { on(e: 'error', l: () => void): unknown } };
}
/**
 * On each pg Client from construction until Sequelize's `connect` returns: Sequelize attaches its own
 * 'error' listener only after the login, so a session killed in the same socket read as the login's
 * ReadyForQuery (as rotations and failovers do) was an unhandled 'error' event, i.e. a crash. Marked
 * `_invalid` as Sequelize's own listener would; the setup query fails and the pool drops it.
 */
function guardUntilConnected(this: { _invalid?: boolean }): void {
  this._invalid = true;
}
/** Marks a connection manager whose `connect` this package already replaced. */
const INSTALLED = Symbol('dbcreds.sequelize.installed');

/**
 * Returns the options for `new Sequelize(options)` (dialects `postgres`, `mysql`, `mariadb`, with or
 * without `replication`): user and password of every new connection come from `source` (readers:
 * `adapterOptions.readerSource` if given); explicit `host`/`port`/`database` (per replication node,
 * then top level) win over the secret's `host`/`port`/`dbname`. One `Sequelize` per returned object.
 */
export function withRotatingCredentials<T extends Options>(
  options: T,
  source: CredentialSource | CredentialSourceOptions,
  adapterOptions: SequelizeAdapterOptions = {},
): T {
  validate(options, adapterOptions);
  const sources = adoptReplicaSources(source, adapterOptions.readerSource, adapterOptions.closeSource);
  const { writer, reader } = sources;
  const replication = options.replication || undefined;
  const fill = (node: ConnectionOptions = {}): SecretEndpointFields =>
    endpointFieldsFromSecret({
      host: node.host ?? options.host,
      port: node.port ?? options.port,
      database: node.database ?? options.database,
    });
  const topFill = fill();
  const writeFill = fill(replication?.write);
  const readFills = replication ? [replication.read].flat().map(fill) : [];

  function install(this: Sequelize): void {
    const cm = this.connectionManager as unknown as ConnectionManagerLike & { [INSTALLED]?: true };
    if (cm[INSTALLED]) return;
    cm[INSTALLED] = true;
    const connect = cm.connect.bind(cm);
    cm.connect = (config) => {
      const rep = cm.config.replication || undefined;
      const readIndex = rep ? rep.read.indexOf(config) : -1;
      const node =
        readIndex >= 0
          ? { adopted: reader, fill: readFills[readIndex] ?? topFill }
          : { adopted: writer, fill: rep ? writeFill : topFill };
      return node.adopted.source.withAuthRetry((creds: DbCredentials) => {
        applyCredentials(config, creds, node.fill); // password non-enumerable
        config.username = creds.username; // Sequelize's name for it (postgres copies it to `user`)
        return connect(config).then((c) => {
          (c as { removeListener?: (e: string, l: () => void) => void }).removeListener?.('error', guardUntilConnected);
          hideConnectionPassword(c); // the driver's copies (pg connectionParameters, mysql2 config)
          return c;
        });
      });
    };
    const Client = cm.lib?.Client;
    if (Client) {
      const Guarded = class extends Client {
        constructor(...args: any[]) {
          super(...args);
          this.on('error', guardUntilConnected);
        }
      };
      cm.lib = Object.assign(Object.create(cm.lib as object), { Client: Guarded });
    }
    const pool = (cm as unknown as { pool: { destroy(c: { queryType?: string }): unknown; read?: unknown } }).pool;
    if (pool.read) {
      // Sequelize 6 bug: with replication, a connection the server kills while Sequelize still sets
      // it up (before `queryType` is assigned) makes `pool[undefined].destroy` throw from the driver's
      // 'error' event, i.e. an uncaught exception. Such a connection is in no pool yet and is marked
      // `_invalid`, so the pool's validate drops it: skip the destroy.
      const destroy = pool.destroy.bind(pool);
      pool.destroy = (c) => (c.queryType === undefined ? undefined : destroy(c));
    }
    const close = cm.close.bind(cm);
    cm.close = async () => {
      try {
        return await close();
      } finally {
        sources.close();
      }
    };
  }

  // An RDS IAM source needs TLS (and mysql2's clear-text plugin): refused, or configured, here.
  const dialectOptions = { ...options.dialectOptions } as Record<string, unknown>;
  const family = engineFamily(options.dialect) ?? 'mysql';
  const given = options.dialect === 'mariadb' ? { ...dialectOptions, enableCleartextPlugin: true } : dialectOptions;
  for (const a of new Set([writer, reader])) {
    Object.assign(dialectOptions, iamDriverRequirements('sequelize', a.source, family, given, 'dialectOptions.'));
  }
  const hooks = (options.hooks ?? {}) as Record<string, unknown>;
  const theirs = [hooks.beforeConnect ?? []].flat();
  return { ...options, dialectOptions, hooks: { ...hooks, beforeConnect: [install, ...theirs] } } as T;
}

function validate(options: Options, adapterOptions: SequelizeAdapterOptions): void {
  checkOptions('sequelize', adapterOptions, 'the adapter options', { allowed: ADAPTER_OPTION_KEYS });
  checkOptions('sequelize', options, 'the Sequelize options');
  if (!DIALECTS.includes(options.dialect as string)) {
    throw new ConfigurationError(
      `@dbcreds/sequelize: dialect must be one of postgres, mysql, mariadb (got ${JSON.stringify(options.dialect)})`,
      { keys: ['dialect'] },
    );
  }
  const bad = presentKeys(options, CREDENTIAL_KEYS);
  bad.push(...presentKeys(options.dialectOptions, DIALECT_CREDENTIAL_KEYS, 'dialectOptions.'));
  const replication = options.replication || undefined;
  if (replication) {
    checkOptions('sequelize', replication, 'replication', { allowed: ['read', 'write'], prefix: 'replication.' });
    bad.push(...presentKeys(replication.write, CREDENTIAL_KEYS, 'replication.write.'));
    bad.push(
      ...[replication.read].flat().flatMap((node, i) => presentKeys(node, CREDENTIAL_KEYS, `replication.read[${i}].`)),
    );
  }
  forbidKeys('sequelize', bad, `must not be set: ${WHY}`);
}

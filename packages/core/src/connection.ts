import { defaultPort } from './credentials.js';
import { ConfigurationError } from './errors.js';
import type { DbCredentials } from './types.js';

/** Which endpoint fields a driver config takes from the secret: those the user did not set explicitly. */
export interface SecretEndpointFields {
  host: boolean;
  port: boolean;
  database: boolean;
}

/**
 * The endpoint fields to fill from the secret, given the user's explicit connection options. A
 * `socketPath` (mysql2, mariadb) names the server as `host` does.
 */
export function endpointFieldsFromSecret(explicit: {
  host?: unknown;
  port?: unknown;
  database?: unknown;
  socketPath?: unknown;
}): SecretEndpointFields {
  return {
    host: explicit.host === undefined && explicit.socketPath === undefined,
    port: explicit.port === undefined,
    database: explicit.database === undefined,
  };
}

/**
 * Writes the secret into a driver's connection options object (pg `Pool.options`, mysql2
 * `connectionConfig`, knex `connectionSettings`): `user` always; `password` always, as a
 * non-enumerable property so `console.log`/`JSON.stringify` of the driver's config never show it;
 * `host`/`port`/`database` from the secret's `host`/`port`/`dbname` where `fill` says so.
 * Every adapter uses this, so explicit options win over the secret the same way everywhere.
 */
export function applyCredentials(
  target: Record<string, unknown>,
  creds: DbCredentials,
  fill: SecretEndpointFields,
): void {
  const endpoint = endpointFromSecret(creds, fill); // throws before the target holds any credentials
  target.user = creds.username;
  hidePassword(target, creds.password);
  Object.assign(target, endpoint);
}

/**
 * Makes `target.password` a non-enumerable accessor (with `value`, or the value it holds now): the driver
 * reads it as before, while `inspect(…, { showHidden: true })` of the object (and of objects sharing it,
 * e.g. mysql2's pool connections) shows `[Getter/Setter]`, and JSON, spreads and `Object.assign` skip it.
 */
export function hidePassword(target: object | null | undefined, value?: string): void {
  if (target === null || typeof target !== 'object') return;
  const own = Object.getOwnPropertyDescriptor(target, 'password');
  if (value === undefined && !(own && 'value' in own && typeof own.value === 'string')) return;
  let password = value ?? (own!.value as string);
  Object.defineProperty(target, 'password', {
    get: () => password,
    set: (v: string) => {
      password = v;
    },
    enumerable: false,
    configurable: true,
  });
}

/**
 * `hidePassword` on the places drivers keep a connection's password after connecting: the object
 * itself and pg's `connectionParameters` (pg `Client`), mysql2's `config` (`Connection`).
 */
export function hideConnectionPassword(conn: unknown): void {
  if (conn === null || typeof conn !== 'object') return;
  const c = conn as { connectionParameters?: object; config?: object };
  hidePassword(c);
  hidePassword(c.connectionParameters);
  hidePassword(c.config);
}

/**
 * The secret's `host` / `port` / `dbname` (as `database`) that `fill` selects and the secret has; the
 * engine's own port when neither gives one (Redshift: 5439). Throws a ConfigurationError when the host
 * is to come from the secret and the secret has none: drivers would otherwise send the credentials to
 * their default host (localhost), a server nobody chose.
 */
export function endpointFromSecret(
  creds: DbCredentials,
  fill: SecretEndpointFields,
): { host?: string; port?: number; database?: string } {
  const out: { host?: string; port?: number; database?: string } = {};
  if (fill.host) {
    if (creds.host === undefined) throw noHostError(creds);
    out.host = creds.host;
  }
  const port = creds.port ?? defaultPort(creds.engine);
  if (fill.port && port !== undefined) out.port = port;
  if (fill.database && creds.dbname !== undefined) out.database = creds.dbname;
  return out;
}

function noHostError(creds: DbCredentials): ConfigurationError {
  return new ConfigurationError(
    `dbcreds: the secret (version ${creds.versionId}) has no host, and no host was given in the options: set \`host\` ` +
      "(and port, database) in the adapter's options. RDS-managed secrets (rds!… names) hold only username and " +
      'password; without a host the driver would send them to its default host (localhost).',
    { keys: ['host'] },
  );
}

import type { DbCredentials } from './types.js';

/** Which endpoint fields a driver config takes from the secret: those the user did not set explicitly. */
export interface SecretEndpointFields {
  host: boolean;
  port: boolean;
  database: boolean;
}

/** The endpoint fields to fill from the secret, given the user's explicit connection options. */
export function endpointFieldsFromSecret(explicit: {
  host?: unknown;
  port?: unknown;
  database?: unknown;
}): SecretEndpointFields {
  return {
    host: explicit.host === undefined,
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
  target.user = creds.username;
  Object.defineProperty(target, 'password', {
    value: creds.password,
    enumerable: false,
    writable: true,
    configurable: true,
  });
  Object.assign(target, endpointFromSecret(creds, fill));
}

/** The secret's `host` / `port` / `dbname` (as `database`) that `fill` selects and the secret has. */
export function endpointFromSecret(
  creds: DbCredentials,
  fill: SecretEndpointFields,
): { host?: string; port?: number; database?: string } {
  const out: { host?: string; port?: number; database?: string } = {};
  if (fill.host && creds.host !== undefined) out.host = creds.host;
  if (fill.port && creds.port !== undefined) out.port = creds.port;
  if (fill.database && creds.dbname !== undefined) out.database = creds.dbname;
  return out;
}

import type { DbCredentials, DbEngine } from '@dbcreds/core';
import { UsageError } from './args.js';

/** The two URL/environment conventions `dbcreds exec` and `dbcreds url` speak. */
export type EngineFamily = 'postgres' | 'mysql';

/** Where the command connects: explicit flags first, then the secret's fields. */
export interface Endpoint {
  host?: string;
  port?: number;
  database?: string;
  engine?: EngineFamily;
}

/** What a command receives: credentials plus a resolved endpoint. */
export interface Connection {
  family: EngineFamily;
  username: string;
  password: string;
  host: string;
  port: number;
  database: string | undefined;
  /** Query parameters passed through to the URL (e.g. `sslmode=require`), in the order given. */
  params: Array<[string, string]>;
}

const DEFAULT_PORT: Record<EngineFamily, number> = { postgres: 5432, mysql: 3306 };

export function engineFamily(engine: DbEngine | undefined): EngineFamily | undefined {
  if (engine === undefined) return undefined;
  return engine === 'postgres' || engine === 'aurora-postgresql' ? 'postgres' : 'mysql';
}

/** Resolves the endpoint (flags over secret); never invents a host. Throws {@link UsageError} naming the missing flag. */
export function resolveConnection(
  creds: DbCredentials,
  flags: Endpoint,
  params: Array<[string, string]> = [],
): Connection {
  const family = flags.engine ?? engineFamily(creds.engine);
  if (!family) {
    throw new UsageError("the secret has no 'engine' field: pass --engine postgres or --engine mysql");
  }
  const host = flags.host ?? creds.host;
  if (!host) throw new UsageError("the secret has no 'host' field: pass --host");
  return {
    family,
    username: creds.username,
    password: creds.password,
    host,
    port: flags.port ?? creds.port ?? DEFAULT_PORT[family],
    database: flags.database ?? creds.dbname,
    params,
  };
}

// Everything but RFC 3986 unreserved characters is percent-encoded: encodeURIComponent leaves
// !'()* alone, which WHATWG URL and libpq accept, but some hand-written parsers split on them.
const enc = (s: string) =>
  encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

function urlHost(host: string): string {
  if (host.includes(':') && !host.startsWith('[')) return `[${host}]`; // IPv6 literal
  return /^[A-Za-z0-9.\-[\]:]+$/.test(host) ? host : enc(host);
}

/**
 * `postgresql://` or `mysql://` URL with every component percent-encoded. `withPassword: false`
 * leaves the password out (libpq then reads it from PGPASSWORD or the pgpass file).
 */
export function connectionUrl(c: Connection, opts: { withPassword?: boolean } = {}): string {
  const scheme = c.family === 'postgres' ? 'postgresql' : 'mysql';
  const auth = opts.withPassword === false ? enc(c.username) : `${enc(c.username)}:${enc(c.password)}`;
  const path = c.database === undefined ? '' : `/${enc(c.database)}`;
  const query = c.params.length ? `?${c.params.map(([k, v]) => `${enc(k)}=${enc(v)}`).join('&')}` : '';
  return `${scheme}://${auth}@${urlHost(c.host)}:${c.port}${path}${query}`;
}

// libpq reads these query parameters from the environment too (https://www.postgresql.org/docs/current/libpq-envars.html).
const PG_PARAM_ENV: Record<string, string> = {
  sslmode: 'PGSSLMODE',
  sslrootcert: 'PGSSLROOTCERT',
  sslcert: 'PGSSLCERT',
  sslkey: 'PGSSLKEY',
  application_name: 'PGAPPNAME',
  connect_timeout: 'PGCONNECT_TIMEOUT',
  options: 'PGOPTIONS',
  target_session_attrs: 'PGTARGETSESSIONATTRS',
};

/**
 * The client tools' variables. PostgreSQL: libpq's PGHOST/PGPORT/PGUSER/PGPASSWORD/PGDATABASE (plus
 * the libpq equivalents of passed-through parameters). MySQL/MariaDB: the `mysql`/`mariadb` clients
 * read MYSQL_HOST, MYSQL_TCP_PORT and MYSQL_PWD; MYSQL_USER and MYSQL_DATABASE are for scripts
 * (`mysql -u "$MYSQL_USER" "$MYSQL_DATABASE"`), the clients ignore them.
 */
export function connectionEnv(c: Connection, opts: { withPassword?: boolean } = {}): Record<string, string> {
  const withPassword = opts.withPassword !== false;
  const env: Record<string, string> = {};
  if (c.family === 'postgres') {
    env.PGHOST = c.host;
    env.PGPORT = String(c.port);
    env.PGUSER = c.username;
    if (withPassword) env.PGPASSWORD = c.password;
    if (c.database !== undefined) env.PGDATABASE = c.database;
    for (const [k, v] of c.params) if (PG_PARAM_ENV[k]) env[PG_PARAM_ENV[k]] = v;
  } else {
    env.MYSQL_HOST = c.host;
    env.MYSQL_TCP_PORT = String(c.port);
    env.MYSQL_USER = c.username;
    if (withPassword) env.MYSQL_PWD = c.password;
    if (c.database !== undefined) env.MYSQL_DATABASE = c.database;
  }
  return env;
}

/**
 * One `.pgpass` line matching any host, port and database for this user: `:` and `\` are escaped
 * with a backslash as libpq requires; a line break cannot be represented.
 */
export function pgpassLine(c: Connection): string {
  if (/[\r\n]/.test(c.password) || /[\r\n]/.test(c.username)) {
    throw new UsageError('the password or username contains a line break, which a pgpass file cannot hold');
  }
  const esc = (s: string) => s.replace(/[\\:]/g, (ch) => `\\${ch}`);
  return `*:*:*:${esc(c.username)}:${esc(c.password)}\n`;
}

import { inspect } from 'node:util';
import { SecretFormatError } from './errors.js';
import { type FoundFields, fieldsFromJson, fieldsFromUrl, isConnectionUrl, type SecretField } from './secret-shape.js';
import type { DbCredentials, DbEngine, SecretKeys, VersionStage } from './types.js';

const REDACTED = '[redacted]';

const ENGINES: Readonly<Record<string, DbEngine>> = {
  mysql: 'mysql',
  mariadb: 'mariadb',
  postgres: 'postgres',
  postgresql: 'postgres',
  'aurora-mysql': 'aurora-mysql',
  'aurora-postgresql': 'aurora-postgresql',
  // Legacy Aurora MySQL 5.6 secrets say just "aurora".
  aurora: 'mysql',
  // Redshift (provisioned and Serverless) speaks the PostgreSQL protocol.
  redshift: 'redshift',
};

/** Ports of engines whose clients do not default to them (the pg driver's default is 5432). */
const DEFAULT_PORTS: Partial<Record<DbEngine, number>> = { redshift: 5439 };

/** The engine's port when the secret and the options give none, if it differs from the driver's default. */
export function defaultPort(engine: DbEngine | undefined): number | undefined {
  return engine === undefined ? undefined : DEFAULT_PORTS[engine];
}

interface CredentialFields {
  username: string;
  password: string;
  host?: string | undefined;
  port?: number | undefined;
  dbname?: string | undefined;
  engine?: DbEngine | undefined;
  masterarn?: string | undefined;
  versionId: string;
  stage: VersionStage;
  createdAt?: number | undefined;
  region?: string | undefined;
}

/**
 * Immutable credentials. The password lives in a private field behind a prototype getter, so it is
 * not an own property: JSON, inspect, String(), spread and Object.keys never see it.
 */
export class Credentials implements DbCredentials {
  readonly username: string;
  readonly host?: string;
  readonly port?: number;
  readonly dbname?: string;
  readonly engine?: DbEngine;
  readonly masterarn?: string;
  readonly versionId: string;
  readonly stage: VersionStage;
  readonly createdAt?: number;
  readonly region?: string;
  readonly #password: string;

  constructor(fields: CredentialFields) {
    this.username = fields.username;
    this.#password = fields.password;
    if (fields.host !== undefined) this.host = fields.host;
    if (fields.port !== undefined) this.port = fields.port;
    if (fields.dbname !== undefined) this.dbname = fields.dbname;
    if (fields.engine !== undefined) this.engine = fields.engine;
    if (fields.masterarn !== undefined) this.masterarn = fields.masterarn;
    this.versionId = fields.versionId;
    this.stage = fields.stage;
    if (fields.createdAt !== undefined) this.createdAt = fields.createdAt;
    if (fields.region !== undefined) this.region = fields.region;
    Object.freeze(this);
  }

  get password(): string {
    return this.#password;
  }

  /** Same credentials, different stage label (the version is immutable, only its labels move). */
  withStage(stage: VersionStage): Credentials {
    if (stage === this.stage) return this;
    return new Credentials({ ...this.toJSON(), password: this.#password, stage });
  }

  toJSON(): Omit<CredentialFields, 'password'> & { password: string } {
    const out: Record<string, unknown> = { username: this.username, password: REDACTED };
    for (const key of ['host', 'port', 'dbname', 'engine', 'masterarn'] as const) {
      if (this[key] !== undefined) out[key] = this[key];
    }
    out.versionId = this.versionId;
    out.stage = this.stage;
    if (this.createdAt !== undefined) out.createdAt = this.createdAt;
    if (this.region !== undefined) out.region = this.region;
    return out as Omit<CredentialFields, 'password'> & { password: string };
  }

  toString(): string {
    const where = this.host ? `@${this.host}${this.port ? `:${this.port}` : ''}` : '';
    return `DbCredentials(${this.username}${where}, password: '${REDACTED}', version ${this.versionId} ${this.stage})`;
  }

  [inspect.custom](_depth: number, options: object): string {
    return `DbCredentials ${inspect(this.toJSON(), { ...options, customInspect: false })}`;
  }
}

/**
 * Parses a database secret: RDS-style JSON (`engine, host, port, username, password, dbname`, optional
 * `masterarn`; other keys ignored), the same fields at the keys `keys` names (or a URL at `keys.url`),
 * or a SecretString that is itself a connection URL. Errors name the offending field, never its value.
 */
export function parseDbSecret(
  secretId: string,
  secretString: string,
  meta: { versionId: string; stage: VersionStage; createdAt?: number | undefined; region?: string | undefined },
  keys?: SecretKeys,
): Credentials {
  if (isConnectionUrl(secretString))
    return toCredentials(secretId, fieldsFromUrl(secretId, secretString, 'SecretString'), meta);
  let raw: unknown;
  try {
    raw = JSON.parse(secretString);
  } catch {
    // The parser's message may quote the secret text: do not chain it.
    throw new SecretFormatError(secretId, 'SecretString is not JSON (nor a connection URL)');
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new SecretFormatError(secretId, 'SecretString is not a JSON object');
  }
  return toCredentials(secretId, fieldsFromJson(secretId, raw as Record<string, unknown>, keys), meta);
}

/** Checks the found fields' types and values (username and password required) and builds the credentials. */
function toCredentials(
  secretId: string,
  found: FoundFields,
  meta: { versionId: string; stage: VersionStage; createdAt?: number | undefined; region?: string | undefined },
): Credentials {
  const str = (field: SecretField, required: boolean): string | undefined => {
    const f = found[field];
    const v = f?.value;
    const what = f?.what ?? `field '${field}'`;
    const key = f?.key ?? field;
    if (v === undefined || v === null) {
      if (required) throw new SecretFormatError(secretId, `missing ${what}`, { field: key });
      return undefined;
    }
    if (typeof v !== 'string') throw new SecretFormatError(secretId, `${what} must be a string`, { field: key });
    if (required && v.length === 0) throw new SecretFormatError(secretId, `${what} is empty`, { field: key });
    return v;
  };
  const username = str('username', true)!;
  const password = str('password', true)!;
  const host = str('host', false) || undefined;
  const dbname = str('dbname', false) || undefined;
  const masterarn = str('masterarn', false) || undefined;
  const engineRaw = str('engine', false);
  let engine: DbEngine | undefined;
  if (engineRaw) {
    engine = normalizeEngine(engineRaw);
    if (!engine) {
      const f = found.engine!;
      throw new SecretFormatError(
        secretId,
        `${f.what} is '${engineRaw}', expected one of ${Object.keys(ENGINES).join(', ')}`,
        { field: f.key },
      );
    }
  }
  const port = parsePort(found.port?.value);
  if (port === null) {
    const f = found.port!;
    throw new SecretFormatError(secretId, `${f.what} must be an integer in 1..65535`, { field: f.key });
  }
  return new Credentials({ username, password, host, port, dbname, engine, masterarn, ...meta });
}

/**
 * The secret's `port` (a number, or digits in a string): undefined when absent, null when invalid
 * (not an integer in 1..65535). The one port rule of core and `@dbcreds/rotation`.
 */
export function parsePort(v: unknown): number | undefined | null {
  if (v === undefined || v === null || v === '') return undefined;
  const n = typeof v === 'number' ? v : typeof v === 'string' && /^\s*\d+\s*$/.test(v) ? Number(v) : Number.NaN;
  return Number.isInteger(n) && n >= 1 && n <= 65_535 ? n : null;
}

/** The secret's `engine` as dbcreds names it (case and spaces ignored; `postgresql` → `postgres`), undefined if unknown. */
export function normalizeEngine(raw: string): DbEngine | undefined {
  return Object.hasOwn(ENGINES, raw.trim().toLowerCase()) ? ENGINES[raw.trim().toLowerCase()] : undefined;
}

/** The driver family of an engine: the wire protocol a client speaks. */
export type EngineFamily = 'mysql' | 'postgres';

/**
 * 'mysql' for MySQL-protocol engines, 'postgres' for PostgreSQL ones, undefined if unknown. Takes a
 * normalised `DbEngine` or the secret's raw `engine` text (e.g. 'Aurora-PostgreSQL').
 */
export function engineFamily(engine: DbEngine | string | undefined): EngineFamily | undefined {
  if (engine === undefined) return undefined;
  const e = normalizeEngine(engine);
  if (e === undefined) return undefined;
  return e === 'postgres' || e === 'aurora-postgresql' || e === 'redshift' ? 'postgres' : 'mysql';
}

/** All engine names a secret may carry (the keys `normalizeEngine` accepts). */
export const ENGINE_NAMES: readonly string[] = Object.keys(ENGINES);

/** Same secret version and stage label. */
export function sameVersion(a: DbCredentials, b: DbCredentials): boolean {
  return a.versionId === b.versionId && a.stage === b.stage;
}

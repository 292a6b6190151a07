import { ENGINE_NAMES, type EngineFamily, engineFamily as familyOf, parsePort } from '@dbcreds/core/adapter';
import { SecretValueError } from './errors.js';
import type { DbSecretValue } from './types.js';

export type { EngineFamily };

/** Parses a secret string as a database secret; errors never quote the value. */
export function parseDbSecret(
  secretString: string | undefined,
  what: string,
  secretId: string,
  step: string,
): DbSecretValue {
  const ctx = { secretId, step };
  if (secretString === undefined) throw new SecretValueError(`${what} has no SecretString`, ctx);
  let parsed: unknown;
  try {
    parsed = JSON.parse(secretString);
  } catch {
    // The parser's message can quote the secret text: drop it.
    throw new SecretValueError(`${what} is not valid JSON`, ctx);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new SecretValueError(`${what} is not a JSON object`, ctx);
  }
  const v = parsed as Record<string, unknown>;
  if (typeof v.username !== 'string' || v.username === '') {
    throw new SecretValueError(`${what} lacks a non-empty string "username"`, ctx);
  }
  if (typeof v.password !== 'string') throw new SecretValueError(`${what} lacks a string "password"`, ctx);
  // Core's port rule (the one the app side applies): a number or digits, 1..65535.
  if (parsePort(v.port) === null)
    throw new SecretValueError(`${what} has a "port" that is not an integer in 1..65535`, ctx);
  return v as DbSecretValue;
}

/** Maps the secret's `engine` to the driver family (core's engine table). */
export function engineFamily(secret: DbSecretValue, secretId: string, step: string): EngineFamily {
  const engine = typeof secret.engine === 'string' ? secret.engine : undefined;
  const family = familyOf(engine);
  if (family === undefined) {
    throw new SecretValueError(
      `secret "engine" must be one of ${ENGINE_NAMES.join(', ')} (got ${engine === undefined ? 'none' : JSON.stringify(engine)})`,
      { secretId, step },
    );
  }
  return family;
}

export const CLONE_SUFFIX = '_clone';

/** `u` → `u_clone`, `u_clone` → `u` (the AWS templates' get_alt_username). */
export function alternateUsername(username: string): string {
  return username.endsWith(CLONE_SUFFIX) ? username.slice(0, -CLONE_SUFFIX.length) : username + CLONE_SUFFIX;
}

/** PostgreSQL's NAMEDATALEN - 1, in bytes. */
export const POSTGRES_NAME_LIMIT_BYTES = 63;
export const DEFAULT_MYSQL_USERNAME_LIMIT = 32;

/** Throws when `name` exceeds the engine's identifier limit. */
export function checkUsernameLength(
  name: string,
  family: EngineFamily,
  limit: number | undefined,
  secretId: string,
  step: string,
): void {
  if (family === 'postgres') {
    const max = Math.min(limit ?? POSTGRES_NAME_LIMIT_BYTES, POSTGRES_NAME_LIMIT_BYTES);
    const bytes = Buffer.byteLength(name, 'utf8');
    if (bytes > max) {
      throw new SecretValueError(
        `alternate username "${name}" is ${bytes} bytes; PostgreSQL allows ${max} (it would be silently truncated). Shorten the username.`,
        { secretId, step },
      );
    }
    return;
  }
  const max = limit ?? DEFAULT_MYSQL_USERNAME_LIMIT;
  const chars = [...name].length;
  if (chars > max) {
    throw new SecretValueError(
      `alternate username "${name}" is ${chars} characters; the limit is ${max} (usernameLimit / USERNAME_CHARACTER_LIMIT). Shorten the username.`,
      { secretId, step },
    );
  }
}

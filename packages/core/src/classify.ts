/**
 * Auth-error classification by error code only (never message text), walking wrapper chains.
 *
 * Recognised (see README):
 * - MySQL / MariaDB: errno 1045 (ER_ACCESS_DENIED_ERROR), or code 'ER_ACCESS_DENIED_ERROR'; errno 1698
 *   (ER_ACCESS_DENIED_NO_PASSWORD_ERROR): MariaDB authenticates an unknown (e.g. dropped, or not yet
 *   created) user as a randomly chosen existing account and answers 1698 when that one is a unix_socket
 *   account, so the same wrong login yields 1045 or 1698 depending on which accounts exist. dbcreds
 *   always sends a password: 1698 is a refusal a new secret can fix (retrying once is cheap).
 * - PostgreSQL: SQLSTATE 28P01 (invalid_password) and 28000 (invalid_authorization_specification;
 *   may also be a pg_hba rejection: retrying once is cheap).
 * - Prisma: code / errorCode 'P1000'; DriverAdapterError whose cause has kind 'AuthenticationFailed', or
 *   an `originalCode` of 28P01 / 28000 / 1045 (e.g. kind 'DatabaseAccessDenied', originalCode '28000').
 * - mariadb connector 45028 (ER_GET_CONNECTION_TIMEOUT) whose cause is 1045: found by walking `cause`.
 * Not auth errors: 1044 ER_DBACCESS_DENIED_ERROR (authenticated, no access to the database: new
 * credentials cannot fix grants), network errors, timeouts, anything matched only by text.
 */

const WRAPPER_KEYS = ['cause', 'original', 'parent', 'originalError', 'driverError', 'previous', 'error'] as const;
const MAX_NODES = 32;
const MAX_DEPTH = 8;

/** Returns a short code like 'mysql:1045', 'postgres:28P01', 'prisma:P1000' if `err` is an auth failure. */
export function authErrorCode(err: unknown): string | undefined {
  const seen = new Set<object>();
  const queue: Array<[unknown, number]> = [[err, 0]];
  while (queue.length > 0 && seen.size < MAX_NODES) {
    const [node, depth] = queue.shift()!;
    if (node === null || typeof node !== 'object' || seen.has(node)) continue;
    seen.add(node);
    const code = ownCode(node as Record<string, unknown>);
    if (code) return code;
    if (depth >= MAX_DEPTH) continue;
    const rec = node as Record<string, unknown>;
    for (const key of WRAPPER_KEYS) {
      const child = safeGet(rec, key);
      if (child !== undefined) queue.push([child, depth + 1]);
    }
    const meta = safeGet(rec, 'meta');
    if (meta && typeof meta === 'object') {
      const dae = safeGet(meta as Record<string, unknown>, 'driverAdapterError');
      if (dae !== undefined) queue.push([dae, depth + 1]);
    }
    const errors = safeGet(rec, 'errors');
    if (Array.isArray(errors)) {
      for (const e of errors.slice(0, MAX_NODES)) queue.push([e, depth + 1]);
    }
  }
  return undefined;
}

/** True if the error (or anything it wraps) is a database authentication failure, judged by code only. */
export function isAuthError(err: unknown): boolean {
  return authErrorCode(err) !== undefined;
}

/**
 * MySQL / MariaDB errnos with which a server refuses a login outright, beyond the auth codes:
 * 1044 ER_DBACCESS_DENIED_ERROR, 1524 ER_PLUGIN_IS_NOT_LOADED,
 * 4151 ER_ACCOUNT_HAS_BEEN_LOCKED (MariaDB; MySQL uses 3118).
 */
const MYSQL_LOGIN_REFUSED = new Set([1044, 1524, 3118, 4151]);

/**
 * True when the server refused the login itself (an auth error as `isAuthError`, or one of the MySQL
 * login refusals above), on the error or the first `cause`: retrying the same login cannot succeed, so a
 * pool should fail the waiters at once instead of letting them wait for a connection. Only the auth
 * errors are worth a secret refresh: use `isAuthError` for that.
 */
export function isLoginRefused(err: unknown): boolean {
  if (isAuthError(err)) return true;
  const errnos = [err, safeGet((err ?? {}) as Record<string, unknown>, 'cause')].map((e) =>
    e !== null && typeof e === 'object' ? safeGet(e as Record<string, unknown>, 'errno') : undefined,
  );
  return errnos.some((n) => typeof n === 'number' && MYSQL_LOGIN_REFUSED.has(n));
}

function ownCode(e: Record<string, unknown>): string | undefined {
  const errno = safeGet(e, 'errno');
  const code = safeGet(e, 'code');
  if (errno === 1045 || errno === '1045' || code === 'ER_ACCESS_DENIED_ERROR') return 'mysql:1045';
  if (errno === 1698 || errno === '1698' || code === 'ER_ACCESS_DENIED_NO_PASSWORD_ERROR') return 'mysql:1698';
  if (code === '28P01' || code === '28000') {
    // PostgreSQL SQLSTATE. A MySQL error's `code` is 'ER_…', its SQLSTATE lives in `sqlState`.
    return `postgres:${code}`;
  }
  if (code === 'P1000' || safeGet(e, 'errorCode') === 'P1000') return 'prisma:P1000';
  if (safeGet(e, 'kind') === 'AuthenticationFailed') return 'prisma:AuthenticationFailed';
  // Prisma driver-adapter error causes carry the driver's code as `originalCode`
  // (e.g. { kind: 'DatabaseAccessDenied', originalCode: '28000' } from @prisma/adapter-pg).
  const originalCode = safeGet(e, 'originalCode');
  if (originalCode === '28P01' || originalCode === '28000') return `postgres:${originalCode}`;
  if (originalCode === '1045' || originalCode === 1045) return 'mysql:1045';
  return undefined;
}

function safeGet(obj: Record<string, unknown>, key: string): unknown {
  try {
    return obj[key];
  } catch {
    return undefined;
  }
}

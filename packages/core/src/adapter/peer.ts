import { ConfigurationError } from '../errors.js';

/** The part of Node's `require` that `loadPeer` uses (`resolve`, when present, tells a missing package from a broken one). */
export type PeerRequire = ((id: string) => unknown) & { resolve?: (id: string) => string };

/** The package a module id belongs to: `knex/lib/dialects/pg/index.js` → `knex`, `@prisma/adapter-pg` → itself. */
export function packageOf(id: string): string {
  const parts = id.split('/');
  return id.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!;
}

const notFound = (err: unknown): boolean => {
  const code = (err as { code?: unknown } | null)?.code;
  return code === 'MODULE_NOT_FOUND' || code === 'ERR_MODULE_NOT_FOUND';
};

/**
 * Loads an optional peer dependency (a package or a module inside one) synchronously, at the call
 * that needs it: a MySQL app need not install `pg`, nor a PostgreSQL app `mysql2`. `require` must be
 * the adapter package's own (e.g. exported by a `src/require.cts`, which is CommonJS in both builds):
 * with pnpm's strict layout a peer is visible from the adapter's folder, not from core's.
 * Throws a `ConfigurationError` naming the package to install (`keys`, default `[]`; `cause`: the
 * loader's error) when it is missing or fails to load; a peer's own ConfigurationError (it found one
 * of its peers missing) passes through unchanged.
 */
export function loadPeer<T = any>(
  require: PeerRequire,
  name: string,
  forPackage: string,
  options: { keys?: readonly string[]; why?: string } = {},
): T {
  try {
    return require(name) as T;
  } catch (cause) {
    if (cause instanceof ConfigurationError) throw cause;
    const pkg = packageOf(name);
    const why = options.why ? ` ${options.why}` : '';
    const missing = notFound(cause) && !resolves(require, name);
    throw new ConfigurationError(
      missing
        ? `${forPackage} needs the package '${pkg}'${why}: install it next to ${forPackage} (npm install ${pkg})`
        : `${forPackage} could not load the package '${pkg}'${why}${notFound(cause) ? ': a module it needs is missing (see cause)' : ''}`,
      { keys: options.keys ?? [], cause },
    );
  }
}

function resolves(require: PeerRequire, name: string): boolean {
  try {
    require.resolve?.(name);
    return require.resolve !== undefined;
  } catch {
    return false;
  }
}

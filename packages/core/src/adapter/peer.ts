import { ConfigurationError } from '../errors.js';

/** The part of Node's `require` that `loadPeer` uses. */
export type PeerRequire = (id: string) => unknown;

/**
 * Loads an optional peer dependency synchronously, at the call that needs it: a MySQL app need
 * not install `pg`, nor a PostgreSQL app `mysql2`. `require` must be the adapter package's own
 * (e.g. exported by a `src/require.cts`, which is CommonJS in both builds): with pnpm's strict
 * layout a peer is visible from the adapter's folder, not from core's.
 * Throws a `ConfigurationError` naming the package (`keys`, default `[]`; `cause`: the loader's
 * error) when it is missing or fails to load.
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
    const missing = (cause as { code?: unknown } | null)?.code === 'MODULE_NOT_FOUND';
    const why = options.why ? ` ${options.why}` : '';
    throw new ConfigurationError(
      missing
        ? `${forPackage} needs the package '${name}'${why}: install it next to ${forPackage}`
        : `${forPackage} could not load the package '${name}'${why}`,
      { keys: options.keys ?? [], cause },
    );
  }
}

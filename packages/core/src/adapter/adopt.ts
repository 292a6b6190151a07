import { isCredentialSource, resolveCredentialSource } from '../resolve.js';
import type { CredentialSource, CredentialSourceOptions } from '../types.js';

/** A source an adapter works with, and whether the adapter closes it when its pool / ORM closes. */
export interface AdoptedSource {
  source: CredentialSource;
  /** Close `source` when the adapter's pool (or the ORM) is closed. */
  closeSource: boolean;
}

/**
 * Adopts what a user passed as `source`: a `CredentialSource` is used as it is, options create one.
 * `closeSource` (every adapter's option of that name) defaults to true exactly when the adapter
 * created the source: a source passed in is the caller's to close.
 */
export function adoptSource(
  sourceOrOptions: CredentialSource | CredentialSourceOptions,
  closeSource?: boolean,
): AdoptedSource {
  const created = !isCredentialSource(sourceOrOptions);
  return { source: resolveCredentialSource(sourceOrOptions), closeSource: closeSource ?? created };
}

/**
 * Runs the pool's or ORM's own close (`knex.destroy`, `orm.close`, …), then closes the source when
 * `adopted.closeSource` says so, also when the close failed.
 */
export async function closeWith<T>(adopted: AdoptedSource, close: () => Promise<T>): Promise<T> {
  try {
    return await close();
  } finally {
    if (adopted.closeSource) adopted.source.close();
  }
}

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

/** The sources of a replicated setup: the writer's, and the readers' (the same adoption when they share the secret). */
export interface ReplicaSources {
  writer: AdoptedSource;
  reader: AdoptedSource;
  /** Closes the sources the adapter created, each once. */
  close(): void;
}

/**
 * Adopts `source` for the writer and `readerSource` (default: `source`) for the readers, so that every
 * node of one secret shares one source: one cache, one single-flight refresh, one Secrets Manager read.
 */
export function adoptReplicaSources(
  source: CredentialSource | CredentialSourceOptions,
  readerSource?: CredentialSource | CredentialSourceOptions,
  closeSource?: boolean,
): ReplicaSources {
  const writer = adoptSource(source, closeSource);
  const reader =
    readerSource === undefined || readerSource === source ? writer : adoptSource(readerSource, closeSource);
  return {
    writer,
    reader,
    close() {
      for (const a of new Set([writer, reader])) if (a.closeSource) a.source.close();
    },
  };
}

/**
 * For libraries that build one pool per node on their own (TypeORM's PostgreSQL driver): the pools of
 * one setup share one `ReplicaSources`, created at the first `acquire()`; each pool calls its `release`
 * when it ends, and the last one closes the sources (a later `acquire()` adopts afresh).
 */
export function shareReplicaSources(
  source: CredentialSource | CredentialSourceOptions,
  readerSource?: CredentialSource | CredentialSourceOptions,
  closeSource?: boolean,
): { acquire(): { sources: ReplicaSources; release(): void } } {
  let shared: ReplicaSources | undefined;
  let users = 0;
  return {
    acquire() {
      shared ??= adoptReplicaSources(source, readerSource, closeSource);
      const sources = shared;
      users++;
      let released = false;
      const release = () => {
        if (released) return;
        released = true;
        if (--users === 0 && shared === sources) {
          shared = undefined;
          sources.close();
        }
      };
      return { sources, release };
    },
  };
}

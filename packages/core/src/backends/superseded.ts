/**
 * Versions a source moved away from, for backends that can lag behind it (the agent's cache, a mount the
 * CSI driver updates later): such a backend may still answer with one of them, which must not replace
 * what the source already holds.
 */
import type { Credentials } from '../credentials.js';

/** Bound of the memory (a few rotations back is all a lagging copy can hold). */
const MAX_SUPERSEDED = 16;

export class SupersededVersions {
  readonly #ids = new Set<string>();

  /** The source moved from `previous` to `next`. */
  moved(previous: Credentials, next: Credentials): void {
    this.#ids.delete(next.versionId);
    this.#ids.add(previous.versionId);
    if (this.#ids.size > MAX_SUPERSEDED) this.#ids.delete(this.#ids.values().next().value!);
  }

  has(versionId: string): boolean {
    return this.#ids.has(versionId);
  }
}

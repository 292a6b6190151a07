/**
 * `source.invalidate()` (change events): which cached value an invalidation outdates, and when the
 * fetch it asks for may run. A fetch in flight when it arrives may have read before the change, so
 * what it installs is outdated too; the fetch runs no sooner than `minRefreshIntervalMs` after the
 * last one, so a burst of events (PutSecretValue, UpdateSecretVersionStage, RotationSucceeded) costs
 * one read per interval and the last event of the burst is never lost.
 */
import type { CacheEntry } from './entry.js';

export class Invalidation {
  readonly #minIntervalMs: number;
  /** Counts a deferred invalidation (stats.rateLimited). */
  readonly #onDeferred: () => void;
  #generation = 0;
  /** The generation when the fetch in flight started. */
  #flightGeneration = 0;

  constructor(minIntervalMs: number, onDeferred: () => void) {
    this.#minIntervalMs = minIntervalMs;
    this.#onDeferred = onDeferred;
  }

  /** invalidate() was called. */
  mark(): void {
    this.#generation++;
  }

  /** A fetch starts: it reads what the secret holds from now on. */
  fetchStarted(): void {
    this.#flightGeneration = this.#generation;
  }

  /** The entry a fetch installs: invalidated again when an invalidate() came while it was in flight. */
  settle(entry: CacheEntry, now: number): CacheEntry {
    const outdated = this.#flightGeneration !== this.#generation;
    this.#flightGeneration = this.#generation;
    return outdated ? this.apply(entry, now) : entry;
  }

  /** `entry` expired at the first moment the rate limit allows a fetch, and not served stale past it. */
  apply(entry: CacheEntry, now: number): CacheEntry {
    const at = Math.max(now, entry.fetchedAt + this.#minIntervalMs);
    if (at > now) this.#onDeferred();
    return entry.invalidated(at);
  }
}

/** The cached value of a source and its expiry / stale-serving arithmetic. */
import { type Credentials, sameVersion } from './credentials.js';
import type { DbCredentials } from './types.js';

/** When a value just read expires and until when it may still be served stale (ms since the epoch). */
export interface ExpiryPolicy {
  expiresAt(creds: Credentials, now: number): number;
  staleUntil(creds: Credentials, expiresAt: number): number;
}

/**
 * The default policy: expiry at a random point in [ttl/2, ttl] (spreads a fleet's reads, as the AWS
 * caching clients do; ttl 0: expired at once), served stale up to `maxStaleMs` past it.
 */
export function ttlExpiry(ttlMs: number, maxStaleMs: number): ExpiryPolicy {
  return {
    expiresAt: (_creds, now) => (ttlMs === 0 ? now : now + ttlMs / 2 + Math.random() * (ttlMs / 2)),
    staleUntil: (_creds, expiresAt) => expiresAt + maxStaleMs,
  };
}

export class CacheEntry {
  private constructor(
    readonly creds: Credentials,
    /** Reused resolved promise: the cache-hit path allocates nothing. */
    readonly promise: Promise<DbCredentials>,
    readonly fetchedAt: number,
    readonly expiresAt: number,
    /** Last clock time at which the value may still be served stale. */
    readonly staleUntil: number,
    /** Set when this entry is the AWSPENDING fallback: the AWSCURRENT version that was rejected. */
    readonly fallbackFrom: string | undefined,
    /** Set by source.invalidate(): past expiresAt, callers wait for the fetch (no stale-while-revalidate). */
    readonly invalid = false,
  ) {}

  /**
   * The entry replacing `prev` with `creds` read at `now`. The same version and stage keeps the
   * previous credentials object and promise, so their identity stays stable for callers (unless another
   * region served it: the credentials say which region did).
   */
  static next(
    prev: CacheEntry | undefined,
    creds: Credentials,
    now: number,
    policy: ExpiryPolicy,
    fallbackFrom: string | undefined,
  ): CacheEntry {
    const same = prev !== undefined && sameVersion(prev.creds, creds) && prev.creds.region === creds.region;
    const kept = same ? prev.creds : creds;
    const expiresAt = policy.expiresAt(kept, now);
    return new CacheEntry(
      kept,
      same ? prev.promise : Promise.resolve(kept),
      now,
      expiresAt,
      policy.staleUntil(kept, expiresAt),
      fallbackFrom,
    );
  }

  /** The same value expired at `now` (its stale allowance kept): the next get() reloads, serving it meanwhile. */
  expiredAt(now: number): CacheEntry {
    if (now >= this.expiresAt) return this;
    return new CacheEntry(this.creds, this.promise, this.fetchedAt, now, this.staleUntil, this.fallbackFrom);
  }

  /** This entry expiring at `at` at the latest, marked invalid. */
  invalidated(at: number): CacheEntry {
    const { creds, promise, fetchedAt, expiresAt, staleUntil, fallbackFrom } = this;
    return new CacheEntry(creds, promise, fetchedAt, Math.min(expiresAt, at), staleUntil, fallbackFrom, true);
  }

  fresh(now: number): boolean {
    return now < this.expiresAt;
  }

  /** Past expiry but still within the stale allowance. */
  servableStale(now: number): boolean {
    return now <= this.staleUntil;
  }
}

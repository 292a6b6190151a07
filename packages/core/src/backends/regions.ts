/**
 * Secrets Manager in several regions (a multi-region secret): the primary first; its replicas when the
 * primary fails with a transient or network error. A replica may lag the primary (replication is
 * asynchronous), so what a replica gives is held to the agent backend's rule for a cache: never a version
 * the source moved away from, never one created before what it replaces. The primary is authoritative.
 * Why this cannot do worse than the primary alone: while the primary answers, every read goes to it as
 * without regions; a replica is read only where the primary alone would have failed, and its answer can
 * only replace the cache forward (else the cache is kept, as stale-on-error would); after a refused login
 * a replica with nothing newer is not the last word: the primary is asked too, even in its cool-down.
 */
import type { Credentials } from '../credentials.js';
import type { ExpiryPolicy } from '../entry.js';
import { SecretFetchError } from '../errors.js';
import { type Lookup, lookForReplacement, type StageReader } from '../fallback.js';
import { type FetchContext, fetchSecret, isRetryableFetchError } from '../fetch.js';
import type { ResolvedOptions } from '../options.js';
import type { DbCredentials, SecretsManagerLike, VersionStage } from '../types.js';
import { SdkClient } from './sdk-client.js';
import type { BackendContext, SourceBackend } from './types.js';

/** Bound of the superseded-version memory (a replica lags by seconds: a few rotations back is plenty). */
const MAX_SUPERSEDED = 16;

interface Region {
  readonly name: string;
  readonly primary: boolean;
  /** One attempt: a transient failure moves on to the next region instead of retrying this one. */
  readonly once: FetchContext;
  /** The configured retries: the last region tried gets them. */
  readonly full: FetchContext;
  readonly owned: SdkClient | undefined;
}

/** A transient or network failure (throttling, 5xx, timeout, connection error): worth another region. */
export function isFailoverError(err: unknown): boolean {
  return err instanceof SecretFetchError && isRetryableFetchError(err.cause);
}

export class RegionsBackend implements SourceBackend {
  readonly from: string;
  readonly label = undefined;
  readonly expiry: ExpiryPolicy;
  readonly #ctx: BackendContext;
  readonly #regions: Region[];
  readonly #primaryRetryMs: number;
  /** When the primary last failed over (clock ms); reads prefer the replicas for primaryRetryMs after it. */
  #primaryFailedAt = Number.NEGATIVE_INFINITY;
  /** Versions the source moved away from (bounded): a lagging replica may still hold them. */
  readonly #superseded = new Set<string>();
  /** The last credentials read() gave or the source moved to: what a replica's answer is compared with. */
  #newest: Credentials | undefined;

  constructor(o: ResolvedOptions, ctx: BackendContext, expiry: ExpiryPolicy) {
    this.#ctx = ctx;
    this.expiry = expiry;
    this.#primaryRetryMs = o.primaryRetryMs;
    const regions = o.regions ?? [];
    this.from = `AWS Secrets Manager (${regions.map((r) => r.region).join(', ')})`;
    this.#regions = regions.map((r, i) => {
      // The entry's own client or config wins; the top-level clientConfig is the base of every region's.
      const owned = r.client ? undefined : new SdkClient({ ...o.clientConfig, ...r.clientConfig, region: r.region });
      const client: SecretsManagerLike = r.client ?? owned!;
      const full: FetchContext = { ...ctx.fetch, client, from: `AWS Secrets Manager in ${r.region}`, region: r.region };
      const once = { ...full, retry: { ...full.retry, maxAttempts: 1 } };
      return { name: r.region, primary: i === 0, once, full, owned };
    });
  }

  async read(stage: VersionStage): Promise<Credentials> {
    const read = await this.#each((ctx) => fetchSecret(ctx, stage, false).then((c) => c!));
    // A plain refresh() installs what it reads: a lagging replica must not take the source back.
    const newest = this.#newest;
    if (read.region !== this.#regions[0]!.name && newest !== undefined && !this.accepts(read, newest)) return newest;
    this.#newest = read;
    return read;
  }

  async replacementFor(rejected: DbCredentials, round: 'first' | 'poll'): Promise<Lookup> {
    let fallback: Lookup | undefined;
    const order = this.#order();
    for (const [i, region] of order.entries()) {
      const last = i === order.length - 1;
      let l: Lookup;
      try {
        // AWSCURRENT and AWSPENDING from the same region: one region's view of the rotation.
        l = await lookForReplacement(this.#reader(region, last), rejected, 'after', round === 'first');
      } catch (err) {
        if (!isFailoverError(err) || (last && fallback === undefined)) throw err;
        this.#failed(region);
        continue;
      }
      this.#answered(region);
      if (region.primary) return l;
      const checked = l.found || l.current.versionId === rejected.versionId ? l : { ...l, behind: true };
      // A replica with nothing newer may only lag: the primary (if still to come) has the last word.
      if (checked.found) return checked;
      fallback ??= checked;
    }
    return fallback!;
  }

  accepts(read: Credentials, cached: Credentials): boolean {
    if (read.region === this.#regions[0]!.name || read.versionId === cached.versionId) return true;
    return this.#isForward(read, cached);
  }

  moved(previous: Credentials, next: Credentials): void {
    this.#newest = next;
    this.#superseded.delete(next.versionId);
    this.#superseded.add(previous.versionId);
    if (this.#superseded.size > MAX_SUPERSEDED) this.#superseded.delete(this.#superseded.values().next().value!);
  }

  close(): void {
    for (const r of this.#regions) r.owned?.destroy();
  }

  /** Tries `read` region by region (preferred order) while failures are transient; the last one's error is thrown. */
  async #each<T>(read: (ctx: FetchContext) => Promise<T>): Promise<T> {
    const order = this.#order();
    for (const [i, region] of order.entries()) {
      const last = i === order.length - 1;
      try {
        const out = await read(last ? region.full : region.once);
        this.#answered(region);
        return out;
      } catch (err) {
        if (last || !isFailoverError(err)) throw err;
        this.#failed(region);
      }
    }
    throw new Error('unreachable: regions is never empty');
  }

  /** Primary first, unless it failed within primaryRetryMs: then the replicas first, the primary last. */
  #order(): Region[] {
    const [primary, ...replicas] = this.#regions;
    const coolingDown = this.#ctx.clock.now() - this.#primaryFailedAt < this.#primaryRetryMs;
    return coolingDown ? [...replicas, primary!] : this.#regions;
  }

  #failed(region: Region): void {
    if (region.primary) this.#primaryFailedAt = this.#ctx.clock.now();
  }

  #answered(region: Region): void {
    if (region.primary) this.#primaryFailedAt = Number.NEGATIVE_INFINITY;
  }

  #reader(region: Region, last: boolean): StageReader {
    const ctx = last ? region.full : region.once;
    return {
      read: (stage, optional) => fetchSecret(ctx, stage, optional),
      // The primary is authoritative; a replica's version must also be forward of the rejected one.
      usable: (c, rejected) => c.versionId !== rejected.versionId && (region.primary || this.#isForward(c, rejected)),
    };
  }

  /** Not a version the source moved away from, and not created before `ref` (when both dates are known). */
  #isForward(c: Credentials, ref: DbCredentials): boolean {
    if (this.#superseded.has(c.versionId)) return false;
    return c.createdAt === undefined || ref.createdAt === undefined || c.createdAt >= ref.createdAt;
  }
}

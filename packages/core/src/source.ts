// The credential source's state machine: get, refresh, single-flight, installing a value. Reading is a
// backend's (backends/); the entry, the error backoff, the window reads and the out-of-band wait are units.
import { runWithAuthRetry } from './auth-retry.js';
import { RotationWait } from './await-rotation.js';
import { createBackend } from './backends/create.js';
import type { BackendFactory, SourceBackend } from './backends/types.js';
import { ErrorBackoff } from './backoff.js';
import { type Credentials, sameVersion } from './credentials.js';
import { CacheEntry } from './entry.js';
import { SourceClosedError } from './errors.js';
import type { Lookup } from './fallback.js';
import { holdOpen, toTypedError } from './fetch.js';
import { Invalidation } from './invalidation.js';
import { type ResolvedOptions, resolveOptions } from './options.js';
import type { SourceReporter } from './reporter.js';
import { SourceEvents } from './source-events.js';
import type { CredentialSource, CredentialSourceOptions, DbCredentials, RefreshReason } from './types.js';

/** A TTL reload ('load'), refresh() ('refresh'), or refresh(rejected) while the cache is known bad ('rejected'). */
type FlightKind = 'load' | 'refresh' | 'rejected';

export const SOURCE_BRAND = Symbol.for('@dbcreds/core.CredentialSource');

class Source extends SourceEvents implements CredentialSource {
  readonly secretId: string;
  readonly [SOURCE_BRAND] = true;
  readonly #o: ResolvedOptions;
  readonly #backend: SourceBackend;
  /** Aborted by close(): cancels backoff waits, polls and in-flight reads. */
  readonly #closing = new AbortController();
  readonly #backoff: ErrorBackoff;
  readonly #wait: RotationWait;
  #entry: CacheEntry | undefined;
  #flight: Promise<DbCredentials> | undefined;
  #flightKind: FlightKind = 'load';
  #closed = false;
  #lastFruitlessRefreshAt = Number.NEGATIVE_INFINITY;
  readonly #s: SourceReporter['counts'];
  readonly #invalidation: Invalidation;

  constructor(options: CredentialSourceOptions, factory: BackendFactory) {
    const o = resolveOptions(options);
    super(o.secretId, o.logger);
    this.#o = o;
    this.secretId = o.secretId;
    this.#s = this.report.counts;
    this.#invalidation = new Invalidation(o.minRefreshIntervalMs, () => void this.#s.rateLimited++);
    this.#backoff = new ErrorBackoff(o.errorBackoff);
    this.#wait = new RotationWait(o.awaitRotationMs, o.clock, this.#closing.signal);
    const closed = this.#closing.signal;
    const { secretId, retry, attemptTimeoutMs, secretKeys } = o;
    const onAttempt = () => void this.#s.fetches++;
    this.#backend = factory(o, {
      secretId,
      fetch: { secretId, retry, attemptTimeoutMs, secretKeys, closed, onAttempt },
      clock: o.clock,
      minRefreshIntervalMs: o.minRefreshIntervalMs,
      closed,
      countForced: () => void this.#s.forcedRefreshes++,
      changed: () => this.#changed(),
    });
  }

  get(): Promise<DbCredentials> {
    const e = this.#entry;
    if (e !== undefined && !this.#closed) {
      const now = this.#o.clock.now();
      if (now < e.expiresAt) {
        this.#s.hits++;
        return e.promise;
      }
      // Stale-while-revalidate: an expired value within maxStaleMs is served at once while one
      // background fetch runs. Not when the cached value is known bad (refresh(rejected) in flight, invalidate()).
      const knownBad = e.invalid || (this.#flight !== undefined && this.#flightKind === 'rejected');
      if (this.#o.ttlMs > 0 && e.servableStale(now) && !knownBad) {
        this.#s.hits++;
        this.#s.staleServed++;
        if (this.#flight === undefined && !this.#backoff.blocked(now)) this.#revalidate();
        return e.promise;
      }
    }
    return holdOpen(this.#getSlow());
  }

  async #getSlow(): Promise<DbCredentials> {
    this.#assertOpen();
    const e = this.#entry;
    const now = this.#o.clock.now();
    if (e?.fresh(now)) {
      this.#s.hits++;
      return e.creds;
    }
    if (this.#flight) {
      this.#s.misses++;
      return this.#flight;
    }
    if (this.#backoff.blocked(now)) return this.#duringBackoff();
    this.#s.misses++;
    const reason = e === undefined ? 'initial' : e.invalid ? 'invalidated' : 'expired';
    return this.#startFlight('load', () => this.#load(reason, false));
  }

  invalidate(): void {
    if (this.#closed) return;
    this.#s.invalidations++;
    this.#invalidation.mark();
    const e = this.#entry;
    // A fetch in flight may have read before the change: what it installs is invalidated then (settle).
    if (e !== undefined && this.#flight === undefined) this.#entry = this.#invalidation.apply(e, this.#o.clock.now());
  }

  /** A caller awaiting credentials holds the process open until they settle (holdOpen); background work does not. */
  refresh(rejected?: DbCredentials): Promise<DbCredentials> {
    return holdOpen(this.#refresh(rejected));
  }

  async #refresh(rejected: DbCredentials | undefined): Promise<DbCredentials> {
    this.#assertOpen();
    this.#s.refreshes++;
    for (let joinedRefresh = false; ; ) {
      const e = this.#entry;
      // Compare-and-refresh: someone already moved past the rejected version.
      if (e !== undefined && rejected !== undefined && !sameVersion(e.creds, rejected)) return e.creds;
      if (this.#flight) {
        const kind = this.#flightKind;
        const result = await this.#flight;
        if (rejected === undefined || joinedRefresh) return result;
        // Re-compare against what the flight installed. A TTL reload that found the rejected version
        // again does not count: the AWSPENDING check of a refresh flight is still to be made.
        joinedRefresh = kind !== 'load';
        continue;
      }
      const now = this.#o.clock.now();
      if (e !== undefined && now - this.#lastFruitlessRefreshAt < this.#o.minRefreshIntervalMs) {
        this.#s.rateLimited++;
        return e.creds;
      }
      const kind = rejected !== undefined && e !== undefined && sameVersion(e.creds, rejected) ? 'rejected' : 'refresh';
      // A refusal that may wait polls through a Secrets Manager outage (one loop, its own spacing): the error
      // backoff (1 s doubling) would leave a rotation behind the outage unread for seconds after it ends.
      const mayWait = kind === 'rejected' && this.#wait.shouldWait(rejected!.versionId);
      if (this.#backoff.blocked(now) && !mayWait) return this.#duringBackoff();
      return this.#startFlight(kind, () => this.#refreshFlight(rejected));
    }
  }

  withAuthRetry<T>(attempt: (creds: DbCredentials) => Promise<T>): Promise<T> {
    // A login that worked arms the wait for out-of-band changes (credentials that never worked fail fast).
    const accepted = (creds: DbCredentials) => attempt(creds).then((r) => this.#wait.accepted(r));
    return runWithAuthRetry(this, accepted, this.#o.logger);
  }

  protected override get cached(): CacheEntry | undefined {
    return this.#entry;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    // Ends backoff waits, polls and in-flight reads: pending callers get SourceClosedError.
    this.#closing.abort(new SourceClosedError(this.secretId));
    this.#entry = undefined;
    this.report.emitter.clear();
    this.#backend.close();
  }

  override toString(): string {
    return this.#backend.label ?? `CredentialSource(${this.secretId})`;
  }

  #assertOpen(): void {
    if (this.#closed) throw new SourceClosedError(this.secretId);
  }

  #startFlight(kind: FlightKind, run: () => Promise<DbCredentials>): Promise<DbCredentials> {
    this.#invalidation.fetchStarted();
    const flight = run().finally(() => {
      if (this.#flight === flight) this.#flight = undefined;
    });
    this.#flight = flight;
    this.#flightKind = kind;
    return flight;
  }

  /** The background fetch of stale-while-revalidate. Its outcome reaches callers through the cache and events only. */
  #revalidate(): void {
    this.#startFlight('load', () => this.#load('expired', true)).catch(() => {
      // Already reported (error event, logger); the next get() decides what callers see.
    });
  }

  /** Plain (re)load of the configured stage: first use or TTL expiry (`background`: nobody waits for it). */
  async #load(reason: RefreshReason, background: boolean): Promise<DbCredentials> {
    try {
      const read = await this.#backend.read(this.#o.versionStage, false);
      const e = this.#entry;
      // Keep the AWSPENDING fallback while AWSCURRENT still is the version that was rejected, and
      // what is cached when the backend's answer is behind it (a shared cache).
      if (e !== undefined && (read.versionId === e.fallbackFrom || !this.#backend.accepts(read, e.creds))) {
        return this.#install(e.creds, reason, e.fallbackFrom);
      }
      return this.#install(read, reason, undefined);
    } catch (err) {
      return this.#onFetchFailure(err, background);
    }
  }

  /**
   * refresh(rejected): the rotation-window lookup (AWSCURRENT, then AWSPENDING); with nothing newer,
   * the wait for an out-of-band change (awaitRotationMs). Plain refresh(): a read of the configured stage.
   */
  async #refreshFlight(rejected: DbCredentials | undefined): Promise<DbCredentials> {
    try {
      if (rejected === undefined || this.#o.versionStage !== 'AWSCURRENT') {
        const read = await this.#backend.read(this.#o.versionStage, true);
        const known = rejected ?? this.#entry?.creds;
        if (known !== undefined && read.versionId === known.versionId) this.#markFruitless();
        return this.#install(read, 'refresh', undefined);
      }
      const waits = this.#wait.shouldWait(rejected.versionId);
      let first: { value: Lookup } | { error: unknown };
      try {
        first = { value: await this.#backend.replacementFor(rejected, 'first') };
      } catch (error) {
        // Secrets Manager unreadable: a refusal that may wait polls until it answers again.
        if (!waits || error instanceof SourceClosedError) throw error;
        first = { error };
      }
      const poll = () => this.#backend.replacementFor(rejected, 'poll');
      const l =
        'value' in first && (first.value.found !== undefined || !waits)
          ? first.value
          : await this.#wait.poll(rejected.versionId, first, poll, (x: Lookup) => x.found !== undefined);
      if (l.found) return this.#installReplacement(rejected, l.found);
      this.#markFruitless();
      const e = this.#entry;
      if (l.behind && e !== undefined) return this.#install(e.creds, 'refresh', e.fallbackFrom);
      return this.#install(l.current, 'refresh', undefined);
    } catch (err) {
      return this.#onFetchFailure(err, false);
    }
  }

  /** Installs what replaces `rejected`: AWSPENDING (the rotation-window fallback) or a newer AWSCURRENT. */
  #installReplacement(rejected: DbCredentials, found: Credentials): Credentials {
    const toPending = found.stage === 'AWSPENDING';
    // Back to AWSCURRENT counts as a fallback too: the AWSPENDING one was rejected (set, never applied).
    if (toPending || rejected.stage === 'AWSPENDING') this.report.fellBack(rejected, found);
    return this.#install(found, 'refresh', toPending ? rejected.versionId : undefined);
  }

  /** The backend saw the secret change: the cached value expires and is reloaded now, in the background. */
  #changed(): void {
    const now = this.#o.clock.now();
    if (this.#entry === undefined || this.#closed) return;
    this.#entry = this.#entry.expiredAt(now);
    if (this.#flight === undefined && !this.#backoff.blocked(now)) this.#revalidate();
  }

  #markFruitless(): void {
    this.#lastFruitlessRefreshAt = this.#o.clock.now();
  }

  #install(creds: Credentials, reason: RefreshReason, fallbackFrom: string | undefined): Credentials {
    if (this.#closed) throw new SourceClosedError(this.secretId);
    const prev = this.#entry?.creds;
    const now = this.#o.clock.now();
    const entry = CacheEntry.next(this.#entry, creds, now, this.#backend.expiry, fallbackFrom);
    this.#entry = this.#invalidation.settle(entry, now);
    this.#backoff.succeeded();
    const changed = prev !== undefined && prev.versionId !== entry.creds.versionId;
    if (changed) {
      this.#wait.reset();
      this.#backend.moved(prev, entry.creds);
      this.report.rotated(prev, entry.creds);
    }
    this.report.refreshed(entry.creds, changed, reason);
    return entry.creds;
  }

  /**
   * Serve stale within maxStaleMs, else throw a typed error. Starts/extends the error backoff.
   * `background`: a stale-while-revalidate fetch, whose stale value was already served (counted) by get().
   */
  #onFetchFailure(err: unknown, background: boolean): Credentials {
    if (err instanceof SourceClosedError) throw err;
    const error = toTypedError(this.secretId, err, 1, this.#backend.from);
    const now = this.#o.clock.now();
    const retryInMs = this.#backoff.failed(error, now);
    const stale = this.#staleUsable(now);
    this.report.fetchFailed(error, stale !== undefined, this.#backoff.failures, retryInMs);
    if (stale === undefined) throw error;
    if (!background) this.#s.staleServed++;
    return stale;
  }

  #staleUsable(now: number): Credentials | undefined {
    return this.#entry?.servableStale(now) ? this.#entry.creds : undefined;
  }

  /** Within the error backoff: no read. Stale value if allowed, else the last error (wrapped fresh). */
  #duringBackoff(): Promise<DbCredentials> {
    const stale = this.#staleUsable(this.#o.clock.now());
    if (stale === undefined) return Promise.reject(this.#backoff.blockedError(this.secretId));
    this.#s.hits++;
    this.#s.staleServed++;
    return Promise.resolve(stale);
  }
}

/** Creates a credential source. Options are validated now (ConfigurationError); nothing is fetched until get(). */
export function createCredentialSource(options: CredentialSourceOptions): CredentialSource {
  return new Source(options, createBackend);
}

/** A source over another backend (iam.ts). `options.secretId` names it in events, errors and logs. */
export function createBackedSource(options: CredentialSourceOptions, factory: BackendFactory): CredentialSource {
  return new Source(options, factory);
}

import { AgentClient } from './agent.js';
import { runWithAuthRetry } from './auth-retry.js';
import { type Credentials, sameVersion } from './credentials.js';
import { SafeEmitter } from './emitter.js';
import { SecretFetchError, SecretFormatError, SecretNotFoundError, SourceClosedError } from './errors.js';
import { type FetchContext, fetchSecret, holdOpen, sleep, toTypedError } from './fetch.js';
import { type ResolvedOptions, resolveOptions } from './options.js';
import { SdkClient } from './sdk-client.js';
import type {
  CredentialSource,
  CredentialSourceEventName,
  CredentialSourceEvents,
  CredentialSourceOptions,
  CredentialSourceStats,
  DbCredentials,
  RefreshReason,
  SecretsManagerLike,
  VersionStage,
} from './types.js';

type FlightKind = 'load' | 'refresh' | 'rejected';

interface Entry {
  creds: Credentials;
  /** Reused resolved promise: the cache-hit path allocates nothing. */
  promise: Promise<DbCredentials>;
  fetchedAt: number;
  expiresAt: number;
  /** Last clock time at which the value may still be served stale (expiresAt + maxStaleMs by default). */
  staleUntil: number;
  /** Set when this entry is the AWSPENDING fallback: the AWSCURRENT version that was rejected. */
  fallbackFrom: string | undefined;
}

export const SOURCE_BRAND = Symbol.for('@dbcreds/core.CredentialSource');

/**
 * Another producer of credentials behind the same state machine (single-flight, stale-while-revalidate,
 * backoff, events, stats): e.g. the RDS IAM token signer (iam.ts). Internal, not an option.
 */
export interface SourceBackend {
  /** Answers GetSecretValueCommand like Secrets Manager; destroyed on close() when it has destroy(). */
  client: SecretsManagerLike & { destroy?(): void };
  /** When a value just fetched expires, ms since the epoch (default: a jittered point in [ttl/2, ttl]). */
  expiresAt(creds: Credentials, now: number): number;
  /** Until when it may be served stale, ms since the epoch (default: expiresAt + maxStaleMs). */
  staleUntil(creds: Credentials, expiresAt: number): number;
  /** `toString()` of the source. */
  label: string;
  /** Where fetches go, in error messages (e.g. 'the RDS IAM token signer'). */
  from: string;
}

class Source implements CredentialSource {
  readonly secretId: string;
  readonly [SOURCE_BRAND] = true;
  readonly #o: ResolvedOptions;
  readonly #client: SecretsManagerLike;
  readonly #ownedClient: { destroy(): void } | undefined;
  readonly #emitter: SafeEmitter;
  /** Aborted by close(): cancels backoff waits and in-flight GetSecretValue calls. */
  readonly #closing = new AbortController();
  readonly #fetchCtx: FetchContext;
  #entry: Entry | undefined;
  #flight: Promise<DbCredentials> | undefined;
  /** What the current flight is: a TTL reload ('load') or refresh() ('refresh'; 'rejected' when the cache is known bad). */
  #flightKind: FlightKind = 'load';
  #closed = false;
  #lastFruitlessRefreshAt = Number.NEGATIVE_INFINITY;
  #consecutiveFailures = 0;
  #nextAttemptAt = Number.NEGATIVE_INFINITY;
  #lastError: Error | undefined;
  /** Agent backend: last read with refreshNow=true (rate-limited like fruitless refreshes). */
  #lastForcedAt = Number.NEGATIVE_INFINITY;
  /** Versions this source moved away from (bounded): an agent's cache may still hold them. */
  readonly #superseded = new Set<string>();
  #s = {
    hits: 0,
    misses: 0,
    fetches: 0,
    refreshes: 0,
    forcedRefreshes: 0,
    rateLimited: 0,
    fallbacks: 0,
    errors: 0,
    staleServed: 0,
    rotations: 0,
  };

  readonly #backend: SourceBackend | undefined;

  constructor(options: CredentialSourceOptions, backend?: SourceBackend) {
    this.#o = resolveOptions(options);
    this.secretId = this.#o.secretId;
    this.#backend = backend;
    if (backend) {
      this.#client = backend.client;
      if (backend.client.destroy) this.#ownedClient = backend.client as { destroy(): void };
    } else if (this.#o.client) {
      this.#client = this.#o.client;
    } else if (this.#o.agent) {
      const agent = new AgentClient(this.#o.agent);
      this.#ownedClient = agent;
      this.#client = agent;
    } else {
      const client = new SdkClient(this.#o.clientConfig);
      this.#ownedClient = client;
      this.#client = client;
    }
    this.#emitter = new SafeEmitter(this.#o.logger);
    this.#fetchCtx = {
      client: this.#client,
      secretId: this.secretId,
      retry: this.#o.retry,
      attemptTimeoutMs: this.#o.attemptTimeoutMs,
      secretKeys: this.#o.secretKeys,
      closed: this.#closing.signal,
      onAttempt: () => {
        this.#s.fetches++;
      },
      ...(backend
        ? { from: backend.from }
        : this.#o.agent
          ? { from: `the Secrets Manager Agent at ${this.#o.agent.endpoint.origin}` }
          : {}),
    };
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
      // background fetch runs. Not when the cached value is known bad (a refresh(rejected) is in flight).
      if (this.#o.ttlMs > 0 && now <= e.staleUntil && !this.#refreshingRejected()) {
        this.#s.hits++;
        this.#s.staleServed++;
        if (this.#flight === undefined && now >= this.#nextAttemptAt) this.#revalidate();
        return e.promise;
      }
    }
    return holdOpen(this.#getSlow());
  }

  async #getSlow(): Promise<DbCredentials> {
    this.#assertOpen();
    const e = this.#entry;
    const now = this.#o.clock.now();
    if (e !== undefined && now < e.expiresAt) {
      this.#s.hits++;
      return e.creds;
    }
    if (this.#flight) {
      this.#s.misses++;
      return this.#flight;
    }
    if (now < this.#nextAttemptAt) return this.#duringBackoff();
    this.#s.misses++;
    return this.#startFlight('load', () => this.#load(e === undefined ? 'initial' : 'expired', false));
  }

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
      if (now < this.#nextAttemptAt) return this.#duringBackoff();
      const kind = rejected !== undefined && e !== undefined && sameVersion(e.creds, rejected) ? 'rejected' : 'refresh';
      return this.#startFlight(kind, () => this.#refreshFlight(rejected));
    }
  }

  withAuthRetry<T>(attempt: (creds: DbCredentials) => Promise<T>): Promise<T> {
    return runWithAuthRetry(this, attempt, this.#o.logger);
  }

  on<E extends CredentialSourceEventName>(event: E, listener: (p: CredentialSourceEvents[E]) => void): this {
    this.#emitter.add(event, listener, false);
    return this;
  }

  once<E extends CredentialSourceEventName>(event: E, listener: (p: CredentialSourceEvents[E]) => void): this {
    this.#emitter.add(event, listener, true);
    return this;
  }

  off<E extends CredentialSourceEventName>(event: E, listener: (p: CredentialSourceEvents[E]) => void): this {
    this.#emitter.remove(event, listener);
    return this;
  }

  stats(): CredentialSourceStats {
    const e = this.#entry;
    return {
      ...this.#s,
      versionId: e?.creds.versionId,
      stage: e?.creds.stage,
      fetchedAt: e?.fetchedAt,
      expiresAt: e?.expiresAt,
    };
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    // Ends backoff waits and aborts in-flight GetSecretValue calls: pending callers get SourceClosedError.
    this.#closing.abort(new SourceClosedError(this.secretId));
    this.#entry = undefined;
    this.#emitter.clear();
    this.#ownedClient?.destroy();
  }

  toString(): string {
    return this.#backend?.label ?? `CredentialSource(${this.secretId})`;
  }

  // ---- internals ---------------------------------------------------------------------------

  #assertOpen(): void {
    if (this.#closed) throw new SourceClosedError(this.secretId);
  }

  #startFlight(kind: FlightKind, run: () => Promise<DbCredentials>): Promise<DbCredentials> {
    const flight = run().finally(() => {
      if (this.#flight === flight) this.#flight = undefined;
    });
    this.#flight = flight;
    this.#flightKind = kind;
    return flight;
  }

  #refreshingRejected(): boolean {
    return this.#flight !== undefined && this.#flightKind === 'rejected';
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
      const cur = (await this.#fetch(this.#o.versionStage, false))!;
      const e = this.#entry;
      // Serving the AWSPENDING fallback and AWSCURRENT still is the version that was rejected:
      // keep the fallback rather than flip back to credentials the server refuses.
      if (e?.fallbackFrom !== undefined && cur.versionId === e.fallbackFrom) {
        return this.#install(e.creds, reason, e.fallbackFrom);
      }
      // Agent: its cached AWSCURRENT may be older than what this source already moved to.
      if (this.#o.agent && e !== undefined && cur.versionId !== e.creds.versionId && !this.#isForward(cur, e.creds)) {
        return this.#install(e.creds, reason, e.fallbackFrom);
      }
      return this.#install(cur, reason, undefined);
    } catch (err) {
      return this.#onFetchFailure(err, background);
    }
  }

  /**
   * refresh(rejected): read the configured stage; apply the rotation-window fallback. Agent backend:
   * first through the agent's cache (another process on the host may already have read the new
   * AWSCURRENT or AWSPENDING); only when the cached reads hold nothing newer than the rejected version,
   * once more with refreshNow=true, at most once per minRefreshIntervalMs.
   */
  async #refreshFlight(rejected: DbCredentials | undefined): Promise<DbCredentials> {
    try {
      const stage = this.#o.versionStage;
      if (rejected === undefined || stage !== 'AWSCURRENT') {
        const cur = (await this.#fetch(stage, false, this.#takeForced()))!;
        const known = rejected ?? this.#entry?.creds;
        if (known !== undefined && cur.versionId === known.versionId) this.#markFruitless();
        return this.#install(cur, 'refresh', undefined);
      }
      const viaCache = this.#o.agent !== undefined;
      // The host's processes are rejected at about the same moment and the agent does not coalesce
      // misses: spread their reads so the later ones find the first one's in the agent's cache.
      if (viaCache) await this.#spread();
      const first = await this.#replacementFor(rejected, false, 'after');
      if (first.found) return first.found;
      let cur = first.cur;
      if (viaCache && this.#forcedAllowed()) {
        // Another process may be forcing the same refresh right now: wait, look in the cache again.
        // A not-found AWSPENDING is never cached by the agent: that answer was already fresh.
        await this.#spread();
        const skip = first.pendingAbsent ? 'skip' : 'after';
        const again = await this.#replacementFor(rejected, false, skip);
        if (again.found) return again.found;
        if (this.#takeForced()) {
          const forced = await this.#replacementFor(rejected, true, first.pendingAbsent ? 'skip' : 'first');
          if (forced.found) return forced.found;
          cur = forced.cur;
        } else cur = again.cur;
      }
      this.#markFruitless();
      // Agent: a stale cached AWSCURRENT older than the rejected version is not installed either.
      const e = this.#entry;
      if (viaCache && e !== undefined && cur.versionId !== rejected.versionId) {
        return this.#install(e.creds, 'refresh', e.fallbackFrom);
      }
      return this.#install(cur, 'refresh', undefined);
    } catch (err) {
      return this.#onFetchFailure(err, false);
    }
  }

  /**
   * AWSCURRENT, then AWSPENDING (`pending`: 'after'; 'skip' when it is known absent; 'first' for
   * refreshNow reads, where one round trip then fixes the agent's AWSPENDING entry for the whole host):
   * the first usable version other than `rejected`, installed. `refreshNow` (agent): authoritative reads.
   */
  async #replacementFor(
    rejected: DbCredentials,
    refreshNow: boolean,
    pending: 'after' | 'skip' | 'first',
  ): Promise<{ found?: Credentials; cur: Credentials; pendingAbsent: boolean }> {
    if (pending === 'first') {
      const p = await this.#tryPending(rejected, refreshNow);
      if (p.found) return { found: p.found, cur: p.found, pendingAbsent: false };
      return { ...(await this.#tryCurrent(rejected, refreshNow)), pendingAbsent: p.absent };
    }
    const c = await this.#tryCurrent(rejected, refreshNow);
    if (c.found || pending === 'skip') return { ...c, pendingAbsent: pending === 'skip' };
    const p = await this.#tryPending(rejected, refreshNow);
    if (!p.absent) return { found: p.found, cur: c.cur, pendingAbsent: false };
    // No AWSPENDING: no rotation in progress, or finishSecret ran between the two reads (the label moved on
    // and AWSCURRENT is the new version now). One more read tells them apart.
    return { ...(await this.#tryCurrent(rejected, refreshNow)), pendingAbsent: true };
  }

  async #tryCurrent(rejected: DbCredentials, refreshNow: boolean): Promise<{ found?: Credentials; cur: Credentials }> {
    const cur = (await this.#fetch('AWSCURRENT', false, refreshNow))!;
    if (!this.#usable(cur, rejected, refreshNow)) return { cur };
    // The fallback itself was rejected (pending created but never set on the server): back to AWSCURRENT.
    if (rejected.stage === 'AWSPENDING') this.#fellBack(rejected, cur);
    return { found: this.#install(cur, 'refresh', undefined), cur };
  }

  /**
   * Rotation window: AWSCURRENT is the rejected version (still, or again: a fallback version that has
   * since been promoted and is now being rotated away from). The new password may already be set on
   * the server (setSecret runs before finishSecret), so try AWSPENDING.
   */
  async #tryPending(rejected: DbCredentials, refreshNow: boolean): Promise<{ found?: Credentials; absent: boolean }> {
    const pending = await this.#fetch('AWSPENDING', true, refreshNow);
    if (pending === undefined) return { absent: true };
    if (!this.#usable(pending, rejected, refreshNow)) return { absent: false };
    this.#fellBack(rejected, pending);
    this.#o.logger?.info?.('dbcreds: AWSCURRENT rejected, using AWSPENDING', {
      secretId: this.secretId,
      rejectedVersionId: rejected.versionId,
      versionId: pending.versionId,
    });
    return { found: this.#install(pending, 'refresh', rejected.versionId), absent: false };
  }

  /** Counts and announces a rotation-window fallback from `rejected` to `to` (its stage: where we fell back to). */
  #fellBack(rejected: DbCredentials, to: Credentials): void {
    this.#s.fallbacks++;
    this.#emitter.emit('fallback', {
      secretId: this.secretId,
      rejectedVersionId: rejected.versionId,
      versionId: to.versionId,
      stage: to.stage,
    });
  }

  /** A version other than the rejected one; read through the agent's cache, also not older than it. */
  #usable(c: Credentials, rejected: DbCredentials, authoritative: boolean): boolean {
    if (c.versionId === rejected.versionId) return false;
    return authoritative || this.#o.agent === undefined || this.#isForward(c, rejected);
  }

  /** Not a version this source moved away from, and not created before `ref` (when both dates are known). */
  #isForward(c: Credentials, ref: DbCredentials): boolean {
    if (this.#superseded.has(c.versionId)) return false;
    return c.createdAt === undefined || ref.createdAt === undefined || c.createdAt >= ref.createdAt;
  }

  /** Agent backend with refreshNow enabled and none within minRefreshIntervalMs. */
  #forcedAllowed(): boolean {
    return (
      this.#o.agent?.refreshNow === true && this.#o.clock.now() - this.#lastForcedAt >= this.#o.minRefreshIntervalMs
    );
  }

  /** #forcedAllowed(), and takes the slot. */
  #takeForced(): boolean {
    if (!this.#forcedAllowed()) return false;
    this.#lastForcedAt = this.#o.clock.now();
    return true;
  }

  /** A random wait in [0, agent.spreadMs]; ends (rejecting) on close(). */
  #spread(): Promise<void> {
    const max = this.#o.agent?.spreadMs ?? 0;
    return max > 0 ? sleep(Math.random() * max, this.#closing.signal) : Promise.resolve();
  }

  #markFruitless(): void {
    this.#lastFruitlessRefreshAt = this.#o.clock.now();
  }

  #install(creds: Credentials, reason: RefreshReason, fallbackFrom: string | undefined): Credentials {
    if (this.#closed) throw new SourceClosedError(this.secretId);
    const now = this.#o.clock.now();
    const prev = this.#entry?.creds;
    // Same version and stage: keep the existing object (identity stays stable for callers).
    if (prev !== undefined && sameVersion(prev, creds)) creds = prev;
    const ttl = this.#o.ttlMs;
    const expiresAt = this.#backend
      ? this.#backend.expiresAt(creds, now)
      : ttl === 0
        ? now
        : now + ttl / 2 + Math.random() * (ttl / 2);
    this.#entry = {
      creds,
      promise: prev === creds ? this.#entry!.promise : Promise.resolve(creds),
      fetchedAt: now,
      expiresAt,
      staleUntil: this.#backend ? this.#backend.staleUntil(creds, expiresAt) : expiresAt + this.#o.maxStaleMs,
      fallbackFrom,
    };
    this.#consecutiveFailures = 0;
    this.#nextAttemptAt = Number.NEGATIVE_INFINITY;
    this.#lastError = undefined;
    const changed = prev !== undefined && prev.versionId !== creds.versionId;
    if (changed) {
      this.#s.rotations++;
      this.#superseded.delete(creds.versionId);
      this.#superseded.add(prev.versionId);
      if (this.#superseded.size > MAX_SUPERSEDED) this.#superseded.delete(this.#superseded.values().next().value!);
      this.#emitter.emit('rotated', {
        secretId: this.secretId,
        previousVersionId: prev.versionId,
        versionId: creds.versionId,
        previousStage: prev.stage,
        stage: creds.stage,
        usernameChanged: prev.username !== creds.username,
      });
      this.#o.logger?.info?.('dbcreds: secret version changed', {
        secretId: this.secretId,
        previousVersionId: prev.versionId,
        versionId: creds.versionId,
        stage: creds.stage,
      });
    }
    this.#emitter.emit('refreshed', {
      secretId: this.secretId,
      versionId: creds.versionId,
      stage: creds.stage,
      changed,
      reason,
    });
    return creds;
  }

  /**
   * Serve stale within maxStaleMs, else throw a typed error. Starts/extends the error backoff.
   * `background`: a stale-while-revalidate fetch, whose stale value was already served (counted) by get().
   */
  #onFetchFailure(err: unknown, background: boolean): Credentials {
    if (err instanceof SourceClosedError) throw err;
    const typed = toTypedError(this.secretId, err, 1, this.#fetchCtx.from);
    this.#s.errors++;
    this.#consecutiveFailures++;
    const { baseDelayMs, maxDelayMs } = this.#o.errorBackoff;
    const delay = Math.min(maxDelayMs, baseDelayMs * 2 ** (this.#consecutiveFailures - 1));
    const now = this.#o.clock.now();
    this.#nextAttemptAt = now + delay;
    this.#lastError = typed;
    const stale = this.#staleUsable(now);
    this.#emitter.emit('error', {
      secretId: this.secretId,
      error: typed,
      servingStale: stale !== undefined,
      consecutiveFailures: this.#consecutiveFailures,
      retryInMs: delay,
    });
    this.#o.logger?.warn?.('dbcreds: fetching secret failed', {
      secretId: this.secretId,
      error: typed.name,
      cause: causeName(typed.cause),
      servingStale: stale !== undefined,
      retryInMs: delay,
    });
    if (stale !== undefined) {
      if (!background) this.#s.staleServed++;
      return stale;
    }
    throw typed;
  }

  #staleUsable(now: number): Credentials | undefined {
    const e = this.#entry;
    if (e === undefined) return undefined;
    return now <= e.staleUntil ? e.creds : undefined;
  }

  /** Within the error backoff: no AWS call. Stale value if allowed, else the last error (wrapped fresh). */
  #duringBackoff(): Promise<DbCredentials> {
    const stale = this.#staleUsable(this.#o.clock.now());
    if (stale !== undefined) {
      this.#s.hits++;
      this.#s.staleServed++;
      return Promise.resolve(stale);
    }
    const last = this.#lastError;
    if (last instanceof SecretNotFoundError || last instanceof SecretFormatError) return Promise.reject(last);
    return Promise.reject(
      new SecretFetchError(this.secretId, {
        cause: last,
        attempts: 0,
        message: `Secret '${this.secretId}' is unavailable: the last fetch failed and the next attempt is backed off (${last?.message ?? 'unknown error'})`,
      }),
    );
  }

  #fetch(stage: VersionStage, optional: boolean, refreshNow = false): Promise<Credentials | undefined> {
    if (refreshNow) this.#s.forcedRefreshes++;
    return fetchSecret(this.#fetchCtx, stage, optional, refreshNow);
  }
}

/** Bound of the superseded-version memory (a few rotations back is all an agent's cache can hold). */
const MAX_SUPERSEDED = 16;

function causeName(err: unknown): string | undefined {
  return err instanceof Error ? err.name : undefined;
}

/** Creates a credential source. Options are validated now (ConfigurationError); nothing is fetched until get(). */
export function createCredentialSource(options: CredentialSourceOptions): CredentialSource {
  return new Source(options, undefined);
}

/** A source over another backend (iam.ts). `options.secretId` names it in events, errors and logs. */
export function createBackedSource(options: CredentialSourceOptions, backend: SourceBackend): CredentialSource {
  return new Source(options, backend);
}

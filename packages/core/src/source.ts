import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { isAuthError } from './classify.js';
import { type Credentials, parseDbSecret, sameVersion } from './credentials.js';
import { SafeEmitter } from './emitter.js';
import { DbCredsError, SecretFetchError, SecretFormatError, SecretNotFoundError, SourceClosedError } from './errors.js';
import { type ResolvedOptions, resolveOptions } from './options.js';
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

interface Entry {
  creds: Credentials;
  /** Reused resolved promise: the cache-hit path allocates nothing. */
  promise: Promise<DbCredentials>;
  fetchedAt: number;
  expiresAt: number;
  /** Set when this entry is the AWSPENDING fallback: the AWSCURRENT version that was rejected. */
  fallbackFrom: string | undefined;
}

const RETRYABLE_NAMES = new Set([
  'ThrottlingException',
  'Throttling',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  'RequestThrottled',
  'RequestThrottledException',
  'ProvisionedThroughputExceededException',
  'LimitExceededException',
  'SlowDown',
  'InternalServiceError',
  'InternalFailure',
  'ServiceUnavailable',
  'TimeoutError',
  'RequestTimeout',
  'RequestTimeoutException',
]);
const RETRYABLE_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
]);

/** Throttling, 5xx, timeouts and connection errors (the AWS SDK's own transient classes). */
export function isRetryableFetchError(err: unknown): boolean {
  if (err === null || typeof err !== 'object') return false;
  const e = err as { name?: unknown; code?: unknown; $retryable?: unknown; $metadata?: { httpStatusCode?: unknown } };
  if (e.$retryable !== undefined) return true;
  if (typeof e.name === 'string' && RETRYABLE_NAMES.has(e.name)) return true;
  if (typeof e.code === 'string' && RETRYABLE_CODES.has(e.code)) return true;
  const status = e.$metadata?.httpStatusCode;
  return typeof status === 'number' && (status >= 500 || status === 429);
}

const SOURCE_BRAND = Symbol.for('@dbcreds/core.CredentialSource');

class Source implements CredentialSource {
  readonly secretId: string;
  readonly [SOURCE_BRAND] = true;
  readonly #o: ResolvedOptions;
  readonly #client: SecretsManagerLike;
  readonly #ownedClient: SecretsManagerClient | undefined;
  readonly #emitter: SafeEmitter;
  readonly #timers = new Set<{ timer: NodeJS.Timeout; resolve: () => void }>();
  #entry: Entry | undefined;
  #flight: Promise<DbCredentials> | undefined;
  #closed = false;
  #lastFruitlessRefreshAt = Number.NEGATIVE_INFINITY;
  #consecutiveFailures = 0;
  #nextAttemptAt = Number.NEGATIVE_INFINITY;
  #lastError: Error | undefined;
  #s = {
    hits: 0,
    misses: 0,
    fetches: 0,
    refreshes: 0,
    rateLimited: 0,
    fallbacks: 0,
    errors: 0,
    staleServed: 0,
    rotations: 0,
  };

  constructor(options: CredentialSourceOptions) {
    this.#o = resolveOptions(options);
    this.secretId = this.#o.secretId;
    if (this.#o.client) {
      this.#client = this.#o.client;
    } else {
      // Core owns retries (one policy for every client); the SDK's own retries would multiply them.
      this.#ownedClient = new SecretsManagerClient({ maxAttempts: 1, ...this.#o.clientConfig });
      this.#client = this.#ownedClient;
    }
    this.#emitter = new SafeEmitter(this.#o.logger);
  }

  get(): Promise<DbCredentials> {
    const e = this.#entry;
    if (e !== undefined && this.#o.clock.now() < e.expiresAt && !this.#closed) {
      this.#s.hits++;
      return e.promise;
    }
    return this.#getSlow();
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
    return this.#startFlight(() => this.#load(e === undefined ? 'initial' : 'expired'));
  }

  async refresh(rejected?: DbCredentials): Promise<DbCredentials> {
    this.#assertOpen();
    this.#s.refreshes++;
    for (let round = 0; ; round++) {
      const e = this.#entry;
      // Compare-and-refresh: someone already moved past the rejected version.
      if (e !== undefined && rejected !== undefined && !sameVersion(e.creds, rejected)) return e.creds;
      if (this.#flight) {
        const result = await this.#flight;
        if (round >= 1 || rejected === undefined) return result;
        continue; // re-compare against what the flight installed
      }
      const now = this.#o.clock.now();
      if (e !== undefined && now - this.#lastFruitlessRefreshAt < this.#o.minRefreshIntervalMs) {
        this.#s.rateLimited++;
        return e.creds;
      }
      if (now < this.#nextAttemptAt) return this.#duringBackoff();
      return this.#startFlight(() => this.#refreshFlight(rejected));
    }
  }

  async withAuthRetry<T>(attempt: (creds: DbCredentials) => Promise<T>): Promise<T> {
    const creds = await this.get();
    try {
      return await attempt(creds);
    } catch (err) {
      if (!isAuthError(err)) throw err;
      let fresh: DbCredentials;
      try {
        fresh = await this.refresh(creds);
      } catch (refreshError) {
        attachRefreshError(err, refreshError);
        throw err;
      }
      this.#o.logger?.debug?.('dbcreds: auth error, retrying once with refreshed credentials', {
        secretId: this.secretId,
        rejectedVersionId: creds.versionId,
        versionId: fresh.versionId,
        stage: fresh.stage,
      });
      return await attempt(fresh);
    }
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
    for (const t of this.#timers) {
      clearTimeout(t.timer);
      t.resolve();
    }
    this.#timers.clear();
    this.#entry = undefined;
    this.#emitter.clear();
    this.#ownedClient?.destroy();
  }

  toString(): string {
    return `CredentialSource(${this.secretId})`;
  }

  // ---- internals ---------------------------------------------------------------------------

  #assertOpen(): void {
    if (this.#closed) throw new SourceClosedError(this.secretId);
  }

  #startFlight(run: () => Promise<DbCredentials>): Promise<DbCredentials> {
    const flight = run().finally(() => {
      if (this.#flight === flight) this.#flight = undefined;
    });
    this.#flight = flight;
    return flight;
  }

  /** Plain (re)load of the configured stage: first use or TTL expiry. */
  async #load(reason: RefreshReason): Promise<DbCredentials> {
    try {
      const cur = (await this.#fetch(this.#o.versionStage, false))!;
      const e = this.#entry;
      // Serving the AWSPENDING fallback and AWSCURRENT still is the version that was rejected:
      // keep the fallback rather than flip back to credentials the server refuses.
      if (e?.fallbackFrom !== undefined && cur.versionId === e.fallbackFrom) {
        return this.#install(e.creds, reason, e.fallbackFrom);
      }
      return this.#install(cur, reason, undefined);
    } catch (err) {
      return this.#onFetchFailure(err);
    }
  }

  /** refresh(rejected): read the configured stage; apply the rotation-window fallback. */
  async #refreshFlight(rejected: DbCredentials | undefined): Promise<DbCredentials> {
    try {
      const stage = this.#o.versionStage;
      if (rejected === undefined || stage !== 'AWSCURRENT') {
        const cur = (await this.#fetch(stage, false))!;
        const known = rejected ?? this.#entry?.creds;
        if (known !== undefined && cur.versionId === known.versionId) this.#markFruitless();
        return this.#install(cur, 'refresh', undefined);
      }
      const cur = (await this.#fetch('AWSCURRENT', false))!;
      if (cur.versionId !== rejected.versionId) {
        if (rejected.stage === 'AWSPENDING') {
          // The fallback itself was rejected (pending created but never set on the server): back to AWSCURRENT.
          this.#s.fallbacks++;
          this.#emitter.emit('fallback', {
            secretId: this.secretId,
            rejectedVersionId: rejected.versionId,
            versionId: cur.versionId,
            stage: 'AWSCURRENT',
          });
        }
        return this.#install(cur, 'refresh', undefined);
      }
      // Rotation window: AWSCURRENT is the rejected version (still, or again: a fallback version that has
      // since been promoted and is now being rotated away from). The new password may already be set on
      // the server (setSecret runs before finishSecret), so try AWSPENDING.
      const pending = await this.#fetch('AWSPENDING', true);
      if (pending !== undefined && pending.versionId !== rejected.versionId) {
        this.#s.fallbacks++;
        this.#emitter.emit('fallback', {
          secretId: this.secretId,
          rejectedVersionId: rejected.versionId,
          versionId: pending.versionId,
          stage: 'AWSPENDING',
        });
        this.#o.logger?.info?.('dbcreds: AWSCURRENT rejected, using AWSPENDING', {
          secretId: this.secretId,
          rejectedVersionId: rejected.versionId,
          versionId: pending.versionId,
        });
        return this.#install(pending, 'refresh', rejected.versionId);
      }
      this.#markFruitless();
      return this.#install(cur, 'refresh', undefined);
    } catch (err) {
      return this.#onFetchFailure(err);
    }
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
    const expiresAt = ttl === 0 ? now : now + ttl / 2 + Math.random() * (ttl / 2);
    this.#entry = {
      creds,
      promise: prev === creds ? this.#entry!.promise : Promise.resolve(creds),
      fetchedAt: now,
      expiresAt,
      fallbackFrom,
    };
    this.#consecutiveFailures = 0;
    this.#nextAttemptAt = Number.NEGATIVE_INFINITY;
    this.#lastError = undefined;
    const changed = prev !== undefined && prev.versionId !== creds.versionId;
    if (changed) {
      this.#s.rotations++;
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

  /** Serve stale within maxStaleMs, else throw a typed error. Starts/extends the error backoff. */
  #onFetchFailure(err: unknown): Credentials {
    if (err instanceof SourceClosedError) throw err;
    const typed = toTypedError(this.secretId, err, 1);
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
      this.#s.staleServed++;
      return stale;
    }
    throw typed;
  }

  #staleUsable(now: number): Credentials | undefined {
    const e = this.#entry;
    if (e === undefined) return undefined;
    return now - e.expiresAt <= this.#o.maxStaleMs ? e.creds : undefined;
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

  /** One GetSecretValue with retries of transient errors. `optional`: a missing value → undefined. */
  async #fetch(stage: VersionStage, optional: boolean): Promise<Credentials | undefined> {
    const { maxAttempts, baseDelayMs, maxDelayMs } = this.#o.retry;
    for (let attempt = 1; ; attempt++) {
      this.#assertOpen();
      let out: Awaited<ReturnType<SecretsManagerLike['send']>>;
      try {
        this.#s.fetches++;
        out = await this.#client.send(new GetSecretValueCommand({ SecretId: this.secretId, VersionStage: stage }));
      } catch (err) {
        if (isNamed(err, 'ResourceNotFoundException')) {
          if (optional) return undefined;
          throw new SecretNotFoundError(this.secretId, stage, { cause: err });
        }
        if (this.#closed) throw new SourceClosedError(this.secretId);
        if (attempt >= maxAttempts || !isRetryableFetchError(err)) throw toTypedError(this.secretId, err, attempt);
        const cap = Math.min(maxDelayMs, baseDelayMs * 2 ** (attempt - 1));
        await this.#sleep(cap / 2 + Math.random() * (cap / 2));
        continue;
      }
      if (typeof out.SecretString === 'string') {
        if (!out.VersionId) throw new SecretFormatError(this.secretId, 'GetSecretValue returned no VersionId');
        return parseDbSecret(this.secretId, out.SecretString, { versionId: out.VersionId, stage });
      }
      if (optional && out.SecretBinary === undefined) return undefined;
      throw new SecretFormatError(
        this.secretId,
        out.SecretBinary !== undefined
          ? 'SecretBinary is not supported; store the JSON in SecretString'
          : 'secret has no SecretString',
        { field: 'SecretString' },
      );
    }
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = {
        timer: setTimeout(() => {
          this.#timers.delete(t);
          resolve();
        }, ms),
        resolve,
      };
      t.timer.unref();
      this.#timers.add(t);
    });
  }
}

function isNamed(err: unknown, name: string): boolean {
  return (
    err !== null &&
    typeof err === 'object' &&
    ((err as { name?: unknown }).name === name || (err as { Code?: unknown }).Code === name)
  );
}

function causeName(err: unknown): string | undefined {
  return err instanceof Error ? err.name : undefined;
}

function toTypedError(secretId: string, err: unknown, attempts: number): DbCredsError {
  if (err instanceof DbCredsError) return err;
  return new SecretFetchError(secretId, { cause: err, attempts });
}

/** Non-enumerable: the driver error stays "unchanged" for callers and loggers, but the SM failure is reachable. */
function attachRefreshError(err: unknown, refreshError: unknown): void {
  if (err === null || typeof err !== 'object' || !Object.isExtensible(err)) return;
  try {
    Object.defineProperty(err, 'dbcredsRefreshError', {
      value: refreshError,
      enumerable: false,
      configurable: true,
      writable: true,
    });
  } catch {
    // frozen or exotic object: nothing to attach to
  }
}

/** The Secrets Manager error that prevented withAuthRetry from refreshing, if any. */
export function getRefreshError(err: unknown): unknown {
  return err !== null && typeof err === 'object'
    ? (err as { dbcredsRefreshError?: unknown }).dbcredsRefreshError
    : undefined;
}

/** Creates a credential source. Options are validated now (ConfigurationError); nothing is fetched until get(). */
export function createCredentialSource(options: CredentialSourceOptions): CredentialSource {
  return new Source(options);
}

/** True for a CredentialSource (ours, another copy of core, or any object with get/refresh/withAuthRetry). */
export function isCredentialSource(x: unknown): x is CredentialSource {
  if (x === null || typeof x !== 'object') return false;
  const s = x as Record<PropertyKey, unknown>;
  if (s[SOURCE_BRAND] === true) return true;
  return typeof s.get === 'function' && typeof s.refresh === 'function' && typeof s.withAuthRetry === 'function';
}

/** Returns `x` if it is a CredentialSource, else `createCredentialSource(x)`. Adapters accept either. */
export function resolveCredentialSource(sourceOrOptions: CredentialSource | CredentialSourceOptions): CredentialSource {
  return isCredentialSource(sourceOrOptions) ? sourceOrOptions : createCredentialSource(sourceOrOptions);
}

/** Standalone form of `source.withAuthRetry(attempt)`. */
export function withAuthRetry<T>(source: CredentialSource, attempt: (creds: DbCredentials) => Promise<T>): Promise<T> {
  return source.withAuthRetry(attempt);
}

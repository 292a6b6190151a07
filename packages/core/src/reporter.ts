/** A source's observable side: counters, events and log lines (metadata only, never a secret value). */
import type { Credentials } from './credentials.js';
import { SafeEmitter } from './emitter.js';
import type { CacheEntry } from './entry.js';
import type { CredentialSourceStats, DbCredentials, Logger, RefreshReason } from './types.js';

export function newCounters() {
  return {
    hits: 0,
    misses: 0,
    fetches: 0,
    refreshes: 0,
    invalidations: 0,
    forcedRefreshes: 0,
    rateLimited: 0,
    fallbacks: 0,
    errors: 0,
    staleServed: 0,
    rotations: 0,
  };
}

export class SourceReporter {
  readonly counts = newCounters();
  readonly emitter: SafeEmitter;
  readonly #secretId: string;
  readonly #logger: Logger | undefined;

  constructor(secretId: string, logger: Logger | undefined) {
    this.#secretId = secretId;
    this.#logger = logger;
    this.emitter = new SafeEmitter(logger);
  }

  stats(e: CacheEntry | undefined): CredentialSourceStats {
    return {
      ...this.counts,
      versionId: e?.creds.versionId,
      stage: e?.creds.stage,
      region: e?.creds.region,
      fetchedAt: e?.fetchedAt,
      expiresAt: e?.expiresAt,
    };
  }

  refreshed(creds: Credentials, changed: boolean, reason: RefreshReason): void {
    const { versionId, stage } = creds;
    this.emitter.emit('refreshed', { secretId: this.#secretId, versionId, stage, changed, reason, ...regionOf(creds) });
  }

  rotated(prev: Credentials, next: Credentials): void {
    this.counts.rotations++;
    const secretId = this.#secretId;
    this.emitter.emit('rotated', {
      secretId,
      previousVersionId: prev.versionId,
      versionId: next.versionId,
      previousStage: prev.stage,
      stage: next.stage,
      usernameChanged: prev.username !== next.username,
      ...regionOf(next),
    });
    const meta = { secretId, previousVersionId: prev.versionId, versionId: next.versionId, stage: next.stage };
    this.#logger?.info?.('dbcreds: secret version changed', meta);
  }

  /** A rotation-window fallback from `rejected` to `to` (AWSPENDING, or back to AWSCURRENT). */
  fellBack(rejected: DbCredentials, to: Credentials): void {
    this.counts.fallbacks++;
    const event = { secretId: this.#secretId, rejectedVersionId: rejected.versionId, versionId: to.versionId };
    this.emitter.emit('fallback', { ...event, stage: to.stage, ...regionOf(to) });
    if (to.stage === 'AWSPENDING') this.#logger?.info?.('dbcreds: AWSCURRENT rejected, using AWSPENDING', event);
  }

  fetchFailed(error: Error, servingStale: boolean, consecutiveFailures: number, retryInMs: number): void {
    this.counts.errors++;
    const secretId = this.#secretId;
    this.emitter.emit('error', { secretId, error, servingStale, consecutiveFailures, retryInMs });
    const cause = error.cause instanceof Error ? error.cause.name : undefined;
    this.#logger?.warn?.('dbcreds: fetching secret failed', {
      secretId,
      error: error.name,
      cause,
      servingStale,
      retryInMs,
    });
  }
}

/** `{ region }` when the credentials name the region that served them (regions option), else nothing. */
const regionOf = (c: Credentials): { region?: string } => (c.region === undefined ? {} : { region: c.region });

import type { Credentials } from '../credentials.js';
import type { ExpiryPolicy } from '../entry.js';
import type { Lookup } from '../fallback.js';
import type { FetchContext } from '../fetch.js';
import type { ResolvedOptions } from '../options.js';
import type { Clock, DbCredentials, VersionStage } from '../types.js';

/** What the source gives a backend: how to fetch (retries, timeouts, close), its clock and counters. */
export interface BackendContext {
  readonly secretId: string;
  /** fetch.ts settings without the client: each backend brings its own. */
  readonly fetch: Omit<FetchContext, 'client' | 'from'>;
  readonly clock: Clock;
  readonly minRefreshIntervalMs: number;
  /** Aborted by close(). */
  readonly closed: AbortSignal;
  /** Counts a read that bypasses a cache (stats.forcedRefreshes). */
  countForced(): void;
  /**
   * The secret changed outside a read (a watched file): the cached value expires and is reloaded in the
   * background (get() serves it meanwhile); a reload that fails is reported and keeps it.
   */
  changed(): void;
}

/**
 * One way of reading a secret (Secrets Manager through the SDK or a given client, the Secrets Manager
 * Agent, the RDS IAM token signer). The source's state machine (single-flight, cache, backoff, events)
 * is the same over every backend; a backend owns only how it reads and which reads it trusts.
 */
export interface SourceBackend {
  /** Where reads go, in error messages (undefined: AWS Secrets Manager). */
  readonly from: string | undefined;
  /** The source's `toString()`, when not `CredentialSource(<secretId>)`. */
  readonly label: string | undefined;
  readonly expiry: ExpiryPolicy;
  /** The configured stage; `refresh`: an explicit refresh() (may bypass a cache). */
  read(stage: VersionStage, refresh: boolean): Promise<Credentials>;
  /**
   * After `rejected` was refused: a replacement, else what AWSCURRENT holds. `poll`: a round of the
   * wait for an out-of-band change, after a first lookup found nothing.
   */
  replacementFor(rejected: DbCredentials, round: 'first' | 'poll'): Promise<Lookup>;
  /** Whether `read` (from read()) may replace `cached` (a cache may be behind what the source moved to). */
  accepts(read: Credentials, cached: Credentials): boolean;
  /** The source moved from `previous` to `next` (another version). */
  moved(previous: Credentials, next: Credentials): void;
  close(): void;
}

/** Builds the backend of a source from its resolved options and context (default: create.ts). */
export type BackendFactory = (options: ResolvedOptions, ctx: BackendContext) => SourceBackend;

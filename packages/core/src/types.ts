import type {
  GetSecretValueCommand,
  GetSecretValueCommandOutput,
  SecretsManagerClientConfig,
} from '@aws-sdk/client-secrets-manager';

/** Database engines as normalised from the secret's `engine` field. */
export type DbEngine = 'mysql' | 'mariadb' | 'postgres' | 'aurora-mysql' | 'aurora-postgresql' | 'redshift';

/** Secrets Manager staging label the credentials were read from. */
export type VersionStage = 'AWSCURRENT' | 'AWSPENDING';

/**
 * Parsed database credentials from one secret version. `password` is not an own enumerable
 * property: it is hidden from `JSON.stringify`, `util.inspect`, `String()` and object spread.
 */
export interface DbCredentials {
  readonly username: string;
  readonly password: string;
  readonly host?: string;
  readonly port?: number;
  readonly dbname?: string;
  readonly engine?: DbEngine;
  readonly masterarn?: string;
  readonly versionId: string;
  readonly stage: VersionStage;
  /** When the secret version was created (GetSecretValue `CreatedDate`), ms since the epoch, if known. */
  readonly createdAt?: number;
  /** The region that served these credentials (with the `regions` option only). */
  readonly region?: string;
}

/** The part of `SecretsManagerClient` core uses. Any object with a compatible `send` works. */
export interface SecretsManagerLike {
  send(command: GetSecretValueCommand, options?: unknown): Promise<GetSecretValueCommandOutput>;
}

/** Optional logger. Receives messages and metadata only (secret id, version ids, error names), never secrets. */
export interface Logger {
  debug?(message: string, meta?: Record<string, unknown>): void;
  info?(message: string, meta?: Record<string, unknown>): void;
  warn?(message: string, meta?: Record<string, unknown>): void;
  error?(message: string, meta?: Record<string, unknown>): void;
}

export interface Clock {
  /** Milliseconds, monotonic enough for TTL arithmetic (default `Date.now()`). */
  now(): number;
}

/** Retries of one GetSecretValue for transient errors (throttling, 5xx, timeouts, connection errors). */
export interface FetchRetryOptions {
  /** Total attempts per fetch, including the first (default 3; 1 disables retries). */
  maxAttempts?: number;
  /** First backoff delay in ms; doubles per attempt, jittered in [d/2, d] (default 100). */
  baseDelayMs?: number;
  /** Cap of one backoff delay in ms (default 2_000). */
  maxDelayMs?: number;
}

/** Spacing of fetch attempts after a failed fetch (stale-on-error mode). */
export interface ErrorBackoffOptions {
  /** Delay after the first failed fetch in ms; doubles per consecutive failure (default 1_000). */
  baseDelayMs?: number;
  /** Cap in ms (default 60_000). */
  maxDelayMs?: number;
}

/**
 * Reading through the AWS Secrets Manager Agent or the AWS Parameters and Secrets Lambda Extension
 * (`GET <endpoint>/secretsmanager/get?secretId=…&versionStage=…` with the SSRF token header).
 */
export interface AgentOptions {
  /**
   * Base URL of the agent (default `http://localhost:<PARAMETERS_SECRETS_EXTENSION_HTTP_PORT>` when
   * that variable is set, as in Lambda, else `http://localhost:2773`).
   */
  endpoint?: string;
  /**
   * SSRF token sent as `X-Aws-Parameters-Secrets-Token`; `file:///path` reads it from a file. Default:
   * the first set of `AWS_TOKEN`, `AWS_SESSION_TOKEN`, `AWS_CONTAINER_AUTHORIZATION_TOKEN` (the agent's
   * own order; a `file://` value is read from the file), else the file `/var/run/awssmatoken`.
   */
  token?: string;
  /**
   * After an authentication failure, when the agent's cached AWSCURRENT and AWSPENDING hold nothing
   * newer than the rejected version, re-read with `refreshNow=true` (at most once per
   * `minRefreshIntervalMs`). Default true; set false for the Lambda extension, which has no `refreshNow`.
   */
  refreshNow?: boolean;
  /**
   * After an authentication failure, wait a random 0..spreadMs ms before reading through the agent,
   * and again before a refreshNow read (default 200). The agent does not coalesce concurrent cache
   * misses: processes of a host rejected at the same moment then find the first one's read in its
   * cache instead of all calling Secrets Manager. 0 disables it.
   */
  spreadMs?: number;
}

/**
 * Where the fields live in a secret that is not in the RDS shape: for each field, the JSON key holding
 * it (a dotted path such as `'db.user'` reaches into nested objects; an exact key with a dot wins). Fields
 * not named keep their RDS key (`username`, `password`, `host`, `port`, `dbname`, `engine`). A key named
 * here must be present in the secret.
 */
export interface SecretFieldKeys {
  username?: string;
  password?: string;
  host?: string;
  port?: string;
  dbname?: string;
  engine?: string;
}

/**
 * The JSON key whose value is a connection URL (`postgres://user:pass@host:5432/db`, also
 * `postgresql`, `mysql`, `mariadb`, `redshift`, `aurora-…`, and the same with a `jdbc:` prefix):
 * user, password, host, port and database come from it, percent-decoded; the scheme gives the engine.
 */
export interface SecretUrlKey {
  url: string;
}

/**
 * One region of the `regions` option: a region name (the client is core's, from `clientConfig` with this
 * region), or the region with its own client (`client`, not destroyed by close()) or client config
 * (`clientConfig`, merged over the top-level `clientConfig`).
 */
export type RegionOption =
  | string
  | { region: string; client?: SecretsManagerLike; clientConfig?: SecretsManagerClientConfig };

/** The `secretKeys` option: field keys, or the key of a connection URL. */
export type SecretKeys = SecretFieldKeys | SecretUrlKey;

/** The field files of a directory layout: for each field, the file name inside the directory (the same fields). */
export type FileFieldNames = SecretFieldKeys;

/**
 * A secret mounted as files (EKS: the Secrets Store CSI driver with the AWS provider, or a Kubernetes
 * Secret volume synced by External Secrets). Give `path` (one file holding the secret's JSON or URL) or
 * `dir` (one file per field: ASCP `jmesPath` objects, a Secret volume's keys).
 */
export interface FileSourceOptions {
  /** A file holding the SecretString (JSON in any shape `secretKeys` reads, or a connection URL). */
  path?: string;
  /**
   * A directory with one file per field. One trailing newline of each value is removed. Without `keys`,
   * the files `username` and `password` are required and `host`, `port`, `dbname`, `engine` read if present.
   */
  dir?: string;
  /** With `dir`: the file name of each field (a field named here must exist). */
  keys?: FileFieldNames;
  /**
   * With `path`: a file holding the AWSPENDING version (ASCP `objectVersionLabel: AWSPENDING`), the
   * rotation-window fallback after a refused login. Absent or missing file: no fallback.
   */
  pendingFile?: string;
  /** With `dir`: the directory of the AWSPENDING version's field files (same names). */
  pendingDir?: string;
  /**
   * The mount no resolved path may leave (default: the directory holding each file, or `dir`). Symlinks
   * inside it (the kubelet's `..data` indirection) are followed; one resolving outside is an error.
   */
  root?: string;
  /** Interval of the change check (a stat of each file) beside `fs.watch`, in ms (default 1_000; 0 disables it). */
  pollMs?: number;
  /** Watch the directories with `fs.watch` (default true; the poll still runs). */
  watch?: boolean;
}

export interface CredentialSourceOptions {
  /** Secret name or ARN. Required, except with `file`. */
  secretId?: string;
  /**
   * Read a secret mounted as files instead of calling Secrets Manager: a path (the file holding the
   * secret's JSON), or `FileSourceOptions`. Not with `secretId`, `client`, `clientConfig` or `agent`.
   */
  file?: string | FileSourceOptions;
  /** Bring your own client (anything with `send`). Not destroyed by `close()`. */
  client?: SecretsManagerLike;
  /** Config for a client core creates (and destroys on `close()`). Defaults `maxAttempts` to 1: core retries. */
  clientConfig?: SecretsManagerClientConfig;
  /**
   * Read through the Secrets Manager Agent / Lambda extension on localhost instead of calling Secrets
   * Manager (`true`: defaults). Not with `client` / `clientConfig`.
   */
  agent?: true | AgentOptions;
  /**
   * Regions holding the secret, primary first, then its replicas in order of preference (Secrets Manager
   * multi-region secrets). Reads go to the primary; a transient or network failure there (throttling, 5xx,
   * timeout, connection error — never AccessDenied, not-found, a decryption failure or a bad secret) reads
   * the next region. Not with `agent` or `client` (give each region's client in its entry). Default: none
   * (one region: `clientConfig.region`, or the SDK's own resolution).
   */
  regions?: RegionOption[];
  /**
   * With `regions`: after the primary failed, how long reads go to a replica before the primary is tried
   * first again, in ms (default 30_000). A refused login still asks the primary when the replica has
   * nothing newer (it may lag).
   */
  primaryRetryMs?: number;
  /** Cache TTL in ms (default 3_600_000). Each fetch expires at a random point in [ttl/2, ttl]. 0 = always fetch. */
  ttlMs?: number;
  /** Minimum spacing in ms of refreshes that found nothing new (default 5_000). */
  minRefreshIntervalMs?: number;
  /**
   * How long a refused login waits for newer credentials when Secrets Manager holds nothing newer than
   * the rejected version (AWSCURRENT the same, no other AWSPENDING), in ms (default 10_000; 0 disables).
   * Covers passwords changed on the database before the secret (console, Terraform, a DBA, RDS-managed
   * rotation): one poll loop per source re-reads AWSCURRENT and AWSPENDING after 250, 500, 1000, then
   * every 2000 ms (+ up to 25 % jitter). Only the refused acquisition waits; working connections are
   * untouched, and credentials that never worked (no successful login yet) fail at once. When the budget
   * runs out, the caller gets the driver's error and further refusals of the same version fail at once
   * (refreshes stay spaced by `minRefreshIntervalMs`) until a new version appears.
   */
  awaitRotationMs?: number;
  /**
   * How long past its expiry a cached value may still be served, in ms (default 3_600_000; Infinity allowed).
   * Within it, `get()` answers at once with the expired value and refreshes it in the background
   * (stale-while-revalidate), and keeps serving it while fetches fail. Past it, callers wait for the fetch.
   */
  maxStaleMs?: number;
  /**
   * Timeout of one GetSecretValue attempt in ms (default 3_000; Infinity disables it). The request is
   * cancelled through the `abortSignal` option of `client.send` and counts as a retryable failure
   * (`TimeoutError`), so a fetch takes at most about `attemptTimeoutMs × retry.maxAttempts` plus the backoff.
   */
  attemptTimeoutMs?: number;
  /** Retries of transient GetSecretValue errors within one fetch. */
  retry?: FetchRetryOptions;
  /** Backoff between fetch attempts after a failed fetch. */
  errorBackoff?: ErrorBackoffOptions;
  /** Time source for TTL/backoff arithmetic (default `{ now: Date.now }`). */
  clock?: Clock;
  /** Stage to read (default 'AWSCURRENT'). The AWSPENDING fallback applies only to AWSCURRENT. */
  versionStage?: VersionStage;
  /** Optional logger; never receives secret values. */
  logger?: Logger;
  /**
   * Secrets not in the RDS JSON shape: the key of each field (`{ username: 'user', password: 'db.pass' }`),
   * or `{ url: 'DATABASE_URL' }` for a key holding a connection URL. Default: the RDS keys. A SecretString
   * that is itself a connection URL is read as one without this option.
   */
  secretKeys?: SecretKeys;
}

/** Why a value was read: first use, TTL expiry, refresh(), or the first get() after invalidate(). */
export type RefreshReason = 'initial' | 'expired' | 'refresh' | 'invalidated';

export interface RefreshedEvent {
  secretId: string;
  versionId: string;
  stage: VersionStage;
  /** True when the cached version changed. */
  changed: boolean;
  reason: RefreshReason;
  /** The region that served the credentials now cached (with the `regions` option only). */
  region?: string;
}

export interface RotatedEvent {
  secretId: string;
  previousVersionId: string;
  versionId: string;
  previousStage: VersionStage;
  stage: VersionStage;
  usernameChanged: boolean;
  /** The region that served the credentials now cached (with the `regions` option only). */
  region?: string;
}

export interface FallbackEvent {
  secretId: string;
  /** The version that was rejected and is still the configured stage (or the pending one rejected). */
  rejectedVersionId: string;
  versionId: string;
  /** Stage now served: 'AWSPENDING' while AWSCURRENT is still the rejected version, or 'AWSCURRENT' when the pending fallback was rejected. */
  stage: VersionStage;
  /** The region that served the credentials now cached (with the `regions` option only). */
  region?: string;
}

export interface ErrorEvent {
  secretId: string;
  error: Error;
  /** True when a cached (stale) value keeps being served. */
  servingStale: boolean;
  consecutiveFailures: number;
  /** Next fetch attempt not before this many ms. */
  retryInMs: number;
}

export interface CredentialSourceEvents {
  refreshed: RefreshedEvent;
  rotated: RotatedEvent;
  fallback: FallbackEvent;
  error: ErrorEvent;
}

export type CredentialSourceEventName = keyof CredentialSourceEvents;

export interface CredentialSourceStats {
  /** get() answered from cache (fresh or stale). */
  hits: number;
  /** get() that had to wait for a fetch. */
  misses: number;
  /** GetSecretValue calls (through the agent: agent reads), retries included. */
  fetches: number;
  /** Agent reads with `refreshNow=true` (agent backend only; 0 otherwise). */
  forcedRefreshes: number;
  /** refresh() calls. */
  refreshes: number;
  /** invalidate() calls (change events). */
  invalidations: number;
  /** refresh() calls answered from cache by the rate limit, and invalidate() calls it deferred. */
  rateLimited: number;
  /** Times the AWSPENDING (or back to AWSCURRENT) fallback was taken. */
  fallbacks: number;
  /** Failed fetches (after retries). */
  errors: number;
  /** Calls answered with a value past its expiry (stale-while-revalidate, or while fetches fail). */
  staleServed: number;
  /** Version changes observed. */
  rotations: number;
  versionId: string | undefined;
  stage: VersionStage | undefined;
  /** The region that served the cached value (with the `regions` option only). */
  region: string | undefined;
  /** Clock time of the last successful fetch, ms. */
  fetchedAt: number | undefined;
  /** Clock time at which the cached value expires, ms. */
  expiresAt: number | undefined;
}

export interface CredentialSource {
  readonly secretId: string;
  /**
   * Cached credentials. Waits for a fetch (single-flight) only with nothing usable cached: on first use,
   * while a refresh(rejected) is in flight, or past `maxStaleMs`; an expired value within `maxStaleMs` is
   * returned at once and refreshed in the background.
   */
  get(): Promise<DbCredentials>;
  /** Compare-and-refresh: pass the credentials the server rejected. Single-flight, rate-limited, AWSPENDING fallback. */
  refresh(rejected?: DbCredentials): Promise<DbCredentials>;
  /**
   * The secret changed (a change event, e.g. EventBridge `RotationSucceeded`): the next get() fetches and
   * waits for the fetch instead of serving the cached value (a failed fetch still serves it within
   * `maxStaleMs`). Single-flight: a fetch already in flight is not duplicated, and what it installs counts
   * as outdated. Rate-limited: the fetch runs no sooner than `minRefreshIntervalMs` after the previous one
   * (until then the cached value is served; a burst of events costs one read). No-op after close().
   */
  invalidate(): void;
  /** get() → attempt; on an auth error refresh(creds) → attempt once more; a second failure is rethrown unchanged. */
  withAuthRetry<T>(attempt: (creds: DbCredentials) => Promise<T>): Promise<T>;
  on<E extends CredentialSourceEventName>(event: E, listener: (payload: CredentialSourceEvents[E]) => void): this;
  off<E extends CredentialSourceEventName>(event: E, listener: (payload: CredentialSourceEvents[E]) => void): this;
  once<E extends CredentialSourceEventName>(event: E, listener: (payload: CredentialSourceEvents[E]) => void): this;
  stats(): CredentialSourceStats;
  /** Aborts in-flight fetches and clears timers (pending and further calls reject with SourceClosedError), destroys the client if core created it. Idempotent. */
  close(): void;
}

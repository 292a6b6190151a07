import type { LocalAgent, LocalAgentOptions } from './agent.js';

/** The four rotation steps, spelled as every AWS template, moto and LocalStack spell them. */
export type RotationStep = 'createSecret' | 'setSecret' | 'testSecret' | 'finishSecret';

/** The event a rotation function receives, once per step (same shape as the Lambda event). */
export interface RotationEvent {
  Step: RotationStep;
  /** Always the full ARN of the secret. */
  SecretId: string;
  /** The VersionId of the new (AWSPENDING) version. */
  ClientRequestToken: string;
  /** Opaque token of this rotation run (AWS passes it for cross-account/assumed-role rotation). */
  RotationToken: string;
}

/** An in-process stand-in for a rotation Lambda. Throw (or reject) to fail the step. */
export type RotationHandler = (event: RotationEvent) => Promise<void>;

/** The new password a managed rotation asks the database to take. */
export interface ManagedPasswordChange {
  /** ARN of the secret being rotated. */
  secretArn: string;
  /** The version that will hold the new password. */
  versionId: string;
  username: string;
  password: string;
}

/**
 * How a managed (RDS) rotation changes the database password. `pending-first` (default): the new
 * password is staged as AWSPENDING, then `changePassword` runs, then AWSCURRENT moves (what a rotation
 * Lambda does). `change-first`: `changePassword` runs before any new value is readable, then the new
 * version becomes AWSCURRENT at once (clients holding the old password are refused until they re-read).
 */
export interface ManagedRotationOptions {
  /** Sets the user's password on the database. Throw (or reject) to fail the rotation. */
  changePassword: (change: ManagedPasswordChange) => Promise<void>;
  order?: 'pending-first' | 'change-first';
}

/** A master-user secret as RDS creates it when the DB's password is managed in Secrets Manager. */
export interface RdsManagedSecretOptions {
  /** ARN of the DB cluster (`arn:aws:rds:…:cluster:…`, secret `rds!cluster-…`) or instance (`…:db:…`, `rds!db-…`). */
  resourceArn: string;
  username: string;
  password: string;
  kmsKeyId?: string;
  /** The rotation RDS runs itself; without it RotateSecret on the secret is refused with a clear message. */
  rotation?: ManagedRotationOptions;
  /** RDS's default schedule is every 7 days: `rate(7 days)`. */
  scheduleExpression?: string;
}

/** Identity of a secret created by `createRdsManagedSecret`. */
export interface CreatedSecret {
  arn: string;
  name: string;
  versionId: string;
}

/** How RotateSecret's HTTP response relates to the rotation steps. */
export type RotationMode = 'sync' | 'async';

export interface LocalSecretsManagerOptions {
  /** Interface to listen on. Default `127.0.0.1` (loopback only). */
  host?: string;
  /** TCP port. Default `0` (a free port is chosen; read it from `port`/`endpoint`). */
  port?: number;
  /** JSON file the state is loaded from and atomically written to after every change. Default: memory only. */
  stateFile?: string;
  /** Region used in ARNs. Default `us-east-1`. */
  region?: string;
  /** 12-digit account id used in ARNs. Default `000000000000`. */
  accountId?: string;
  /** Milliseconds since the epoch. Default `Date.now`. Drives dates, deletion windows and schedules. */
  clock?: () => number;
  /**
   * The server's wall clock for request signatures, in ms since the epoch (default `Date.now`), apart
   * from `clock` so tests can skew one without the other. As AWS: a request whose `X-Amz-Date` is more
   * than 5 minutes off it gets HTTP 400 `InvalidSignatureException` ("Signature expired: …"); every
   * answer's `Date` header carries it (the AWS SDK corrects its clock offset from that header).
   */
  signatureClock?: () => number;
  /**
   * Development only: accept `rate(N seconds|minutes)`, non-zero cron minutes and rate(<4 hours)
   * so a demo can rotate every few seconds. Default `false` (AWS rules).
   */
  allowShortRotationIntervals?: boolean;
  /**
   * `sync` (default): RotateSecret answers after the rotation steps finished (or the first one failed).
   * `async`: RotateSecret answers at once, like AWS; await `idle()` to wait for the steps.
   * In both modes a failed step does not fail the RotateSecret call (AWS reports it only in logs):
   * read `lastRotationError(secretId)` and `rotationStats()`.
   */
  rotationMode?: RotationMode;
  /** Upper bound for one rotation step, in ms; a slower handler fails the step. Default `30_000`. */
  rotationStepTimeoutMs?: number;
  /**
   * How often the built-in scheduler checks for due rotations, in ms. Default `1000`; `0` disables
   * the timer (call `runDueRotations()` yourself). The timer is unref'd.
   */
  schedulerIntervalMs?: number;
  /** Largest accepted request body, in bytes. Default `1_048_576` (1 MiB); larger bodies get HTTP 413. */
  maxBodyBytes?: number;
  /**
   * Also serve a Secrets Manager Agent-compatible endpoint (`/secretsmanager/get`, SSRF token, TTL
   * cache, `refreshNow`) in front of this service: `true` for the defaults (free port, random token,
   * TTL 300 s). Read its endpoint and token from `agent` on the handle. Default: none.
   */
  agent?: boolean | LocalAgentOptions;
  /**
   * More regions served at the same endpoint, besides `region`: a request goes to the region of its SigV4
   * credential scope (the SDK client's `region`); unsigned requests and other regions go to `region`.
   * Each region has its own secrets; ReplicateSecretToRegions copies a secret between them. Default: none.
   * Not with `stateFile` (it keeps one region).
   */
  regions?: string[];
  /**
   * Delay, in ms, before a change of a primary secret (value, staging labels, metadata) reaches its replicas,
   * applied in order. Default `0` (a replica is in sync when the primary's call answers). See also `setReplicationLag`.
   */
  replicationLagMs?: number;
}

/** What went wrong in the last failed rotation of a secret. */
export interface RotationFailure {
  secretArn: string;
  versionId: string;
  /** The step that failed, or `invoke` when no rotator is registered for the secret's Lambda ARN. */
  step: RotationStep | 'invoke';
  message: string;
  /** Epoch ms (from the injected clock). */
  at: number;
}

export interface RotationStats {
  started: number;
  succeeded: number;
  failed: number;
  /** Successful invocations per step. */
  steps: Record<RotationStep, number>;
}

/** Outcome of one scheduled rotation run by `runDueRotations()`. */
export interface DueRotationResult {
  secretArn: string;
  versionId: string;
  ok: boolean;
  error?: RotationFailure;
}

export interface LocalSecretsManager {
  /** `http://HOST:PORT`, ready for `new SecretsManagerClient({ endpoint })`. */
  readonly endpoint: string;
  readonly host: string;
  readonly port: number;
  /** Region used in ARNs (the `region` option). */
  readonly region: string;
  /** Account used in ARNs (the `accountId` option). */
  readonly accountId: string;
  /** Every region served: `region` first, then the `regions` option's. */
  readonly regions: readonly string[];
  /** Requests received for one operation (e.g. `GetSecretValue`), failed ones included; in one region, or all. */
  callCount(operation: string, region?: string): number;
  /** Requests received per operation since start or the last `resetCounters()`; in one region, or all. */
  counters(region?: string): Record<string, number>;
  /** Sets the replication lag (ms) of changes made from now on (changes already pending keep theirs). */
  setReplicationLag(ms: number): void;
  /** Applies every pending replication now, in order (a replica catches up at once). */
  flushReplication(): void;
  /** Resets these counters and the agent endpoint's upstream counters. */
  resetCounters(): void;
  /** The agent endpoint when started with `agent`; its upstream calls are counted apart (`agent.callCount`). */
  readonly agent: LocalAgent | undefined;
  /** Route RotateSecret / scheduled rotations for `lambdaArn` to an in-process handler. */
  registerRotator(lambdaArn: string, handler: RotationHandler): void;
  /** Runs every rotation whose schedule is due at `clock()`; resolves when they finished. */
  runDueRotations(): Promise<DueRotationResult[]>;
  /** Resolves when no rotation is running (useful with `rotationMode: 'async'`). */
  idle(): Promise<void>;
  /** The last rotation failure of a secret (name or ARN), cleared by its next successful rotation. */
  lastRotationError(secretId: string): RotationFailure | undefined;
  rotationStats(): RotationStats;
  /**
   * Creates a secret the way RDS does for a managed master password: `OwningService: rds`, an
   * `rds!cluster-…`/`rds!db-…` name, the `aws:rds:primaryDB…Arn` tag, `{username, password}`, rotation
   * enabled without a Lambda. Clients can read it but not change it (InvalidRequestException).
   */
  createRdsManagedSecret(options: RdsManagedSecretOptions): CreatedSecret;
  /** Sets (or replaces) the managed rotation of an RDS-managed secret, e.g. after a restart from `stateFile`. */
  setManagedRotation(secretId: string, rotation: ManagedRotationOptions): void;
  /**
   * Rotates a managed secret now (what RotateSecret without a Lambda ARN does for it) and resolves
   * when the rotation ended: `undefined` on success, else the failure.
   */
  rotateManagedSecret(secretId: string): Promise<RotationFailure | undefined>;
  /** Stops the scheduler and the HTTP server (open connections are closed). */
  close(): Promise<void>;
}

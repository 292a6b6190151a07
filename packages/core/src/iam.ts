/**
 * `@dbcreds/core/iam`: RDS / Aurora IAM database authentication tokens as a CredentialSource. Tokens
 * come from `@aws-sdk/rds-signer` (a SigV4-presigned `rds-db:connect` URL, valid 900 s from signing,
 * signed locally: no network call unless the AWS credentials themselves need refreshing) and go
 * through core's one state machine: single-flight, stale-while-revalidate, backoff, events, stats,
 * withAuthRetry (an auth failure gets one fresh token and one retry).
 *
 * Timing (defaults): a token is replaced at a random point 10–12 min after signing (in the
 * background, while callers keep using it), and never served past 14 min. Why: the token is checked
 * once, at login, and must still be valid when the server checks it: a connection attempt takes up to
 * the driver's connect timeout, and client/server clocks can differ. The AWS JDBC and Python wrappers
 * first used tokens for their full 15 min, saw logins fail at the edge, and moved to 14.5 min; 14 min
 * keeps a full minute for connect time and clock skew, and replacing from 10 min on means the hard cap
 * is reached only when signing has failed for 2+ minutes (the stale token is then still served up to
 * 14 min, then callers get SecretFetchError). The jitter spreads a fleet's credential refreshes.
 * Refreshing early costs nothing but a local HMAC.
 */
import type { GetSecretValueCommand, GetSecretValueCommandOutput } from '@aws-sdk/client-secrets-manager';
import { Signer, type SignerConfig } from '@aws-sdk/rds-signer';
import { ClientBackend } from './backends/client.js';
import type { Credentials } from './credentials.js';
import { ConfigurationError } from './errors.js';
import { IAM_SOURCE, type IamSourceInfo } from './iam-marker.js';
import { createBackedSource } from './source.js';
import { unknownKeyHint } from './suggest.js';
import type { Clock, CredentialSource, DbEngine, ErrorBackoffOptions, FetchRetryOptions, Logger } from './types.js';

export { iamSourceInfo, type IamSourceInfo } from './iam-marker.js';

/** IAM tokens are valid this long after signing (the signer's X-Amz-Expires). */
export const IAM_TOKEN_LIFETIME_MS = 900_000;

export const IAM_DEFAULTS = {
  refreshAfterMs: { min: 600_000, max: 720_000 },
  maxTokenAgeMs: 840_000,
} as const;

export interface IamAuthSourceOptions {
  /** The DB endpoint exactly as connections use it (instance, cluster, reader or RDS Proxy endpoint). */
  hostname: string;
  /** The DB port connections use (the token is signed for hostname:port). */
  port: number;
  /** The database user (PostgreSQL: granted `rds_iam`; MySQL: `IDENTIFIED WITH AWSAuthenticationPlugin AS 'RDS'`). */
  username: string;
  /** AWS region of the DB (default: the SDK's region chain, e.g. `AWS_REGION`). */
  region?: string;
  /** AWS credentials or a provider (default: the SDK's Node.js provider chain). */
  credentials?: SignerConfig['credentials'];
  /** Engine, for adapters that need it (as a secret's `engine`). */
  engine?: DbEngine;
  /** Database name adapters use when the pool config has none (as a secret's `dbname`). */
  database?: string;
  /** A token is replaced at a random point in [min, max] ms after signing (default 600_000–720_000). */
  refreshAfterMs?: { min?: number; max?: number };
  /** A token is never served older than this, in ms after signing (default 840_000; below 900_000). */
  maxTokenAgeMs?: number;
  /** Timeout of one signing attempt in ms (default 3_000): credential providers may call IMDS / STS. */
  attemptTimeoutMs?: number;
  /** Retries of transient signing errors (credential provider timeouts) within one fetch. */
  retry?: FetchRetryOptions;
  errorBackoff?: ErrorBackoffOptions;
  /** Time source (default `Date.now`); the signer's own clock is `Date`. */
  clock?: Clock;
  logger?: Logger;
}

const KEYS = [
  'hostname',
  'port',
  'username',
  'region',
  'credentials',
  'engine',
  'database',
  'refreshAfterMs',
  'maxTokenAgeMs',
  'attemptTimeoutMs',
  'retry',
  'errorBackoff',
  'clock',
  'logger',
];

/** A token the RDS signer produced, answered in the GetSecretValue shape core parses. */
class TokenClient {
  readonly #signer: Signer;
  readonly #fields: Record<string, unknown>;
  readonly #clock: Clock;
  #n = 0;

  constructor(o: IamAuthSourceOptions, clock: Clock) {
    this.#signer = new Signer({
      hostname: o.hostname,
      port: o.port,
      username: o.username,
      ...(o.region === undefined ? {} : { region: o.region }),
      ...(o.credentials === undefined ? {} : { credentials: o.credentials }),
    });
    this.#fields = { username: o.username, host: o.hostname, port: o.port, engine: o.engine, dbname: o.database };
    this.#clock = clock;
  }

  async send(command: GetSecretValueCommand): Promise<GetSecretValueCommandOutput> {
    if (command.input.VersionStage !== 'AWSCURRENT') {
      throw Object.assign(new Error('IAM auth tokens have no AWSPENDING'), { name: 'ResourceNotFoundException' });
    }
    // Before signing: the token's validity starts no earlier than this.
    const signedAt = this.#clock.now();
    const token = await this.#signer.getAuthToken();
    return {
      $metadata: {},
      VersionId: `iam-token-${signedAt}-${++this.#n}`,
      SecretString: JSON.stringify({ ...this.#fields, password: token }),
      CreatedDate: new Date(signedAt),
    };
  }
}

/**
 * A CredentialSource whose password is an RDS IAM auth token for `username` at `hostname:port`.
 * Every adapter accepts it like a Secrets Manager source; they require TLS for it (and enable
 * `mysql_clear_password` on mysql2). Options are validated now; nothing is signed until get().
 */
export function createIamAuthSource(options: IamAuthSourceOptions): CredentialSource {
  const o = validate(options);
  const clock = o.clock ?? { now: () => Date.now() };
  const min = o.refreshAfterMs?.min ?? IAM_DEFAULTS.refreshAfterMs.min;
  const max = o.refreshAfterMs?.max ?? IAM_DEFAULTS.refreshAfterMs.max;
  const maxAge = o.maxTokenAgeMs ?? IAM_DEFAULTS.maxTokenAgeMs;
  const client = new TokenClient(o, clock);
  const label = `IamAuthSource(${o.username}@${o.hostname}:${o.port})`;
  const expiry = {
    expiresAt: (creds: Credentials, now: number) => (creds.createdAt ?? now) + min + Math.random() * (max - min),
    // Served stale (while the background re-sign runs, or signing fails) until maxAge after signing.
    staleUntil: (creds: Credentials, expiresAt: number) => (creds.createdAt ?? expiresAt - max) + maxAge,
  };
  const source = createBackedSource(
    {
      secretId: `rds-iam:${o.username}@${o.hostname}:${o.port}`,
      ttlMs: max,
      // Every refresh signs a new token: there is no "nothing new" to rate-limit or to wait for.
      minRefreshIntervalMs: 0,
      awaitRotationMs: 0,
      ...pick(o, ['attemptTimeoutMs', 'retry', 'errorBackoff', 'logger']),
      clock,
    },
    (_options, ctx) =>
      new ClientBackend(ctx, client, {
        expiry,
        label,
        from: 'the RDS IAM token signer (AWS credentials)',
        plainCommands: true,
      }),
  );
  const info: IamSourceInfo = Object.freeze({ hostname: o.hostname, port: o.port, username: o.username });
  Object.defineProperty(source, IAM_SOURCE, { value: info });
  return source;
}

function pick<T extends object, K extends keyof T>(o: T, keys: K[]): Partial<Pick<T, K>> {
  const out: Partial<Pick<T, K>> = {};
  for (const k of keys) if (o[k] !== undefined) out[k] = o[k];
  return out;
}

function validate(input: IamAuthSourceOptions): IamAuthSourceOptions {
  if (input === null || typeof input !== 'object') {
    throw new ConfigurationError('dbcreds: IAM auth source options must be an object { hostname, port, username }');
  }
  const o = input as unknown as Record<string, unknown>;
  const problems: Array<[string, string]> = [];
  for (const k of Object.keys(o)) if (!KEYS.includes(k)) problems.push([k, `unknown option${unknownKeyHint(k, KEYS)}`]);
  const nonEmpty = (k: string) => {
    if (typeof o[k] !== 'string' || (o[k] as string).length === 0) problems.push([k, 'must be a non-empty string']);
  };
  nonEmpty('hostname');
  nonEmpty('username');
  if (o.region !== undefined) nonEmpty('region');
  if (o.database !== undefined) nonEmpty('database');
  if (typeof o.port !== 'number' || !Number.isInteger(o.port) || o.port < 1 || o.port > 65_535) {
    problems.push(['port', 'must be an integer in 1..65535']);
  }
  const r = (o.refreshAfterMs ?? {}) as Record<string, unknown>;
  const min = r.min ?? IAM_DEFAULTS.refreshAfterMs.min;
  const max = r.max ?? IAM_DEFAULTS.refreshAfterMs.max;
  const maxAge = o.maxTokenAgeMs ?? IAM_DEFAULTS.maxTokenAgeMs;
  const ms = (v: unknown) => typeof v === 'number' && Number.isFinite(v) && v > 0;
  if (!ms(min) || !ms(max) || (min as number) > (max as number)) {
    problems.push(['refreshAfterMs', 'must be { min, max } with 0 < min ≤ max (ms)']);
  }
  for (const k of Object.keys(r))
    if (k !== 'min' && k !== 'max')
      problems.push([`refreshAfterMs.${k}`, `unknown option${unknownKeyHint(k, ['min', 'max'])}`]);
  if (
    !ms(maxAge) ||
    (maxAge as number) >= IAM_TOKEN_LIFETIME_MS ||
    (ms(max) && (maxAge as number) <= (max as number))
  ) {
    problems.push([
      'maxTokenAgeMs',
      `must be above refreshAfterMs.max and below ${IAM_TOKEN_LIFETIME_MS} (the token lifetime)`,
    ]);
  }
  if (problems.length > 0) {
    throw new ConfigurationError(
      `dbcreds: invalid IAM auth source options: ${problems.map(([k, why]) => `${k}: ${why}`).join('; ')}`,
      { keys: problems.map(([k]) => k) },
    );
  }
  return input;
}

/**
 * One GetSecretValue: per-attempt timeout (AbortSignal), retries of transient errors with jittered
 * exponential backoff, typed errors. Knows nothing about caching; the state machine (source.ts) calls it.
 */
import type {
  GetSecretValueCommand,
  GetSecretValueCommandInput,
  GetSecretValueCommandOutput,
} from '@aws-sdk/client-secrets-manager';
import { type Credentials, parseDbSecret } from './credentials.js';
import { DbCredsError, SecretFetchError, SecretFormatError, SecretNotFoundError } from './errors.js';
import { errorClassification, sdkGetSecretValue } from './sdk.js';
import type { SecretKeys, SecretsManagerLike, VersionStage } from './types.js';

/**
 * Throttling (incl. HTTP 429), HTTP 5xx, timeouts and connection errors: the AWS SDK's own transient
 * classes (`@smithy/service-error-classification`, the tables the SDK's retry strategy uses). A
 * clock-skew error is retried only once the SDK corrected its clock offset from the answer's `Date`
 * (`$metadata.clockSkewCorrected`, as the SDK's own retry strategy does): the next attempt signs with
 * the server's time. The clock-skew class as such is not: it includes `AccessDeniedException`, which
 * for Secrets Manager is an IAM denial that retrying cannot fix.
 */
export function isRetryableFetchError(err: unknown): boolean {
  if (err === null || typeof err !== 'object') return false;
  const c = errorClassification();
  const e = err as Parameters<typeof c.isTransientError>[0];
  return (
    c.isThrottlingError(e) || c.isTransientError(e) || c.isServerError(e) || c.isClockSkewCorrectedError(e) === true
  );
}

export interface FetchContext {
  readonly client: SecretsManagerLike;
  readonly secretId: string;
  readonly retry: { maxAttempts: number; baseDelayMs: number; maxDelayMs: number };
  /** Per-attempt timeout in ms (Infinity, or more than ~24.8 days: none). */
  readonly attemptTimeoutMs: number;
  /** Aborted by close() with a SourceClosedError as reason: ends backoff waits and in-flight attempts. */
  readonly closed: AbortSignal;
  /** Called once per GetSecretValue attempt (stats). */
  onAttempt(): void;
  /** Where fetches go, for error messages (default 'AWS Secrets Manager'). */
  readonly from?: string;
  /** The region this client reads (`regions` option): recorded on the credentials. */
  readonly region?: string;
  /** The `secretKeys` option: where the fields are in a secret not in the RDS shape. */
  readonly secretKeys?: SecretKeys | undefined;
  /** Builds the request the client sends (default: the AWS SDK's GetSecretValueCommand, loaded then). */
  readonly command?: (input: GetSecretValueCommandInput) => GetSecretValueCommand;
}

/** Longer delays overflow setTimeout (it would fire at once): treated as no timeout. */
const MAX_TIMER_MS = 2_147_483_647;

/** Thrown (as `cause` of a SecretFetchError) when an attempt did not answer within `attemptTimeoutMs`. */
class AttemptTimeoutError extends Error {
  override readonly name = 'TimeoutError';
  readonly code = 'ETIMEDOUT';
  constructor(ms: number) {
    super(`GetSecretValue did not answer within ${ms} ms (attemptTimeoutMs)`);
  }
}

/**
 * Reads `stage` with retries of transient errors. `optional`: a missing value (ResourceNotFound, or
 * a version without SecretString/SecretBinary) → undefined. Throws SecretNotFoundError,
 * SecretFormatError, SecretFetchError (`attempts`, `cause`), or close()'s SourceClosedError.
 */
export async function fetchSecret(
  ctx: FetchContext,
  stage: VersionStage,
  optional: boolean,
  refreshNow = false,
): Promise<Credentials | undefined> {
  const { maxAttempts, baseDelayMs, maxDelayMs } = ctx.retry;
  for (let attempt = 1; ; attempt++) {
    let out: GetSecretValueCommandOutput;
    try {
      const command = (ctx.command ?? sdkGetSecretValue)({ SecretId: ctx.secretId, VersionStage: stage });
      out = await sendOnce(ctx, command, refreshNow);
    } catch (err) {
      if (ctx.closed.aborted) throw ctx.closed.reason;
      if (isNamed(err, 'ResourceNotFoundException')) {
        if (optional) return undefined;
        throw new SecretNotFoundError(ctx.secretId, stage, { cause: err });
      }
      if (attempt >= maxAttempts || !isRetryableFetchError(err))
        throw toTypedError(ctx.secretId, err, attempt, ctx.from);
      const cap = Math.min(maxDelayMs, baseDelayMs * 2 ** (attempt - 1));
      await sleep(cap / 2 + Math.random() * (cap / 2), ctx.closed);
      continue;
    }
    if (typeof out.SecretString === 'string') {
      if (!out.VersionId) throw new SecretFormatError(ctx.secretId, 'GetSecretValue returned no VersionId');
      const createdAt = out.CreatedDate instanceof Date ? out.CreatedDate.getTime() : undefined;
      const meta = { versionId: out.VersionId, stage, createdAt, region: ctx.region };
      return parseDbSecret(ctx.secretId, out.SecretString, meta, ctx.secretKeys);
    }
    if (optional && out.SecretBinary === undefined) return undefined;
    throw new SecretFormatError(
      ctx.secretId,
      out.SecretBinary !== undefined
        ? 'SecretBinary is not supported; store the JSON in SecretString'
        : 'secret has no SecretString',
      { field: 'SecretString' },
    );
  }
}

/**
 * One attempt. The client gets `{ abortSignal }` (and `refreshNow` for the agent) (the AWS SDK cancels the HTTP request with it); the
 * attempt also settles by itself on timeout or close(), so a client that ignores the signal, or a
 * request that never answers, cannot hold the caller.
 */
function sendOnce(
  ctx: FetchContext,
  command: GetSecretValueCommand,
  refreshNow: boolean,
): Promise<GetSecretValueCommandOutput> {
  if (ctx.closed.aborted) return Promise.reject(ctx.closed.reason);
  ctx.onAttempt();
  const ac = new AbortController();
  return new Promise<GetSecretValueCommandOutput>((resolve, reject) => {
    let timer: NodeJS.Timeout | undefined;
    const onClose = () => ac.abort(ctx.closed.reason);
    const finish = () => {
      clearTimeout(timer);
      ctx.closed.removeEventListener('abort', onClose);
    };
    // Registered before send(): on abort this rejection wins over the SDK's own AbortError.
    ac.signal.addEventListener(
      'abort',
      () => {
        finish();
        reject(ac.signal.reason);
      },
      { once: true },
    );
    ctx.closed.addEventListener('abort', onClose, { once: true });
    if (ctx.attemptTimeoutMs <= MAX_TIMER_MS) {
      timer = setTimeout(() => ac.abort(new AttemptTimeoutError(ctx.attemptTimeoutMs)), ctx.attemptTimeoutMs);
      // Unref'd: a caller awaiting the fetch holds the process open (holdOpen); background work does not.
      timer.unref();
    }
    let sent: Promise<GetSecretValueCommandOutput>;
    try {
      // `refreshNow` is only ever set for the agent client (agent.ts), which reads it.
      sent = ctx.client.send(command, refreshNow ? { abortSignal: ac.signal, refreshNow } : { abortSignal: ac.signal });
    } catch (err) {
      sent = Promise.reject(err);
    }
    sent.then(
      (out) => {
        finish();
        resolve(out);
      },
      (err: unknown) => {
        finish();
        reject(err);
      },
    );
  });
}

/** Jittered backoff wait; unref'd (callers hold the process open: holdOpen); ends at once (rejecting) when the source is closed. */
export function sleep(ms: number, closed: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const onClose = () => {
      clearTimeout(timer);
      reject(closed.reason);
    };
    const timer = setTimeout(() => {
      closed.removeEventListener('abort', onClose);
      resolve();
    }, ms);
    timer.unref();
    closed.addEventListener('abort', onClose, { once: true });
  });
}

/**
 * Keeps the process alive until `p` settles. Core's own timers (attempt timeouts, retry backoff) are
 * unref'd so that background work (stale-while-revalidate) never holds a finished process open; a
 * caller awaiting credentials must hold it, or Node exits with neither callback run (an ES module's
 * top-level `await` ends as "unsettled", exit 13) while a retry waits on an unref'd timer.
 */
export function holdOpen<T>(p: Promise<T>): Promise<T> {
  const hold = setInterval(() => {}, MAX_TIMER_MS);
  return p.finally(() => clearInterval(hold));
}

function isNamed(err: unknown, name: string): boolean {
  return (
    err !== null &&
    typeof err === 'object' &&
    ((err as { name?: unknown }).name === name || (err as { Code?: unknown }).Code === name)
  );
}

export function toTypedError(secretId: string, err: unknown, attempts: number, from?: string): DbCredsError {
  if (err instanceof DbCredsError) return err;
  return new SecretFetchError(secretId, { cause: err, attempts, ...(from === undefined ? {} : { from }) });
}

/** The auth-retry protocol every adapter runs around a new physical connection. */
import { isAuthError } from './classify.js';
import type { CredentialSource, DbCredentials, Logger } from './types.js';

/**
 * get() → attempt; on an auth error refresh(creds) → attempt once more; a second failure is rethrown
 * unchanged. When the refresh itself fails, the original driver error is rethrown with the Secrets
 * Manager error attached (see getRefreshError).
 */
export async function runWithAuthRetry<T>(
  source: Pick<CredentialSource, 'get' | 'refresh' | 'secretId'>,
  attempt: (creds: DbCredentials) => Promise<T>,
  logger?: Logger,
): Promise<T> {
  const creds = await source.get();
  try {
    return await attempt(creds);
  } catch (err) {
    if (!isAuthError(err)) throw err;
    let fresh: DbCredentials;
    try {
      fresh = await source.refresh(creds);
    } catch (refreshError) {
      attachRefreshError(err, refreshError);
      throw err;
    }
    logger?.debug?.('dbcreds: auth error, retrying once with refreshed credentials', {
      secretId: source.secretId,
      rejectedVersionId: creds.versionId,
      versionId: fresh.versionId,
      stage: fresh.stage,
    });
    return await attempt(fresh);
  }
}

/** Standalone form of `source.withAuthRetry(attempt)`. */
export function withAuthRetry<T>(source: CredentialSource, attempt: (creds: DbCredentials) => Promise<T>): Promise<T> {
  return source.withAuthRetry(attempt);
}

/** Non-enumerable: the driver error stays "unchanged" for callers and loggers, but the SM failure is reachable. */
export function attachRefreshError(err: unknown, refreshError: unknown): void {
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

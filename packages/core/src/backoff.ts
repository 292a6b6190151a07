/** Spacing of fetches after failed ones (stale-on-error): exponential, reset by the next success. */
import { SecretFetchError, SecretFormatError, SecretNotFoundError } from './errors.js';

export class ErrorBackoff {
  readonly #baseDelayMs: number;
  readonly #maxDelayMs: number;
  #failures = 0;
  #nextAttemptAt = Number.NEGATIVE_INFINITY;
  #lastError: Error | undefined;

  constructor(options: { baseDelayMs: number; maxDelayMs: number }) {
    this.#baseDelayMs = options.baseDelayMs;
    this.#maxDelayMs = options.maxDelayMs;
  }

  /** Consecutive failed fetches since the last success. */
  get failures(): number {
    return this.#failures;
  }

  /** True while no fetch may be attempted. */
  blocked(now: number): boolean {
    return now < this.#nextAttemptAt;
  }

  /** Records a failed fetch at `now`; returns the delay before the next attempt (doubling, capped). */
  failed(error: Error, now: number): number {
    this.#failures++;
    const delay = Math.min(this.#maxDelayMs, this.#baseDelayMs * 2 ** (this.#failures - 1));
    this.#nextAttemptAt = now + delay;
    this.#lastError = error;
    return delay;
  }

  succeeded(): void {
    this.#failures = 0;
    this.#nextAttemptAt = Number.NEGATIVE_INFINITY;
    this.#lastError = undefined;
  }

  /**
   * What a caller gets while blocked with nothing to serve: a missing or malformed secret as it was,
   * anything else wrapped fresh (this call made no attempt).
   */
  blockedError(secretId: string): Error {
    const last = this.#lastError;
    if (last instanceof SecretNotFoundError || last instanceof SecretFormatError) return last;
    return new SecretFetchError(secretId, {
      cause: last,
      attempts: 0,
      message: `Secret '${secretId}' is unavailable: the last fetch failed and the next attempt is backed off (${last?.message ?? 'unknown error'})`,
    });
  }
}

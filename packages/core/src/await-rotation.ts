/**
 * Waiting for out-of-band password changes: the password was changed on the database first (console,
 * Terraform, a DBA) and the secret catches up seconds later, with no AWSPENDING ever. A login refused
 * while the backend holds nothing newer polls it, within a budget, instead of failing.
 */
import { sleep } from './fetch.js';
import type { Clock } from './types.js';

/** First poll delay; doubles per poll up to POLL_MAX_DELAY_MS. */
export const POLL_FIRST_DELAY_MS = 250;
export const POLL_MAX_DELAY_MS = 2_000;

/**
 * Delay before poll `n` (0-based): 250, 500, 1000, 2000, 2000… ms, each plus up to a quarter more at
 * random. The jitter only lengthens: a fleet refused at one instant spreads out, and the third poll
 * still comes no earlier than 1.75 s (one to spare for the common 1.5 s gap).
 */
export function pollDelay(n: number, random: () => number = Math.random): number {
  const d = Math.min(POLL_MAX_DELAY_MS, POLL_FIRST_DELAY_MS * 2 ** Math.min(n, 16));
  return d + (random() * d) / 4;
}

/**
 * One source's waits. The source runs at most one at a time (it is part of its single-flight refresh).
 * Only credentials that once worked can have changed under the app: until a login succeeded
 * (`accepted`), refusals fail at once (a wrong secret at startup). After a wait ran out for a version,
 * further refusals of that version fail fast until a new version is installed (`reset`): a wrong
 * password everywhere must not hold every request for the budget.
 */
export class RotationWait {
  readonly #budgetMs: number;
  readonly #clock: Clock;
  readonly #closed: AbortSignal;
  #exhaustedFor: string | undefined;
  #armed = false;

  constructor(budgetMs: number, clock: Clock, closed: AbortSignal) {
    this.#budgetMs = budgetMs;
    this.#clock = clock;
    this.#closed = closed;
  }

  /** Whether a refusal of `versionId` with nothing newer should wait (budget set, a login once worked, not run out for it). */
  shouldWait(versionId: string): boolean {
    return this.#budgetMs > 0 && this.#armed && this.#exhaustedFor !== versionId;
  }

  /** A login with the source's credentials succeeded (passes `result` through). */
  accepted<T>(result: T): T {
    this.#armed = true;
    return result;
  }

  /** A new version was installed: the next refusal may wait again. */
  reset(): void {
    this.#exhaustedFor = undefined;
  }

  /**
   * Calls `look` after each poll delay until `found(result)` or the budget is spent (by the clock, and
   * by the delays slept: a clock that does not move cannot hold it forever). `first` is the lookup made
   * before the wait: its result, or its error when Secrets Manager could not be read. A failed poll is
   * skipped, and the next one comes after the second delay (500 ms) instead of a longer one: Secrets Manager
   * answering again ends an outage that overlapped a rotation, and the new version must be read within a
   * second of that. Returns the last result; throws the last error when no lookup succeeded; on running
   * out, remembers `versionId`.
   */
  async poll<T>(
    versionId: string,
    first: { value: T } | { error: unknown },
    look: () => Promise<T>,
    found: (t: T) => boolean,
  ): Promise<T> {
    const deadline = this.#clock.now() + this.#budgetMs;
    let slept = 0;
    let last = first;
    for (let n = 0; ; ) {
      const left = Math.min(deadline - this.#clock.now(), this.#budgetMs - slept);
      if (left <= 0) break;
      const delay = Math.min('error' in last ? pollDelay(1) : pollDelay(n++), left);
      await sleep(delay, this.#closed);
      slept += delay;
      try {
        last = { value: await look() };
      } catch (error) {
        if (this.#closed.aborted) throw error;
        last = { error };
        continue;
      }
      if (found(last.value)) return last.value;
    }
    this.#exhaustedFor = versionId;
    if ('error' in last) throw last.error;
    return last.value;
  }
}

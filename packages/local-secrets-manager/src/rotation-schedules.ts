import type { RunSchedules } from './rotation-runner.js';
import { parseRotationRules, type Schedule } from './schedule.js';
import type { RotationRulesInput, SecretRecord } from './store.js';

const MAX_RETRY_DELAY_MS = 3_600_000;

/** Schedule arithmetic: validates RotationRules, computes NextRotationDate and the retry delay after a failure. */
export class RotationSchedules implements RunSchedules {
  constructor(private readonly options: { allowShortRotationIntervals: boolean }) {}

  schedule(rules: RotationRulesInput | undefined): Schedule | undefined {
    return rules ? parseRotationRules(rules, this.options) : undefined;
  }

  retryDelayMs(rules: RotationRulesInput | undefined): number {
    return Math.min(this.safeSchedule(rules)?.intervalMs ?? MAX_RETRY_DELAY_MS, MAX_RETRY_DELAY_MS);
  }

  private safeSchedule(rules: RotationRulesInput | undefined): Schedule | undefined {
    try {
      return this.schedule(rules);
    } catch {
      return undefined; // rules stored by an older, laxer configuration (e.g. short intervals now off)
    }
  }

  /** Recomputes NextRotationDate from the last rotation, the last AWSCURRENT change, or the configuration time. */
  reschedule(secret: SecretRecord): void {
    const rotation = secret.rotation;
    if (!rotation) return;
    const schedule = rotation.enabled ? this.safeSchedule(rotation.rules) : undefined;
    if (!schedule) {
      delete rotation.nextRotationDate;
      return;
    }
    const base = Math.max(rotation.lastRotatedDate ?? 0, secret.currentChangedDate ?? 0, rotation.scheduledFrom ?? 0);
    const next = schedule.next(base);
    if (Number.isFinite(next)) rotation.nextRotationDate = next;
    else delete rotation.nextRotationDate;
  }
}

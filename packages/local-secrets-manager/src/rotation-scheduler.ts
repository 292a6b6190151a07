import { randomUUID } from 'node:crypto';
import type { Run, RotationRunner, RunSchedules } from './rotation-runner.js';
import { parseRotationRules, type Schedule } from './schedule.js';
import type { SecretsService } from './service.js';
import {
  AWSCURRENT,
  AWSPENDING,
  type RotationRulesInput,
  removeStage,
  type SecretRecord,
  versionWithStage,
} from './store.js';
import type { DueRotationResult, RotationStep } from './types.js';

export const ALL_STEPS: RotationStep[] = ['createSecret', 'setSecret', 'testSecret', 'finishSecret'];
const MAX_RETRY_DELAY_MS = 3_600_000;

/** Rotation schedules: NextRotationDate, retry back-off after a failure, and the (unref'd) timer that starts due rotations. */
export class RotationScheduler implements RunSchedules {
  private timer: NodeJS.Timeout | undefined;
  private ticking: Promise<DueRotationResult[]> | undefined;
  runner!: RotationRunner;

  constructor(
    private readonly service: SecretsService,
    private readonly options: { allowShortRotationIntervals: boolean },
  ) {}

  get busy(): Promise<DueRotationResult[]> | undefined {
    return this.ticking;
  }

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

  startScheduler(intervalMs: number): void {
    if (intervalMs <= 0) return;
    this.timer = setInterval(() => {
      this.runDue().catch(() => {}); // failures are recorded per secret
    }, intervalMs);
    this.timer.unref();
  }

  stopScheduler(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Starts every rotation due at clock() (window start reached, not running, not backing off). */
  runDue(): Promise<DueRotationResult[]> {
    if (this.ticking) return this.ticking;
    this.ticking = this.runDueOnce().finally(() => {
      this.ticking = undefined;
    });
    return this.ticking;
  }

  private async runDueOnce(): Promise<DueRotationResult[]> {
    const now = this.service.clock();
    if (this.service.store.purgeExpired(now)) this.service.store.save();
    const started: Array<{ arn: string; run: Run }> = [];
    for (const secret of this.service.store.secrets.values()) {
      const r = secret.rotation;
      if (!r?.enabled || r.nextRotationDate === undefined || secret.deletedDate !== undefined) continue;
      if (r.nextRotationDate > now || (r.retryAfter !== undefined && r.retryAfter > now)) continue;
      if (this.runner.running.has(secret.arn)) continue;
      const current = versionWithStage(secret, AWSCURRENT);
      const pending = versionWithStage(secret, AWSPENDING);
      let versionId: string;
      if (pending && pending !== current) {
        versionId = pending.versionId; // resume the unfinished rotation
      } else {
        if (pending) removeStage(pending, AWSPENDING);
        versionId = randomUUID();
        secret.versions.push({ versionId, stages: [AWSPENDING], createdDate: now });
      }
      this.service.store.save();
      started.push({ arn: secret.arn, run: this.runner.start(secret, versionId, ALL_STEPS, { fullRotation: true }) });
    }
    const results: DueRotationResult[] = [];
    for (const { arn, run } of started) {
      const error = await run.promise;
      results.push(
        error
          ? { secretArn: arn, versionId: run.versionId, ok: false, error }
          : { secretArn: arn, versionId: run.versionId, ok: true },
      );
    }
    return results;
  }
}

import type { OperationContext } from './context.js';
import type { Run, RotationRunner } from './rotation-runner.js';
import { ALL_STEPS, startPendingVersion } from './rotation-runner.js';
import type { DueRotationResult } from './types.js';

/** The (unref'd) timer that starts due rotations, and `runDue` for tests that drive the clock. */
export class RotationScheduler {
  private timer: NodeJS.Timeout | undefined;
  private ticking: Promise<DueRotationResult[]> | undefined;

  constructor(
    private readonly ctx: OperationContext,
    private readonly runner: RotationRunner,
  ) {}

  get busy(): Promise<DueRotationResult[]> | undefined {
    return this.ticking;
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
    const now = this.ctx.clock();
    if (this.ctx.store.purgeExpired(now)) this.ctx.store.save();
    const started: Array<{ arn: string; run: Run }> = [];
    for (const secret of this.ctx.store.secrets.values()) {
      const r = secret.rotation;
      if (!r?.enabled || r.nextRotationDate === undefined || secret.deletedDate !== undefined) continue;
      if (r.nextRotationDate > now || (r.retryAfter !== undefined && r.retryAfter > now)) continue;
      if (this.runner.running.has(secret.arn)) continue;
      const versionId = startPendingVersion(secret, now);
      this.ctx.store.save();
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

import { ManagedSecrets } from './managed-rotation.js';
import { registerRotationOperations, type RotationControl } from './operations/index.js';
import { RotationRunner } from './rotation-runner.js';
import { RotationScheduler } from './rotation-scheduler.js';
import { RotationSchedules } from './rotation-schedules.js';
import type { SecretsService } from './service.js';
import type { DueRotationResult, RotationFailure, RotationHandler, RotationMode, RotationStats } from './types.js';

export interface RotationEngineOptions {
  allowShortRotationIntervals: boolean;
  mode: RotationMode;
  stepTimeoutMs: number;
}

/**
 * Rotation put together: schedules (arithmetic), the step runner, the timer that starts due rotations,
 * and RotateSecret / CancelRotateSecret registered on the service like every other operation.
 */
export class RotationEngine implements RotationControl {
  readonly schedules: RotationSchedules;
  readonly runner: RotationRunner;
  readonly mode: RotationMode;
  /** RDS-managed secrets and their rotation (no Lambda). */
  readonly managed: ManagedSecrets;
  private readonly scheduler: RotationScheduler;

  constructor(service: SecretsService, options: RotationEngineOptions) {
    this.mode = options.mode;
    this.schedules = new RotationSchedules(options);
    this.runner = new RotationRunner(service, options.stepTimeoutMs, this.schedules);
    this.scheduler = new RotationScheduler(service, this.runner);
    this.managed = new ManagedSecrets(service, this.runner, this.schedules);
    registerRotationOperations(service, service, this);
    service.onCurrentChanged((secret) => this.schedules.reschedule(secret));
  }

  register(lambdaArn: string, handler: RotationHandler): void {
    this.runner.register(lambdaArn, handler);
  }

  stats(): RotationStats {
    return this.runner.stats();
  }

  lastError(secretId: string): RotationFailure | undefined {
    return this.runner.lastError(secretId);
  }

  async idle(): Promise<void> {
    while (this.runner.running.size > 0 || this.scheduler.busy) {
      await Promise.all([...this.runner.running.values()].map((r) => r.promise));
      if (this.scheduler.busy) await this.scheduler.busy;
    }
  }

  startScheduler(intervalMs: number): void {
    this.scheduler.startScheduler(intervalMs);
  }

  stopScheduler(): void {
    this.scheduler.stopScheduler();
  }

  runDue(): Promise<DueRotationResult[]> {
    return this.scheduler.runDue();
  }
}

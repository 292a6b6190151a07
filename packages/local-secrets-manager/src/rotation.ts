import type { SecretsService } from './service.js';
import type { DueRotationResult, RotationFailure, RotationHandler, RotationMode, RotationStats } from './types.js';

export interface RotationEngineOptions {
  allowShortRotationIntervals: boolean;
  mode: RotationMode;
  stepTimeoutMs: number;
}

/** Placeholder until RotateSecret lands (part 2). */
export class RotationEngine {
  private readonly rotators = new Map<string, RotationHandler>();
  constructor(
    readonly service: SecretsService,
    readonly options: RotationEngineOptions,
  ) {}
  register(arn: string, handler: RotationHandler): void {
    this.rotators.set(arn, handler);
  }
  startScheduler(_intervalMs: number): void {}
  stopScheduler(): void {}
  async runDue(): Promise<DueRotationResult[]> {
    return [];
  }
  async idle(): Promise<void> {}
  lastError(_secretId: string): RotationFailure | undefined {
    return undefined;
  }
  stats(): RotationStats {
    return {
      started: 0,
      succeeded: 0,
      failed: 0,
      steps: { createSecret: 0, setSecret: 0, testSecret: 0, finishSecret: 0 },
    };
  }
}

import { invalidRequest, ServiceError } from './errors.js';
import { checkToken, MISSING_TOKEN, tokenInUse } from './inputs.js';
import { RotationRunner } from './rotation-runner.js';
import { ALL_STEPS, RotationScheduler } from './rotation-scheduler.js';
import type { SecretsService } from './service.js';
import { SHAPES } from './shapes.js';
import {
  AWSCURRENT,
  AWSPENDING,
  findVersion,
  type RotationRecord,
  type RotationRulesInput,
  removeStage,
  versionWithStage,
} from './store.js';
import type { DueRotationResult, RotationFailure, RotationHandler, RotationMode, RotationStats } from './types.js';
import { bool, type Input, str } from './validate.js';

export interface RotationEngineOptions {
  allowShortRotationIntervals: boolean;
  mode: RotationMode;
  stepTimeoutMs: number;
}

const PREVIOUS_NOT_COMPLETE = "A previous rotation isn't complete. That rotation will be reattempted.";

/**
 * RotateSecret and CancelRotateSecret over the step runner (rotation-runner.ts) and the scheduler
 * (rotation-scheduler.ts).
 */
export class RotationEngine {
  private readonly scheduler: RotationScheduler;
  private readonly runner: RotationRunner;

  constructor(
    private readonly service: SecretsService,
    private readonly options: RotationEngineOptions,
  ) {
    this.scheduler = new RotationScheduler(service, options);
    this.runner = new RotationRunner(service, options.stepTimeoutMs, this.scheduler);
    this.scheduler.runner = this.runner;
    service.define('RotateSecret', SHAPES.RotateSecret!, (x) => this.rotateSecret(x));
    service.define('CancelRotateSecret', SHAPES.CancelRotateSecret!, (x) => this.cancelRotateSecret(x));
    service.hooks = { currentChanged: (secret) => this.scheduler.reschedule(secret) };
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

  private async rotateSecret(x: Input): Promise<unknown> {
    const token = str(x, 'ClientRequestToken');
    if (token === undefined) throw invalidRequest(MISSING_TOKEN);
    checkToken(token);
    const lambdaArnInput = str(x, 'RotationLambdaARN');
    if (lambdaArnInput !== undefined && (lambdaArnInput.length < 1 || lambdaArnInput.length > 2048)) {
      throw new ServiceError('ValidationException', 'RotationLambdaARN must be 1-2048 characters long.');
    }
    const rulesInput = readRules(x.RotationRules);
    const rotateImmediately = bool(x, 'RotateImmediately') ?? true;
    const secret = this.service.liveSecret(str(x, 'SecretId')!);
    if (rulesInput) this.scheduler.schedule(rulesInput); // validate before changing anything
    const lambdaArn = lambdaArnInput ?? secret.rotation?.lambdaArn;
    if (lambdaArn === undefined)
      throw invalidRequest('No Lambda rotation function ARN is associated with this secret.');
    if (!this.runner.rotators.has(lambdaArn)) {
      throw new ServiceError('AccessDeniedException', this.runner.noRotatorMessage(lambdaArn));
    }

    const inFlight = this.runner.running.get(secret.arn);
    if (inFlight && inFlight.versionId !== token) throw invalidRequest(PREVIOUS_NOT_COMPLETE);

    // Configure first: the rotator's entry guard reads RotationEnabled through DescribeSecret.
    const now = this.service.clock();
    const rotation: RotationRecord = secret.rotation ?? { enabled: true };
    rotation.enabled = true;
    rotation.lambdaArn = lambdaArn;
    if (rulesInput) rotation.rules = rulesInput;
    rotation.scheduledFrom = now;
    delete rotation.retryAfter;
    secret.rotation = rotation;
    this.scheduler.reschedule(secret);
    secret.lastChangedDate = now;
    this.service.store.save();

    if (inFlight) {
      // Same token while its rotation runs: idempotent.
      if (this.options.mode === 'sync') await inFlight.promise;
      return { ARN: secret.arn, Name: secret.name, VersionId: token };
    }

    const current = versionWithStage(secret, AWSCURRENT);
    const pending = versionWithStage(secret, AWSPENDING);
    const existing = findVersion(secret, token);
    let resumed = false;
    if (existing) {
      if (existing.stages.includes(AWSCURRENT)) {
        return { ARN: secret.arn, Name: secret.name, VersionId: token }; // finished earlier: nothing to do
      }
      if (!existing.stages.includes(AWSPENDING)) throw tokenInUse(token, secret.arn);
      resumed = true;
    } else if (pending && pending !== current) {
      // AWSPENDING on another version: a previous rotation is unfinished (§1.8). AWS reattempts it (its
      // own token, all steps) and answers this call with an error whatever the outcome; 'sync' answers
      // once the reattempt ran.
      const reattempt = this.runner.start(secret, pending.versionId, ALL_STEPS, { fullRotation: true });
      if (this.options.mode === 'sync') await reattempt.promise;
      throw invalidRequest(PREVIOUS_NOT_COMPLETE);
    }

    if (!rotateImmediately) {
      // AWS: "creates an AWSPENDING version … and then removes it", running only testSecret; the pending
      // value equals the current one.
      if (pending) removeStage(pending, AWSPENDING);
      const copy =
        current?.secretString !== undefined
          ? { secretString: current.secretString }
          : current?.secretBinary !== undefined
            ? { secretBinary: current.secretBinary }
            : {};
      secret.versions.push({ versionId: token, ...copy, stages: [AWSPENDING], createdDate: now });
      this.service.store.save();
      const run = this.runner.start(secret, token, ['testSecret'], { fullRotation: false });
      if (this.options.mode === 'sync') await run.promise;
      return { ARN: secret.arn, Name: secret.name, VersionId: token };
    }

    if (!resumed) {
      if (pending) removeStage(pending, AWSPENDING); // the finished state: AWSPENDING on AWSCURRENT's version
      secret.versions.push({ versionId: token, stages: [AWSPENDING], createdDate: now });
      this.service.store.save();
    }
    const run = this.runner.start(secret, token, ALL_STEPS, { fullRotation: true });
    if (this.options.mode === 'sync') await run.promise;
    return { ARN: secret.arn, Name: secret.name, VersionId: token };
  }

  private cancelRotateSecret(x: Input): unknown {
    const secret = this.service.liveSecret(str(x, 'SecretId')!);
    const rotation = secret.rotation;
    if (!rotation) throw invalidRequest('Rotation is not configured for this secret.');
    rotation.enabled = false;
    delete rotation.nextRotationDate;
    delete rotation.retryAfter;
    const run = this.runner.running.get(secret.arn);
    if (run) run.cancelled = true; // the remaining steps are skipped
    secret.lastChangedDate = this.service.clock();
    this.service.store.save();
    const out: Record<string, unknown> = { ARN: secret.arn, Name: secret.name };
    const pending = versionWithStage(secret, AWSPENDING);
    if (pending && !pending.stages.includes(AWSCURRENT)) out.VersionId = pending.versionId;
    return out;
  }
}

function readRules(raw: unknown): RotationRulesInput | undefined {
  if (raw === undefined || raw === null) return undefined;
  const r = raw as Record<string, unknown>;
  const out: RotationRulesInput = {};
  const days = r.AutomaticallyAfterDays;
  if (days !== undefined && days !== null) {
    if (typeof days !== 'number' || !Number.isInteger(days)) {
      throw new ServiceError('SerializationException', 'RotationRules.AutomaticallyAfterDays must be an integer.');
    }
    out.AutomaticallyAfterDays = days;
  }
  for (const key of ['Duration', 'ScheduleExpression'] as const) {
    const v = r[key];
    if (v === undefined || v === null) continue;
    if (typeof v !== 'string')
      throw new ServiceError('SerializationException', `RotationRules.${key} must be a string.`);
    out[key] = v;
  }
  return out;
}

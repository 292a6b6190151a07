import { randomUUID } from 'node:crypto';
import type { OperationContext } from './context.js';
import {
  AWSCURRENT,
  AWSPENDING,
  findVersion,
  type RotationRulesInput,
  removeStage,
  type SecretRecord,
  versionWithStage,
} from './store.js';
import type { RotationFailure, RotationHandler, RotationStats, RotationStep } from './types.js';

export const ALL_STEPS: RotationStep[] = ['createSecret', 'setSecret', 'testSecret', 'finishSecret'];

/**
 * The version a new rotation works on: the unfinished AWSPENDING version when there is one (resumed),
 * else a new placeholder labelled AWSPENDING (AWSPENDING left beside AWSCURRENT by the last rotation
 * is taken off first).
 */
export function startPendingVersion(secret: SecretRecord, now: number, versionId: string = randomUUID()): string {
  const current = versionWithStage(secret, AWSCURRENT);
  const pending = versionWithStage(secret, AWSPENDING);
  if (pending && pending !== current) return pending.versionId;
  if (pending) removeStage(pending, AWSPENDING);
  secret.versions.push({ versionId, stages: [AWSPENDING], createdDate: now });
  return versionId;
}

export interface Run {
  versionId: string;
  promise: Promise<RotationFailure | undefined>;
  cancelled: boolean;
}

/** What the runner asks of the scheduler when a run ends. */
export interface RunSchedules {
  /** Delay before a failed rotation is retried by the scheduler. */
  retryDelayMs(rules: RotationRulesInput | undefined): number;
  /** Recomputes NextRotationDate after a rotation. */
  reschedule(secret: SecretRecord): void;
}

/**
 * The step runner: calls the in-process rotator registered for the secret's Lambda ARN with the Lambda
 * event `{Step, SecretId: ARN, ClientRequestToken, RotationToken}`, one step after the other, and
 * records failures and counts. One run per secret at a time.
 */
export class RotationRunner {
  readonly rotators = new Map<string, RotationHandler>();
  /** Managed rotations (RDS-managed secrets), by secret ARN: they need no Lambda ARN. */
  readonly managed = new Map<string, RotationHandler>();
  readonly running = new Map<string, Run>();
  private readonly failures = new Map<string, RotationFailure>();
  private readonly counts: RotationStats = {
    started: 0,
    succeeded: 0,
    failed: 0,
    steps: { createSecret: 0, setSecret: 0, testSecret: 0, finishSecret: 0 },
  };

  constructor(
    private readonly ctx: OperationContext,
    private readonly stepTimeoutMs: number,
    private readonly schedules: RunSchedules,
  ) {}

  register(lambdaArn: string, handler: RotationHandler): void {
    if (typeof lambdaArn !== 'string' || lambdaArn.length === 0 || lambdaArn.length > 2048) {
      throw new TypeError('registerRotator: lambdaArn must be a non-empty string (at most 2048 characters)');
    }
    if (typeof handler !== 'function') throw new TypeError('registerRotator: handler must be a function');
    this.rotators.set(lambdaArn, handler);
  }

  /**
   * AWS's wording for a Lambda it cannot invoke, then what is wrong locally: the ARN, the ARNs that
   * are registered, and how to register one.
   */
  noRotatorMessage(lambdaArn: string): string {
    const known = [...this.rotators.keys()];
    return (
      'Secrets Manager cannot invoke the specified Lambda function. ' +
      `Local Secrets Manager: no rotator is registered for RotationLambdaARN ${lambdaArn}. ` +
      (known.length > 0
        ? `Registered: ${known.join(', ')}. `
        : 'This server has no rotators registered (the plain dbcreds-local-sm command registers none). ') +
      'Register one with registerRotator(arn, handler) on startLocalSecretsManager(), or run `dbcreds local-sm`, ' +
      'which registers the @dbcreds/rotation functions and prints their ARNs.'
    );
  }

  stats(): RotationStats {
    return { ...this.counts, steps: { ...this.counts.steps } };
  }

  lastError(secretId: string): RotationFailure | undefined {
    const arn = this.ctx.store.find(secretId)?.arn ?? secretId;
    const failure = this.failures.get(arn);
    return failure ? { ...failure } : undefined;
  }

  start(secret: SecretRecord, versionId: string, steps: RotationStep[], o: { fullRotation: boolean }): Run {
    const run: Run = { versionId, cancelled: false, promise: Promise.resolve(undefined) };
    this.running.set(secret.arn, run);
    this.counts.started++;
    run.promise = this.execute(secret.arn, versionId, steps, o.fullRotation, run).finally(() => {
      if (this.running.get(secret.arn) === run) this.running.delete(secret.arn);
    });
    return run;
  }

  private async execute(
    arn: string,
    versionId: string,
    steps: RotationStep[],
    fullRotation: boolean,
    run: Run,
  ): Promise<RotationFailure | undefined> {
    const rotationToken = randomUUID();
    let failure: RotationFailure | undefined;
    for (const step of steps) {
      if (run.cancelled) {
        failure = this.failure(arn, versionId, step, 'Rotation was cancelled by CancelRotateSecret.');
        break;
      }
      const lambdaArn = this.ctx.store.secrets.get(arn)?.rotation?.lambdaArn;
      const handler = this.managed.get(arn) ?? (lambdaArn === undefined ? undefined : this.rotators.get(lambdaArn));
      if (!handler) {
        failure = this.failure(
          arn,
          versionId,
          'invoke',
          this.ctx.store.secrets.get(arn)?.owningService !== undefined
            ? 'No managed rotation is registered for this secret: call setManagedRotation(secretId, { changePassword }).'
            : lambdaArn === undefined
              ? 'No rotator is registered for (none).'
              : this.noRotatorMessage(lambdaArn),
        );
        break;
      }
      try {
        await withTimeout(
          Promise.resolve().then(() =>
            handler({ Step: step, SecretId: arn, ClientRequestToken: versionId, RotationToken: rotationToken }),
          ),
          this.stepTimeoutMs,
          step,
        );
        this.counts.steps[step]++;
      } catch (err) {
        failure = this.failure(arn, versionId, step, err instanceof Error ? err.message : String(err));
        break;
      }
    }
    const secret = this.ctx.store.secrets.get(arn);
    if (!secret) return failure; // deleted meanwhile
    const version = findVersion(secret, versionId);
    if (!failure && fullRotation && !version?.stages.includes(AWSCURRENT)) {
      failure = this.failure(
        arn,
        versionId,
        'finishSecret',
        `finishSecret returned, but AWSCURRENT is not on version ${versionId}.`,
      );
    }
    if (!fullRotation && version) removeStage(version, AWSPENDING); // RotateImmediately=false: test only
    const rotation = secret.rotation;
    const now = this.ctx.clock();
    if (failure) {
      this.counts.failed++;
      this.failures.set(arn, failure);
      if (rotation?.enabled) {
        rotation.retryAfter = now + this.schedules.retryDelayMs(rotation.rules);
      }
    } else {
      this.counts.succeeded++;
      this.failures.delete(arn);
      if (rotation && fullRotation) {
        rotation.lastRotatedDate = now;
        delete rotation.retryAfter;
        this.schedules.reschedule(secret);
      }
    }
    this.ctx.store.save();
    return failure;
  }

  private failure(arn: string, versionId: string, step: RotationFailure['step'], message: string): RotationFailure {
    return { secretArn: arn, versionId, step, message, at: this.ctx.clock() };
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number, step: RotationStep): Promise<T> {
  if (ms <= 0) return promise;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${step} did not finish within ${ms} ms.`)), ms);
    timer.unref();
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

import type { OperationContext, OperationRegistry } from '../context.js';
import { invalidRequest, ServiceError } from '../errors.js';
import { checkToken, MISSING_TOKEN, tokenInUse } from '../inputs.js';
import { ALL_STEPS, type RotationRunner, startPendingVersion } from '../rotation-runner.js';
import type { RotationSchedules } from '../rotation-schedules.js';
import {
  AWSCURRENT,
  AWSPENDING,
  findVersion,
  type RotationRecord,
  type RotationRulesInput,
  removeStage,
  type SecretRecord,
  versionWithStage,
} from '../store.js';
import type { RotationMode } from '../types.js';
import { bool, type Input, str } from '../validate.js';

/** What RotateSecret and CancelRotateSecret drive: the step runner, the schedules, the answer mode. */
export interface RotationControl {
  readonly runner: RotationRunner;
  readonly schedules: RotationSchedules;
  readonly mode: RotationMode;
}

const PREVIOUS_NOT_COMPLETE = "A previous rotation isn't complete. That rotation will be reattempted.";
const s = 'string' as const;

/** RotateSecret, CancelRotateSecret. */
export function registerRotationOperations(ops: OperationRegistry, ctx: OperationContext, rc: RotationControl): void {
  ops.define(
    'RotateSecret',
    {
      SecretId: [s, true],
      ClientRequestToken: [s, false],
      RotationLambdaARN: [s, false],
      RotationRules: ['structure', false],
      RotateImmediately: ['boolean', false],
      ExternalSecretRotationMetadata: ['list', false],
      ExternalSecretRotationRoleArn: [s, false],
    },
    (x) => rotateSecret(ctx, rc, x),
  );
  ops.define('CancelRotateSecret', { SecretId: [s, true] }, (x) => cancelRotateSecret(ctx, rc, x));
}

/** The Lambda ARN the rotation uses; a managed secret needs none (its owning service rotates it). */
function rotatorFor(rc: RotationControl, secret: SecretRecord, lambdaArnInput: string | undefined): string | undefined {
  if (secret.owningService !== undefined) {
    if (lambdaArnInput !== undefined) {
      throw invalidRequest(
        `Secret ${secret.name} is managed by ${secret.owningService}, which rotates it: you can't set a RotationLambdaARN.`,
      );
    }
    if (!rc.runner.managed.has(secret.arn)) {
      throw invalidRequest(
        `Local Secrets Manager: no managed rotation is registered for ${secret.name}. Create it with createRdsManagedSecret({ changePassword }) or call setManagedRotation(secretId, { changePassword }).`,
      );
    }
    return undefined;
  }
  const lambdaArn = lambdaArnInput ?? secret.rotation?.lambdaArn;
  if (lambdaArn === undefined) throw invalidRequest('No Lambda rotation function ARN is associated with this secret.');
  if (!rc.runner.rotators.has(lambdaArn)) {
    throw new ServiceError('AccessDeniedException', rc.runner.noRotatorMessage(lambdaArn));
  }
  return lambdaArn;
}

async function rotateSecret(ctx: OperationContext, rc: RotationControl, x: Input): Promise<unknown> {
  const token = str(x, 'ClientRequestToken');
  if (token === undefined) throw invalidRequest(MISSING_TOKEN);
  checkToken(token);
  const lambdaArnInput = str(x, 'RotationLambdaARN');
  if (lambdaArnInput !== undefined && (lambdaArnInput.length < 1 || lambdaArnInput.length > 2048)) {
    throw new ServiceError('ValidationException', 'RotationLambdaARN must be 1-2048 characters long.');
  }
  if (x.ExternalSecretRotationMetadata != null || x.ExternalSecretRotationRoleArn != null) {
    // Refused rather than ignored: the caller would believe a partner rotation was configured.
    throw invalidRequest(
      'Local Secrets Manager does not emulate managed external secrets: ExternalSecretRotationMetadata and ExternalSecretRotationRoleArn are not supported.',
    );
  }
  const rulesInput = readRules(x.RotationRules);
  const rotateImmediately = bool(x, 'RotateImmediately') ?? true;
  const secret = ctx.liveSecret(str(x, 'SecretId')!);
  if (rulesInput) rc.schedules.schedule(rulesInput); // validate before changing anything
  const lambdaArn = rotatorFor(rc, secret, lambdaArnInput);
  const { runner } = rc;

  const inFlight = runner.running.get(secret.arn);
  if (inFlight && inFlight.versionId !== token) throw invalidRequest(PREVIOUS_NOT_COMPLETE);

  // Configure first: the rotator's entry guard reads RotationEnabled through DescribeSecret.
  const now = ctx.clock();
  const rotation: RotationRecord = secret.rotation ?? { enabled: true };
  rotation.enabled = true;
  if (lambdaArn !== undefined) rotation.lambdaArn = lambdaArn;
  if (rulesInput) rotation.rules = rulesInput;
  rotation.scheduledFrom = now;
  delete rotation.retryAfter;
  secret.rotation = rotation;
  rc.schedules.reschedule(secret);
  secret.lastChangedDate = now;
  ctx.store.save();

  if (inFlight) {
    // Same token while its rotation runs: idempotent.
    if (rc.mode === 'sync') await inFlight.promise;
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
    const reattempt = runner.start(secret, pending.versionId, ALL_STEPS, { fullRotation: true });
    if (rc.mode === 'sync') await reattempt.promise;
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
    ctx.store.save();
    const run = runner.start(secret, token, ['testSecret'], { fullRotation: false });
    if (rc.mode === 'sync') await run.promise;
    return { ARN: secret.arn, Name: secret.name, VersionId: token };
  }

  if (!resumed) {
    startPendingVersion(secret, now, token);
    ctx.store.save();
  }
  const run = runner.start(secret, token, ALL_STEPS, { fullRotation: true });
  if (rc.mode === 'sync') await run.promise;
  return { ARN: secret.arn, Name: secret.name, VersionId: token };
}

function cancelRotateSecret(ctx: OperationContext, rc: RotationControl, x: Input): unknown {
  const secret = ctx.liveSecret(str(x, 'SecretId')!);
  const rotation = secret.rotation;
  if (!rotation) throw invalidRequest('Rotation is not configured for this secret.');
  rotation.enabled = false;
  delete rotation.nextRotationDate;
  delete rotation.retryAfter;
  const run = rc.runner.running.get(secret.arn);
  if (run) run.cancelled = true; // the remaining steps are skipped
  secret.lastChangedDate = ctx.clock();
  ctx.store.save();
  const out: Record<string, unknown> = { ARN: secret.arn, Name: secret.name };
  const pending = versionWithStage(secret, AWSPENDING);
  if (pending && !pending.stages.includes(AWSCURRENT)) out.VersionId = pending.versionId;
  return out;
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

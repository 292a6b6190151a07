import type { OperationContext } from './context.js';
import { invalidParameter, invalidRequest, notFound } from './errors.js';
import { type SecretValue, sameValue, secs, startOfUtcDay, tokenInUse } from './inputs.js';
import {
  AWSCURRENT,
  findVersion,
  hasValue,
  moveStage,
  pruneVersions,
  type SecretRecord,
  type VersionRecord,
  versionWithStage,
} from './store.js';

/**
 * Creates version `token` with `value` and moves `stages` onto it. Same token + same value: no-op.
 * Same token + other value: ResourceExistsException, unless the version has no value yet (the
 * AWSPENDING placeholder RotateSecret registers before createSecret).
 */
export function addVersion(
  ctx: OperationContext,
  secret: SecretRecord,
  token: string,
  value: SecretValue,
  stages: string[],
): VersionRecord {
  if (stages.length < 1 || stages.length > 20) {
    throw invalidParameter('VersionStages must contain between 1 and 20 staging labels.');
  }
  const now = ctx.clock();
  let version = findVersion(secret, token);
  if (version) {
    if (hasValue(version)) {
      if (!sameValue(version, value)) throw tokenInUse(token, secret.arn);
      return version;
    }
    Object.assign(version, value);
  } else {
    version = { versionId: token, ...value, stages: [], createdDate: now };
    secret.versions.push(version);
  }
  const wanted = versionWithStage(secret, AWSCURRENT) ? stages : [...new Set([AWSCURRENT, ...stages])];
  let currentMoved = false;
  for (const stage of wanted) currentMoved = moveStage(secret, stage, version) || currentMoved;
  pruneVersions(secret, now);
  ctx.touch(secret);
  if (currentMoved) ctx.currentChanged(secret);
  ctx.store.save();
  return version;
}

/** GetSecretValue's answer for one secret (also each entry of BatchGetSecretValue). */
export function readSecretValue(
  ctx: OperationContext,
  secret: SecretRecord,
  versionId: string | undefined,
  stage: string | undefined,
): Record<string, unknown> {
  let version: VersionRecord | undefined;
  if (versionId !== undefined) {
    version = findVersion(secret, versionId);
    if (!version || !hasValue(version)) {
      throw notFound(`Secrets Manager can't find the specified secret value for VersionId: ${versionId}`);
    }
    if (stage !== undefined && !version.stages.includes(stage)) {
      throw invalidRequest('You provided a VersionStage that is not associated to the provided VersionId.');
    }
  } else {
    const wanted = stage ?? AWSCURRENT;
    version = versionWithStage(secret, wanted);
    if (!version || !hasValue(version)) {
      throw notFound(`Secrets Manager can't find the specified secret value for staging label: ${wanted}`);
    }
  }
  const day = startOfUtcDay(ctx.clock());
  version.lastAccessedDate = day;
  secret.lastAccessedDate = day;
  const out: Record<string, unknown> = {
    ARN: secret.arn,
    Name: secret.name,
    VersionId: version.versionId,
    VersionStages: [...version.stages],
    CreatedDate: secs(version.createdDate),
  };
  if (version.secretString !== undefined) out.SecretString = version.secretString;
  if (version.secretBinary !== undefined) out.SecretBinary = version.secretBinary;
  return out;
}

import { invalidParameter, notFound } from './errors.js';
import { type SecretValue, sameValue, tokenInUse } from './inputs.js';
import type { SecretsService } from './service.js';
import {
  AWSCURRENT,
  findVersion,
  hasValue,
  moveStage,
  pruneVersions,
  removeStage,
  type SecretRecord,
  type VersionRecord,
  versionWithStage,
} from './store.js';
import { checkLength, type Input, str } from './validate.js';

/**
 * Creates version `token` with `value` and moves `stages` onto it. Same token + same value: no-op.
 * Same token + other value: ResourceExistsException, unless the version has no value yet (the
 * AWSPENDING placeholder RotateSecret registers before createSecret).
 */
export function addVersion(
  service: SecretsService,
  secret: SecretRecord,
  token: string,
  value: SecretValue,
  stages: string[],
): VersionRecord {
  if (stages.length < 1 || stages.length > 20) {
    throw invalidParameter('VersionStages must contain between 1 and 20 staging labels.');
  }
  const now = service.clock();
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
  service.touch(secret);
  if (currentMoved) service.currentChanged(secret);
  service.store.save();
  return version;
}

export function updateSecretVersionStage(service: SecretsService, x: Input): unknown {
  const secret = service.liveSecret(str(x, 'SecretId')!);
  const stage = str(x, 'VersionStage')!;
  checkLength(x, 'VersionStage', 1, 256);
  const moveToId = str(x, 'MoveToVersionId');
  const removeFromId = str(x, 'RemoveFromVersionId');
  if (moveToId === undefined && removeFromId === undefined) {
    throw invalidParameter('You must specify MoveToVersionId, RemoveFromVersionId, or both.');
  }
  const lookup = (id: string): VersionRecord => {
    const v = findVersion(secret, id);
    if (!v) throw notFound(`Secrets Manager can't find the specified secret version: ${id}`);
    return v;
  };
  const moveTo = moveToId === undefined ? undefined : lookup(moveToId);
  const removeFrom = removeFromId === undefined ? undefined : lookup(removeFromId);
  const holder = versionWithStage(secret, stage);
  if (removeFrom && removeFrom !== holder) {
    throw invalidParameter(
      holder
        ? `The staging label ${stage} is currently attached to version ${holder.versionId}, not to version ${removeFrom.versionId}.`
        : `The staging label ${stage} is not attached to version ${removeFrom.versionId}.`,
    );
  }
  if (moveTo) {
    if (holder && holder !== moveTo && !removeFrom) {
      throw invalidParameter(
        `The parameter RemoveFromVersionId can't be empty. Staging label ${stage} is currently attached to version ${holder.versionId}, so you must explicitly reference that version in RemoveFromVersionId.`,
      );
    }
    if (moveStage(secret, stage, moveTo)) service.currentChanged(secret);
  } else if (removeFrom) {
    if (stage === AWSCURRENT) {
      throw invalidParameter(
        'You can only move staging label AWSCURRENT to a different secret version. It can’t be completely removed.',
      );
    }
    removeStage(removeFrom, stage);
  }
  service.touch(secret);
  service.store.save();
  return { ARN: secret.arn, Name: secret.name };
}

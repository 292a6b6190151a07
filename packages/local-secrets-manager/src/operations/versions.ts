import type { OperationContext, OperationRegistry } from '../context.js';
import { invalidParameter, notFound, refuseIfManaged } from '../errors.js';
import { secs } from '../inputs.js';
import { paginate } from '../paginate.js';
import { AWSCURRENT, findVersion, moveStage, removeStage, type VersionRecord, versionWithStage } from '../store.js';
import { bool, checkLength, type Input, int, str } from '../validate.js';

const s = 'string' as const;
/** What ListSecretVersionIds reports as KmsKeyIds for a secret encrypted with the AWS managed key. */
const DEFAULT_KEY = 'DefaultEncryptionKey';

/** UpdateSecretVersionStage, ListSecretVersionIds. */
export function registerVersionOperations(ops: OperationRegistry, ctx: OperationContext): void {
  ops.define(
    'UpdateSecretVersionStage',
    { SecretId: [s, true], VersionStage: [s, true], RemoveFromVersionId: [s, false], MoveToVersionId: [s, false] },
    (x) => updateSecretVersionStage(ctx, x),
  );
  ops.define(
    'ListSecretVersionIds',
    {
      SecretId: [s, true],
      MaxResults: ['integer', false],
      NextToken: [s, false],
      IncludeDeprecated: ['boolean', false],
    },
    (x) => listSecretVersionIds(ctx, x),
  );
}

function listSecretVersionIds(ctx: OperationContext, x: Input): unknown {
  const secret = ctx.secret(str(x, 'SecretId')!);
  const includeDeprecated = bool(x, 'IncludeDeprecated') ?? false;
  const kmsKeyIds = [secret.kmsKeyId ?? DEFAULT_KEY];
  const versions = secret.versions
    .filter((v) => includeDeprecated || v.stages.length > 0)
    .map((v) => {
      const item: Record<string, unknown> = { VersionId: v.versionId };
      // A deprecated (labelless) version carries no VersionStages member at all.
      if (v.stages.length > 0) item.VersionStages = [...v.stages];
      if (v.lastAccessedDate !== undefined) item.LastAccessedDate = secs(v.lastAccessedDate);
      item.CreatedDate = secs(v.createdDate);
      item.KmsKeyIds = [...kmsKeyIds];
      return item;
    })
    .reverse();
  const page = paginate(versions, int(x, 'MaxResults'), str(x, 'NextToken'));
  const out: Record<string, unknown> = { Versions: page.items, ARN: secret.arn, Name: secret.name };
  if (page.nextToken) out.NextToken = page.nextToken;
  return out;
}

function updateSecretVersionStage(ctx: OperationContext, x: Input): unknown {
  const secret = ctx.liveSecret(str(x, 'SecretId')!);
  refuseIfManaged(secret);
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
    if (moveStage(secret, stage, moveTo)) ctx.currentChanged(secret);
  } else if (removeFrom) {
    if (stage === AWSCURRENT) {
      throw invalidParameter(
        'You can only move staging label AWSCURRENT to a different secret version. It can’t be completely removed.',
      );
    }
    removeStage(removeFrom, stage);
  }
  ctx.touch(secret);
  ctx.store.save();
  return { ARN: secret.arn, Name: secret.name };
}

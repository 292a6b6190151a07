import type { OperationContext, OperationRegistry } from '../context.js';
import { summary, versionsToStages } from '../describe.js';
import {
  invalidParameter,
  invalidRequest,
  MARKED_FOR_DELETION,
  notFound,
  refuseIfManaged,
  ServiceError,
  validation,
} from '../errors.js';
import { checkToken, MISSING_TOKEN, mergeTags, readTags, readValue, sameValue, secs, tokenInUse } from '../inputs.js';
import { AWSCURRENT, findVersion, type SecretRecord } from '../store.js';
import { addVersion } from '../versions.js';
import { bool, checkLength, type Input, int, str } from '../validate.js';

const NAME_RE = /^[A-Za-z0-9/_+=.@!-]+$/;
const s = 'string' as const;
const b = 'boolean' as const;

/** CreateSecret, UpdateSecret, DescribeSecret, DeleteSecret, RestoreSecret. */
export function registerSecretOperations(ops: OperationRegistry, ctx: OperationContext): void {
  ops.define(
    'CreateSecret',
    {
      Name: [s, true],
      ClientRequestToken: [s, false],
      Description: [s, false],
      KmsKeyId: [s, false],
      SecretString: [s, false],
      SecretBinary: [s, false],
      Tags: ['list', false],
      ForceOverwriteReplicaSecret: [b, false],
      AddReplicaRegions: ['list', false],
    },
    (x) => createSecret(ctx, x),
  );
  ops.define(
    'UpdateSecret',
    {
      SecretId: [s, true],
      ClientRequestToken: [s, false],
      Description: [s, false],
      KmsKeyId: [s, false],
      SecretString: [s, false],
      SecretBinary: [s, false],
    },
    (x) => updateSecret(ctx, x),
  );
  ops.define('DescribeSecret', { SecretId: [s, true] }, (x) => {
    const secret = ctx.secret(str(x, 'SecretId')!);
    const out = { ...summary(secret), ...ctx.replicationFields(secret) };
    const stages = versionsToStages(secret);
    if (stages) out.VersionIdsToStages = stages;
    return out;
  });
  ops.define(
    'DeleteSecret',
    { SecretId: [s, true], RecoveryWindowInDays: ['integer', false], ForceDeleteWithoutRecovery: [b, false] },
    (x) => deleteSecret(ctx, x),
  );
  ops.define('RestoreSecret', { SecretId: [s, true] }, (x) => {
    const secret = ctx.secret(str(x, 'SecretId')!);
    delete secret.deletedDate;
    delete secret.deletionDate;
    ctx.touch(secret);
    ctx.store.save();
    return { ARN: secret.arn, Name: secret.name };
  });
}

function createSecret(ctx: OperationContext, x: Input): unknown {
  const name = str(x, 'Name')!;
  checkLength(x, 'Name', 1, 512);
  if (!NAME_RE.test(name)) {
    throw validation(
      'Invalid name. Must be a valid name containing alphanumeric characters, or any of the following: -/_+=.@!',
    );
  }
  // AddReplicaRegions / ForceOverwriteReplicaSecret: replication.ts wraps this operation.
  const token = str(x, 'ClientRequestToken');
  if (token === undefined) throw invalidRequest(MISSING_TOKEN);
  checkToken(token);
  const value = readValue(x, false);
  const tags = mergeTags([], readTags(x));
  const existing = ctx.store.findByName(name);
  if (existing) {
    if (existing.deletedDate !== undefined) {
      throw invalidRequest(
        "You can't create this secret because a secret with this name is already scheduled for deletion.",
      );
    }
    const version = findVersion(existing, token);
    if (!version)
      throw new ServiceError(
        'ResourceExistsException',
        `The operation failed because the secret ${name} already exists.`,
      );
    if (!sameValue(version, value)) throw tokenInUse(token, existing.arn);
    return { ARN: existing.arn, Name: existing.name, VersionId: version.versionId };
  }
  const now = ctx.clock();
  const secret: SecretRecord = {
    arn: ctx.arnFor(name),
    name,
    tags,
    createdDate: now,
    lastChangedDate: now,
    versions: [],
  };
  const description = str(x, 'Description');
  if (description !== undefined) secret.description = description;
  const kmsKeyId = str(x, 'KmsKeyId');
  if (kmsKeyId !== undefined) secret.kmsKeyId = kmsKeyId;
  ctx.store.secrets.set(secret.arn, secret);
  if (value) {
    secret.versions.push({ versionId: token, ...value, stages: [AWSCURRENT], createdDate: now });
    secret.currentChangedDate = now;
  }
  ctx.store.save();
  const out: Record<string, unknown> = { ARN: secret.arn, Name: secret.name };
  if (value) out.VersionId = token;
  return out;
}

function updateSecret(ctx: OperationContext, x: Input): unknown {
  const token = str(x, 'ClientRequestToken');
  const value = readValue(x, false);
  const description = str(x, 'Description');
  const kmsKeyId = str(x, 'KmsKeyId');
  if (value && token === undefined) throw invalidRequest(MISSING_TOKEN);
  if (token !== undefined) checkToken(token);
  const secret = ctx.liveSecret(str(x, 'SecretId')!);
  if (value) refuseIfManaged(secret);
  let changed = false;
  if (description !== undefined) {
    secret.description = description;
    changed = true;
  }
  if (kmsKeyId !== undefined) {
    secret.kmsKeyId = kmsKeyId;
    changed = true;
  }
  const out: Record<string, unknown> = { ARN: secret.arn, Name: secret.name };
  if (value) {
    const version = addVersion(ctx, secret, token!, value, [AWSCURRENT]);
    out.VersionId = version.versionId;
  } else if (changed) {
    ctx.touch(secret);
    ctx.store.save();
  }
  return out;
}

function deleteSecret(ctx: OperationContext, x: Input): unknown {
  const secretId = str(x, 'SecretId')!;
  const window = int(x, 'RecoveryWindowInDays');
  const force = bool(x, 'ForceDeleteWithoutRecovery') ?? false;
  if (force && window !== undefined) {
    throw invalidParameter("You can't use ForceDeleteWithoutRecovery in conjunction with RecoveryWindowInDays.");
  }
  if (window !== undefined && (window < 7 || window > 30)) {
    throw invalidParameter('The RecoveryWindowInDays value must be between 7 and 30 days (inclusive).');
  }
  const now = ctx.clock();
  const secret = ctx.store.find(secretId);
  if (!secret) {
    if (force) {
      // AWS answers a forced delete of a missing secret with success.
      const name = secretId.startsWith('arn:') ? (secretId.split(':secret:')[1] ?? secretId) : secretId;
      return { ARN: secretId.startsWith('arn:') ? secretId : ctx.arnFor(name), Name: name, DeletionDate: secs(now) };
    }
    throw notFound();
  }
  refuseIfManaged(secret);
  if (secret.deletedDate !== undefined && !force) throw invalidRequest(MARKED_FOR_DELETION);
  if (force) {
    ctx.store.secrets.delete(secret.arn);
    ctx.store.save();
    return { ARN: secret.arn, Name: secret.name, DeletionDate: secs(now) };
  }
  secret.deletedDate = now;
  secret.deletionDate = now + (window ?? 30) * 86_400_000;
  ctx.store.save();
  return { ARN: secret.arn, Name: secret.name, DeletionDate: secs(secret.deletionDate) };
}

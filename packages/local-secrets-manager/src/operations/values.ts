import type { OperationContext, OperationRegistry } from '../context.js';
import { invalidParameter, invalidRequest, refuseIfManaged, ServiceError, validation } from '../errors.js';
import { matchesFilter, readFilters } from '../filters.js';
import { checkToken, MISSING_TOKEN, readStages, readValue } from '../inputs.js';
import { paginate } from '../paginate.js';
import { AWSCURRENT } from '../store.js';
import { type Input, int, str } from '../validate.js';
import { addVersion, readSecretValue } from '../versions.js';

const s = 'string' as const;
const BATCH_MAX = 20;

/** GetSecretValue, PutSecretValue, BatchGetSecretValue. */
export function registerValueOperations(ops: OperationRegistry, ctx: OperationContext): void {
  ops.define('GetSecretValue', { SecretId: [s, true], VersionId: [s, false], VersionStage: [s, false] }, (x) =>
    readSecretValue(ctx, ctx.liveSecret(str(x, 'SecretId')!), str(x, 'VersionId'), str(x, 'VersionStage')),
  );
  ops.define(
    'PutSecretValue',
    {
      SecretId: [s, true],
      ClientRequestToken: [s, false],
      SecretString: [s, false],
      SecretBinary: [s, false],
      VersionStages: ['list', false],
      RotationToken: [s, false],
    },
    (x) => putSecretValue(ctx, x),
  );
  ops.define(
    'BatchGetSecretValue',
    { SecretIdList: ['list', false], Filters: ['list', false], MaxResults: ['integer', false], NextToken: [s, false] },
    (x) => batchGetSecretValue(ctx, x),
  );
}

function putSecretValue(ctx: OperationContext, x: Input): unknown {
  const token = str(x, 'ClientRequestToken');
  if (token === undefined) throw invalidRequest(MISSING_TOKEN);
  checkToken(token);
  const secret = ctx.liveSecret(str(x, 'SecretId')!);
  refuseIfManaged(secret);
  const rotationToken = str(x, 'RotationToken');
  if (rotationToken !== undefined && !/^[a-zA-Z0-9-]{36,256}$/.test(rotationToken)) {
    throw invalidParameter('RotationToken must be 36-256 characters from [a-zA-Z0-9-].');
  }
  const value = readValue(x, true)!;
  const stages = readStages(x);
  const version = addVersion(ctx, secret, token, value, stages ?? [AWSCURRENT]);
  return { ARN: secret.arn, Name: secret.name, VersionId: version.versionId, VersionStages: [...version.stages] };
}

/**
 * Up to 20 AWSCURRENT values, named by SecretIdList or chosen by Filters (then paginated like
 * ListSecrets). A secret it cannot read goes to `Errors` with the error GetSecretValue would give.
 */
function batchGetSecretValue(ctx: OperationContext, x: Input): unknown {
  const ids = x.SecretIdList as unknown[] | undefined;
  const hasFilters = x.Filters !== undefined && x.Filters !== null;
  if ((ids === undefined) === !hasFilters) {
    throw invalidParameter('You must include Filters or SecretIdList, but not both.');
  }
  const secretValues: Record<string, unknown>[] = [];
  const errors: Record<string, unknown>[] = [];
  const read = (secretId: string): void => {
    try {
      secretValues.push(readSecretValue(ctx, ctx.liveSecret(secretId), undefined, undefined));
    } catch (err) {
      if (!(err instanceof ServiceError)) throw err;
      errors.push({ SecretId: secretId, ErrorCode: err.shape, Message: err.message });
    }
  };
  if (ids !== undefined) {
    if (ids.length < 1 || ids.length > BATCH_MAX || !ids.every((id) => typeof id === 'string' && id.length > 0)) {
      throw validation(
        `1 validation error detected: Value at 'secretIdList' failed to satisfy constraint: Member must have length between 1 and ${BATCH_MAX}`,
      );
    }
    if (int(x, 'MaxResults') !== undefined || str(x, 'NextToken') !== undefined) {
      throw invalidParameter('MaxResults and NextToken apply only to a request with Filters.');
    }
    for (const id of new Set(ids as string[])) read(id);
    ctx.store.save();
    return { SecretValues: secretValues, Errors: errors };
  }
  const filters = readFilters(x);
  const matching = [...ctx.store.secrets.values()]
    .filter((secret) => secret.deletedDate === undefined && filters.every((f) => matchesFilter(secret, f)))
    .sort((a, b) => a.createdDate - b.createdDate);
  const page = paginate(matching, int(x, 'MaxResults'), str(x, 'NextToken'), BATCH_MAX);
  for (const secret of page.items) read(secret.arn);
  ctx.store.save();
  const out: Record<string, unknown> = { SecretValues: secretValues, Errors: errors };
  if (page.nextToken) out.NextToken = page.nextToken;
  return out;
}

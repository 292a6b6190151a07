import type { OperationContext, OperationRegistry } from '../context.js';
import { invalidParameter, ServiceError, validation } from '../errors.js';
import { isReserved, mergeTags, readTags } from '../inputs.js';
import { str } from '../validate.js';

/** TagResource, UntagResource. Tags belong to the secret, not to a version. */
export function registerTagOperations(ops: OperationRegistry, ctx: OperationContext): void {
  ops.define('TagResource', { SecretId: ['string', true], Tags: ['list', true] }, (x) => {
    const added = readTags(x);
    const secret = ctx.liveSecret(str(x, 'SecretId')!);
    secret.tags = mergeTags(secret.tags, added);
    ctx.touch(secret);
    ctx.store.save();
    return {};
  });
  ops.define('UntagResource', { SecretId: ['string', true], TagKeys: ['list', true] }, (x) => {
    const keys = x.TagKeys as unknown[];
    if (!keys.every((k): k is string => typeof k === 'string')) {
      throw new ServiceError('SerializationException', 'TagKeys must be a list of strings.');
    }
    for (const key of keys) {
      if (key.length < 1 || key.length > 128) {
        throw validation(
          "1 validation error detected: Value at 'tagKeys.member' failed to satisfy constraint: Member must have length between 1 and 128",
        );
      }
      if (isReserved(key)) throw invalidParameter('Tag keys that start with aws: are reserved for AWS use.');
    }
    const secret = ctx.liveSecret(str(x, 'SecretId')!);
    secret.tags = secret.tags.filter((t) => !keys.includes(t.Key));
    ctx.touch(secret);
    ctx.store.save();
    return {};
  });
}

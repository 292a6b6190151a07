import { randomUUID } from 'node:crypto';
import { invalidParameter, invalidRequest, ServiceError, validation } from './errors.js';
import type { Tag, VersionRecord } from './store.js';
import { type Input, str } from './validate.js';

const MAX_VALUE_BYTES = 65_536;
export const MISSING_TOKEN = 'You must provide a ClientRequestToken value. We recommend a UUID-type value.';

export const secs = (ms: number): number => ms / 1000;

export type SecretValue = { secretString: string } | { secretBinary: string };

export function readValue(x: Input, required: boolean): SecretValue | undefined {
  const s = str(x, 'SecretString');
  const b = str(x, 'SecretBinary');
  if (s !== undefined && b !== undefined) {
    throw invalidParameter(
      "You can't specify both a binary secret value and a string secret value in the same secret.",
    );
  }
  if (s !== undefined) {
    if (Buffer.byteLength(s, 'utf8') > MAX_VALUE_BYTES)
      throw invalidParameter('SecretString must be at most 65536 bytes.');
    return { secretString: s };
  }
  if (b !== undefined) {
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(b) || b.length % 4 !== 0) {
      throw new ServiceError('SerializationException', 'SecretBinary must be base64.');
    }
    if (Buffer.from(b, 'base64').length > MAX_VALUE_BYTES)
      throw invalidParameter('SecretBinary must be at most 65536 bytes.');
    return { secretBinary: b };
  }
  if (required) throw invalidRequest('You must provide either SecretString or SecretBinary.');
  return undefined;
}

export function sameValue(v: VersionRecord, value: SecretValue | undefined): boolean {
  if (!value) return true;
  return 'secretString' in value ? v.secretString === value.secretString : v.secretBinary === value.secretBinary;
}

export function checkToken(token: string): void {
  if (token.length < 32 || token.length > 64) {
    throw validation(
      "1 validation error detected: Value at 'clientRequestToken' failed to satisfy constraint: Member must have length between 32 and 64",
    );
  }
}

export function tokenInUse(token: string, arn: string): ServiceError {
  return new ServiceError(
    'ResourceExistsException',
    `You can't use ClientRequestToken ${token} because that value is already in use for a version of secret ${arn}.`,
  );
}

export function readStages(x: Input): string[] | undefined {
  const stages = x.VersionStages as unknown[] | undefined;
  if (stages === undefined || stages === null) return undefined;
  if (!stages.every((s): s is string => typeof s === 'string' && s.length >= 1 && s.length <= 256)) {
    throw validation('VersionStages must be a list of 1-256 character strings.');
  }
  return [...new Set(stages)];
}

/** Tag restrictions from the TagResource reference and the Tag model (key 1–128, value 0–256). */
const MAX_TAGS = 50;

/** Reads a `Tags` list with AWS's rules: key 1–128 and value 0–256 characters, `aws:` keys and values reserved. */
export function readTags(x: Input): Tag[] {
  const tags = x.Tags as unknown[] | undefined;
  if (!tags) return [];
  return tags.map((t) => {
    const tag = t as Partial<Tag> | null;
    if (!tag || typeof tag.Key !== 'string' || (tag.Value !== undefined && typeof tag.Value !== 'string')) {
      throw new ServiceError('SerializationException', 'Tags must be a list of {Key, Value} string pairs.');
    }
    const value = tag.Value ?? '';
    if (tag.Key.length < 1 || tag.Key.length > 128) {
      throw validation(
        "1 validation error detected: Value at 'tags.member.key' failed to satisfy constraint: Member must have length between 1 and 128",
      );
    }
    if (value.length > 256) {
      throw validation(
        "1 validation error detected: Value at 'tags.member.value' failed to satisfy constraint: Member must have length less than or equal to 256",
      );
    }
    if (isReserved(tag.Key) || isReserved(value)) {
      throw invalidParameter('Tag keys and values that start with aws: are reserved for AWS use.');
    }
    return { Key: tag.Key, Value: value };
  });
}

/** `aws:` in any case starts a reserved tag key or value. */
export const isReserved = (text: string): boolean => text.toLowerCase().startsWith('aws:');

/** Merges `added` into `tags` (a key already present takes the new value) and enforces the 50-tag limit. */
export function mergeTags(tags: Tag[], added: Tag[]): Tag[] {
  const out = tags.map((t) => ({ ...t }));
  for (const tag of added) {
    const existing = out.find((t) => t.Key === tag.Key);
    if (existing) existing.Value = tag.Value;
    else out.push({ ...tag });
  }
  if (out.filter((t) => !isReserved(t.Key)).length > MAX_TAGS) {
    throw invalidParameter(`A secret can have at most ${MAX_TAGS} tags (aws: tags excluded).`);
  }
  return out;
}

export function startOfUtcDay(ms: number): number {
  return Math.floor(ms / 86_400_000) * 86_400_000;
}

export const newToken = (): string => randomUUID();

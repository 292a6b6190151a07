import { ServiceError, validation } from './errors.js';
import { secs } from './inputs.js';
import type { SecretsService } from './service.js';
import type { SecretRecord } from './store.js';
import { bool, type Input, int, str } from './validate.js';

export function describeSecret(service: SecretsService, x: Input): Record<string, unknown> {
  const secret = service.secret(str(x, 'SecretId')!);
  const out = summary(service, secret);
  out.VersionIdsToStages = versionsToStages(secret);
  return out;
}

/** DescribeSecret / ListSecrets fields, without the version map. */
function summary(service: SecretsService, secret: SecretRecord): Record<string, unknown> {
  const out: Record<string, unknown> = { ARN: secret.arn, Name: secret.name };
  if (secret.description !== undefined) out.Description = secret.description;
  if (secret.kmsKeyId !== undefined) out.KmsKeyId = secret.kmsKeyId;
  const r = secret.rotation;
  if (r) {
    out.RotationEnabled = r.enabled;
    if (r.lambdaArn !== undefined) out.RotationLambdaARN = r.lambdaArn;
    if (r.rules) out.RotationRules = { ...r.rules };
    if (r.lastRotatedDate !== undefined) out.LastRotatedDate = secs(r.lastRotatedDate);
    if (r.enabled && r.nextRotationDate !== undefined) out.NextRotationDate = secs(r.nextRotationDate);
  }
  out.LastChangedDate = secs(secret.lastChangedDate);
  if (secret.lastAccessedDate !== undefined) out.LastAccessedDate = secs(secret.lastAccessedDate);
  if (secret.deletedDate !== undefined) out.DeletedDate = secs(secret.deletedDate);
  if (secret.tags.length > 0) out.Tags = secret.tags.map((t) => ({ ...t }));
  out.CreatedDate = secs(secret.createdDate);
  out.PrimaryRegion = service.region;
  return out;
}

export function listSecretVersionIds(service: SecretsService, x: Input): unknown {
  const secret = service.secret(str(x, 'SecretId')!);
  const includeDeprecated = bool(x, 'IncludeDeprecated') ?? false;
  const versions = secret.versions
    .filter((v) => includeDeprecated || v.stages.length > 0)
    .map((v) => {
      const item: Record<string, unknown> = {
        VersionId: v.versionId,
        VersionStages: [...v.stages],
        CreatedDate: secs(v.createdDate),
      };
      if (v.lastAccessedDate !== undefined) item.LastAccessedDate = secs(v.lastAccessedDate);
      return item;
    })
    .reverse();
  const page = paginate(versions, int(x, 'MaxResults'), str(x, 'NextToken'));
  const out: Record<string, unknown> = { ARN: secret.arn, Name: secret.name, Versions: page.items };
  if (page.nextToken) out.NextToken = page.nextToken;
  return out;
}

export function listSecrets(service: SecretsService, x: Input): unknown {
  const includePlanned = bool(x, 'IncludePlannedDeletion') ?? false;
  const filters = readFilters(x);
  const sortOrder = str(x, 'SortOrder') ?? 'asc';
  if (sortOrder !== 'asc' && sortOrder !== 'desc') throw validation("SortOrder must be 'asc' or 'desc'.");
  const sortBy = str(x, 'SortBy') ?? 'created-date';
  const sortKey: Record<string, (s: SecretRecord) => number | string> = {
    'created-date': (s) => s.createdDate,
    'last-changed-date': (s) => s.lastChangedDate,
    'last-accessed-date': (s) => s.lastAccessedDate ?? 0,
    name: (s) => s.name,
  };
  const key = sortKey[sortBy];
  if (!key) throw validation('SortBy must be one of created-date, last-accessed-date, last-changed-date, name.');
  const secrets = [...service.store.secrets.values()]
    .filter((s) => includePlanned || s.deletedDate === undefined)
    .filter((s) => filters.every((f) => matchesFilter(s, f)))
    .sort((a, b) => {
      const ka = key(a);
      const kb = key(b);
      const c = ka < kb ? -1 : ka > kb ? 1 : 0;
      return sortOrder === 'asc' ? c : -c;
    })
    .map((s) => ({ ...summary(service, s), SecretVersionsToStages: versionsToStages(s) }));
  const page = paginate(secrets, int(x, 'MaxResults'), str(x, 'NextToken'));
  const out: Record<string, unknown> = { SecretList: page.items };
  if (page.nextToken) out.NextToken = page.nextToken;
  return out;
}

interface Filter {
  key: string;
  values: string[];
}

const FILTER_KEYS = new Set(['description', 'name', 'tag-key', 'tag-value', 'primary-region', 'owning-service', 'all']);

function readFilters(x: Input): Filter[] {
  const raw = x.Filters as unknown[] | undefined;
  if (!raw) return [];
  return raw.map((f) => {
    const filter = f as { Key?: unknown; Values?: unknown } | null;
    if (!filter || typeof filter.Key !== 'string' || !FILTER_KEYS.has(filter.Key)) {
      throw validation(`Filter keys must be one of: ${[...FILTER_KEYS].join(', ')}.`);
    }
    const values = filter.Values ?? [];
    if (!Array.isArray(values) || !values.every((v) => typeof v === 'string')) {
      throw validation('Filter values must be a list of strings.');
    }
    return { key: filter.Key, values };
  });
}

/** Prefix match, case-insensitive; a value starting with `!` negates (AWS's ListSecrets filter rules). */
function matchesFilter(s: SecretRecord, f: Filter): boolean {
  const candidates: string[] = [];
  const add = (key: string): void => {
    if (key === 'name') candidates.push(s.name);
    else if (key === 'description') candidates.push(s.description ?? '');
    else if (key === 'tag-key') candidates.push(...s.tags.map((t) => t.Key));
    else if (key === 'tag-value') candidates.push(...s.tags.map((t) => t.Value));
  };
  if (f.key === 'all') for (const k of ['name', 'description', 'tag-key', 'tag-value']) add(k);
  else add(f.key);
  return f.values.some((raw) => {
    const negate = raw.startsWith('!');
    const value = (negate ? raw.slice(1) : raw).toLowerCase();
    const hit = candidates.some((c) => c.toLowerCase().startsWith(value));
    return negate ? !hit : hit;
  });
}

function paginate<T>(
  items: T[],
  maxResults: number | undefined,
  nextToken: string | undefined,
): { items: T[]; nextToken?: string } {
  if (maxResults !== undefined && (maxResults < 1 || maxResults > 100)) {
    throw validation(
      "1 validation error detected: Value at 'maxResults' failed to satisfy constraint: Member must have value between 1 and 100",
    );
  }
  let start = 0;
  if (nextToken !== undefined) {
    const decoded = Number(
      Buffer.from(nextToken, 'base64url')
        .toString('utf8')
        .replace(/^offset:/, ''),
    );
    if (
      !Number.isInteger(decoded) ||
      decoded < 0 ||
      !Buffer.from(nextToken, 'base64url').toString('utf8').startsWith('offset:')
    ) {
      throw new ServiceError('InvalidNextTokenException', 'The NextToken value is invalid.');
    }
    start = decoded;
  }
  const size = maxResults ?? 100;
  const page = items.slice(start, start + size);
  const end = start + page.length;
  return end < items.length
    ? { items: page, nextToken: Buffer.from(`offset:${end}`).toString('base64url') }
    : { items: page };
}

function versionsToStages(secret: SecretRecord): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const v of secret.versions) if (v.stages.length > 0) out[v.versionId] = [...v.stages];
  return out;
}

import { randomUUID } from 'node:crypto';
import { invalidParameter, invalidRequest, MARKED_FOR_DELETION, notFound, ServiceError, validation } from './errors.js';
import { randomPassword } from './password.js';
import {
  AWSCURRENT,
  findVersion,
  hasValue,
  moveStage,
  pruneVersions,
  randomArnSuffix,
  removeStage,
  type SecretRecord,
  type SecretStore,
  type Tag,
  type VersionRecord,
  versionWithStage,
} from './store.js';
import { bool, checkLength, checkShape, type Input, type InputShape, int, str } from './validate.js';

const NAME_RE = /^[A-Za-z0-9/_+=.@!-]+$/;
const MAX_VALUE_BYTES = 65_536;
const MISSING_TOKEN = 'You must provide a ClientRequestToken value. We recommend a UUID-type value.';

export const secs = (ms: number): number => ms / 1000;

/** Hooks the rotation engine attaches to; the plain service works without them. */
export interface ServiceHooks {
  /** AWSCURRENT moved to another version (manual change or rotation). */
  currentChanged(secret: SecretRecord): void;
}

export interface ServiceConfig {
  store: SecretStore;
  region: string;
  accountId: string;
  clock: () => number;
}

type Handler = (input: Input) => unknown;

interface Operation {
  shape: InputShape;
  handler: Handler;
}

/** The Secrets Manager operations over the label engine in store.ts. Synchronous except RotateSecret. */
export class SecretsService {
  readonly store: SecretStore;
  readonly region: string;
  readonly accountId: string;
  readonly clock: () => number;
  hooks: ServiceHooks | undefined;
  private readonly operations = new Map<string, Operation>();

  constructor(config: ServiceConfig) {
    this.store = config.store;
    this.region = config.region;
    this.accountId = config.accountId;
    this.clock = config.clock;
    const s = 'string' as const;
    const i = 'integer' as const;
    const b = 'boolean' as const;
    const l = 'list' as const;
    const o = 'structure' as const;
    this.define(
      'CreateSecret',
      {
        Name: [s, true],
        ClientRequestToken: [s, false],
        Description: [s, false],
        KmsKeyId: [s, false],
        SecretString: [s, false],
        SecretBinary: [s, false],
        Tags: [l, false],
        ForceOverwriteReplicaSecret: [b, false],
        AddReplicaRegions: [l, false],
      },
      (x) => this.createSecret(x),
    );
    this.define('GetSecretValue', { SecretId: [s, true], VersionId: [s, false], VersionStage: [s, false] }, (x) =>
      this.getSecretValue(x),
    );
    this.define(
      'PutSecretValue',
      {
        SecretId: [s, true],
        ClientRequestToken: [s, false],
        SecretString: [s, false],
        SecretBinary: [s, false],
        VersionStages: [l, false],
        RotationToken: [s, false],
      },
      (x) => this.putSecretValue(x),
    );
    this.define(
      'UpdateSecret',
      {
        SecretId: [s, true],
        ClientRequestToken: [s, false],
        Description: [s, false],
        KmsKeyId: [s, false],
        SecretString: [s, false],
        SecretBinary: [s, false],
      },
      (x) => this.updateSecret(x),
    );
    this.define('DescribeSecret', { SecretId: [s, true] }, (x) => this.describeSecret(x));
    this.define(
      'ListSecretVersionIds',
      { SecretId: [s, true], MaxResults: [i, false], NextToken: [s, false], IncludeDeprecated: [b, false] },
      (x) => this.listSecretVersionIds(x),
    );
    this.define(
      'ListSecrets',
      {
        IncludePlannedDeletion: [b, false],
        MaxResults: [i, false],
        NextToken: [s, false],
        Filters: [l, false],
        SortOrder: [s, false],
        SortBy: [s, false],
      },
      (x) => this.listSecrets(x),
    );
    this.define(
      'UpdateSecretVersionStage',
      { SecretId: [s, true], VersionStage: [s, true], RemoveFromVersionId: [s, false], MoveToVersionId: [s, false] },
      (x) => this.updateSecretVersionStage(x),
    );
    this.define(
      'DeleteSecret',
      { SecretId: [s, true], RecoveryWindowInDays: [i, false], ForceDeleteWithoutRecovery: [b, false] },
      (x) => this.deleteSecret(x),
    );
    this.define('RestoreSecret', { SecretId: [s, true] }, (x) => this.restoreSecret(x));
    this.define(
      'GetRandomPassword',
      {
        PasswordLength: [i, false],
        ExcludeCharacters: [s, false],
        ExcludeNumbers: [b, false],
        ExcludePunctuation: [b, false],
        ExcludeUppercase: [b, false],
        ExcludeLowercase: [b, false],
        IncludeSpace: [b, false],
        RequireEachIncludedType: [b, false],
      },
      (x) => ({ RandomPassword: randomPassword(x) }),
    );
    void o;
  }

  /** Registers (or replaces) an operation; the rotation engine adds RotateSecret/CancelRotateSecret. */
  define(name: string, shape: InputShape, handler: Handler): void {
    this.operations.set(name, { shape, handler });
  }

  has(operation: string): boolean {
    return this.operations.has(operation);
  }

  operationNames(): string[] {
    return [...this.operations.keys()];
  }

  /** Validates the input against the operation's shape, runs it, persists when state changed. */
  async call(operation: string, input: Input): Promise<unknown> {
    const op = this.operations.get(operation);
    if (!op) throw new ServiceError('UnknownOperationException', `Operation ${operation} is not supported.`);
    checkShape(input, op.shape);
    if (this.store.purgeExpired(this.clock())) this.store.save();
    return await op.handler(input);
  }

  // ---- helpers -------------------------------------------------------------------------------

  arnFor(name: string): string {
    return `arn:aws:secretsmanager:${this.region}:${this.accountId}:secret:${name}-${randomArnSuffix()}`;
  }

  /** Resolves SecretId or throws ResourceNotFoundException. */
  secret(secretId: string): SecretRecord {
    const secret = this.store.find(secretId);
    if (!secret) throw notFound();
    return secret;
  }

  /** Like secret(), but refuses secrets scheduled for deletion. */
  liveSecret(secretId: string): SecretRecord {
    const secret = this.secret(secretId);
    if (secret.deletedDate !== undefined) throw invalidRequest(MARKED_FOR_DELETION);
    return secret;
  }

  private touch(secret: SecretRecord): void {
    secret.lastChangedDate = this.clock();
  }

  private currentChanged(secret: SecretRecord): void {
    secret.currentChangedDate = this.clock();
    this.hooks?.currentChanged(secret);
  }

  // ---- operations ------------------------------------------------------------------------------

  private createSecret(x: Input): unknown {
    const name = str(x, 'Name')!;
    checkLength(x, 'Name', 1, 512);
    if (!NAME_RE.test(name)) {
      throw validation(
        'Invalid name. Must be a valid name containing alphanumeric characters, or any of the following: -/_+=.@!',
      );
    }
    const token = str(x, 'ClientRequestToken');
    if (token === undefined) throw invalidRequest(MISSING_TOKEN);
    checkToken(token);
    const value = readValue(x, false);
    const existing = this.store.findByName(name);
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
    const now = this.clock();
    const secret: SecretRecord = {
      arn: this.arnFor(name),
      name,
      tags: readTags(x),
      createdDate: now,
      lastChangedDate: now,
      versions: [],
    };
    const description = str(x, 'Description');
    if (description !== undefined) secret.description = description;
    const kmsKeyId = str(x, 'KmsKeyId');
    if (kmsKeyId !== undefined) secret.kmsKeyId = kmsKeyId;
    this.store.secrets.set(secret.arn, secret);
    if (value) {
      secret.versions.push({ versionId: token, ...value, stages: [AWSCURRENT], createdDate: now });
      secret.currentChangedDate = now;
    }
    this.store.save();
    const out: Record<string, unknown> = { ARN: secret.arn, Name: secret.name };
    if (value) out.VersionId = token;
    return out;
  }

  private getSecretValue(x: Input): unknown {
    const secret = this.liveSecret(str(x, 'SecretId')!);
    const versionId = str(x, 'VersionId');
    const stage = str(x, 'VersionStage');
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
    const day = startOfUtcDay(this.clock());
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

  private putSecretValue(x: Input): unknown {
    const token = str(x, 'ClientRequestToken');
    if (token === undefined) throw invalidRequest(MISSING_TOKEN);
    checkToken(token);
    const secret = this.liveSecret(str(x, 'SecretId')!);
    const rotationToken = str(x, 'RotationToken');
    if (rotationToken !== undefined && !/^[a-zA-Z0-9-]{36,256}$/.test(rotationToken)) {
      throw invalidParameter('RotationToken must be 36-256 characters from [a-zA-Z0-9-].');
    }
    const value = readValue(x, true)!;
    const stages = readStages(x);
    const version = this.addVersion(secret, token, value, stages ?? [AWSCURRENT]);
    return { ARN: secret.arn, Name: secret.name, VersionId: version.versionId, VersionStages: [...version.stages] };
  }

  private updateSecret(x: Input): unknown {
    const token = str(x, 'ClientRequestToken');
    const value = readValue(x, false);
    const description = str(x, 'Description');
    const kmsKeyId = str(x, 'KmsKeyId');
    if (value && token === undefined) throw invalidRequest(MISSING_TOKEN);
    if (token !== undefined) checkToken(token);
    const secret = this.liveSecret(str(x, 'SecretId')!);
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
      const version = this.addVersion(secret, token!, value, [AWSCURRENT]);
      out.VersionId = version.versionId;
    } else if (changed) {
      this.touch(secret);
      this.store.save();
    }
    return out;
  }

  /**
   * Creates version `token` with `value` and moves `stages` onto it. Same token + same value: no-op.
   * Same token + other value: ResourceExistsException, unless the version has no value yet (the
   * AWSPENDING placeholder RotateSecret registers before createSecret).
   */
  addVersion(secret: SecretRecord, token: string, value: SecretValue, stages: string[]): VersionRecord {
    if (stages.length < 1 || stages.length > 20) {
      throw invalidParameter('VersionStages must contain between 1 and 20 staging labels.');
    }
    const now = this.clock();
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
    this.touch(secret);
    if (currentMoved) this.currentChanged(secret);
    this.store.save();
    return version;
  }

  describeSecret(x: Input): Record<string, unknown> {
    const secret = this.secret(str(x, 'SecretId')!);
    const out = this.summary(secret);
    out.VersionIdsToStages = versionsToStages(secret);
    return out;
  }

  /** DescribeSecret / ListSecrets fields, without the version map. */
  private summary(secret: SecretRecord): Record<string, unknown> {
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
    out.PrimaryRegion = this.region;
    return out;
  }

  private listSecretVersionIds(x: Input): unknown {
    const secret = this.secret(str(x, 'SecretId')!);
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

  private listSecrets(x: Input): unknown {
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
    const secrets = [...this.store.secrets.values()]
      .filter((s) => includePlanned || s.deletedDate === undefined)
      .filter((s) => filters.every((f) => matchesFilter(s, f)))
      .sort((a, b) => {
        const ka = key(a);
        const kb = key(b);
        const c = ka < kb ? -1 : ka > kb ? 1 : 0;
        return sortOrder === 'asc' ? c : -c;
      })
      .map((s) => ({ ...this.summary(s), SecretVersionsToStages: versionsToStages(s) }));
    const page = paginate(secrets, int(x, 'MaxResults'), str(x, 'NextToken'));
    const out: Record<string, unknown> = { SecretList: page.items };
    if (page.nextToken) out.NextToken = page.nextToken;
    return out;
  }

  private updateSecretVersionStage(x: Input): unknown {
    const secret = this.liveSecret(str(x, 'SecretId')!);
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
      if (moveStage(secret, stage, moveTo)) this.currentChanged(secret);
    } else if (removeFrom) {
      if (stage === AWSCURRENT) {
        throw invalidParameter(
          'You can only move staging label AWSCURRENT to a different secret version. It can’t be completely removed.',
        );
      }
      removeStage(removeFrom, stage);
    }
    this.touch(secret);
    this.store.save();
    return { ARN: secret.arn, Name: secret.name };
  }

  private deleteSecret(x: Input): unknown {
    const secretId = str(x, 'SecretId')!;
    const window = int(x, 'RecoveryWindowInDays');
    const force = bool(x, 'ForceDeleteWithoutRecovery') ?? false;
    if (force && window !== undefined) {
      throw invalidParameter("You can't use ForceDeleteWithoutRecovery in conjunction with RecoveryWindowInDays.");
    }
    if (window !== undefined && (window < 7 || window > 30)) {
      throw invalidParameter('The RecoveryWindowInDays value must be between 7 and 30 days (inclusive).');
    }
    const now = this.clock();
    const secret = this.store.find(secretId);
    if (!secret) {
      if (force) {
        // AWS answers a forced delete of a missing secret with success.
        const name = secretId.startsWith('arn:') ? (secretId.split(':secret:')[1] ?? secretId) : secretId;
        return { ARN: secretId.startsWith('arn:') ? secretId : this.arnFor(name), Name: name, DeletionDate: secs(now) };
      }
      throw notFound();
    }
    if (secret.deletedDate !== undefined && !force) throw invalidRequest(MARKED_FOR_DELETION);
    if (force) {
      this.store.secrets.delete(secret.arn);
      this.store.save();
      return { ARN: secret.arn, Name: secret.name, DeletionDate: secs(now) };
    }
    secret.deletedDate = now;
    secret.deletionDate = now + (window ?? 30) * 86_400_000;
    this.store.save();
    return { ARN: secret.arn, Name: secret.name, DeletionDate: secs(secret.deletionDate) };
  }

  private restoreSecret(x: Input): unknown {
    const secret = this.secret(str(x, 'SecretId')!);
    delete secret.deletedDate;
    delete secret.deletionDate;
    this.touch(secret);
    this.store.save();
    return { ARN: secret.arn, Name: secret.name };
  }
}

// ---- input readers and small utilities ------------------------------------------------------------

export type SecretValue = { secretString: string } | { secretBinary: string };

function readValue(x: Input, required: boolean): SecretValue | undefined {
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

function sameValue(v: VersionRecord, value: SecretValue | undefined): boolean {
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

function readStages(x: Input): string[] | undefined {
  const stages = x.VersionStages as unknown[] | undefined;
  if (stages === undefined || stages === null) return undefined;
  if (!stages.every((s): s is string => typeof s === 'string' && s.length >= 1 && s.length <= 256)) {
    throw validation('VersionStages must be a list of 1-256 character strings.');
  }
  return [...new Set(stages)];
}

function readTags(x: Input): Tag[] {
  const tags = x.Tags as unknown[] | undefined;
  if (!tags) return [];
  return tags.map((t) => {
    const tag = t as Partial<Tag> | null;
    if (!tag || typeof tag.Key !== 'string' || typeof tag.Value !== 'string') {
      throw new ServiceError('SerializationException', 'Tags must be a list of {Key, Value} string pairs.');
    }
    return { Key: tag.Key, Value: tag.Value };
  });
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

export function startOfUtcDay(ms: number): number {
  return Math.floor(ms / 86_400_000) * 86_400_000;
}

export const newToken = (): string => randomUUID();

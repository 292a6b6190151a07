import { invalidParameter, invalidRequest, MARKED_FOR_DELETION, notFound, ServiceError, validation } from './errors.js';
import {
  checkToken,
  MISSING_TOKEN,
  readStages,
  readTags,
  readValue,
  sameValue,
  secs,
  startOfUtcDay,
  tokenInUse,
} from './inputs.js';
import { describeSecret, listSecrets, listSecretVersionIds } from './listing.js';
import { randomPassword } from './password.js';
import { SHAPES } from './shapes.js';
import {
  AWSCURRENT,
  findVersion,
  hasValue,
  randomArnSuffix,
  type SecretRecord,
  type SecretStore,
  type VersionRecord,
  versionWithStage,
} from './store.js';
import { bool, checkLength, checkShape, type Input, type InputShape, int, str } from './validate.js';
import { addVersion, updateSecretVersionStage } from './versions.js';

const NAME_RE = /^[A-Za-z0-9/_+=.@!-]+$/;

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
    const handlers: Record<string, Handler> = {
      CreateSecret: (x) => this.createSecret(x),
      GetSecretValue: (x) => this.getSecretValue(x),
      PutSecretValue: (x) => this.putSecretValue(x),
      UpdateSecret: (x) => this.updateSecret(x),
      DescribeSecret: (x) => describeSecret(this, x),
      ListSecretVersionIds: (x) => listSecretVersionIds(this, x),
      ListSecrets: (x) => listSecrets(this, x),
      UpdateSecretVersionStage: (x) => updateSecretVersionStage(this, x),
      DeleteSecret: (x) => this.deleteSecret(x),
      RestoreSecret: (x) => this.restoreSecret(x),
      GetRandomPassword: (x) => ({ RandomPassword: randomPassword(x) }),
    };
    for (const [name, handler] of Object.entries(handlers)) this.define(name, SHAPES[name]!, handler);
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

  touch(secret: SecretRecord): void {
    secret.lastChangedDate = this.clock();
  }

  currentChanged(secret: SecretRecord): void {
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
    const version = addVersion(this, secret, token, value, stages ?? [AWSCURRENT]);
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
      const version = addVersion(this, secret, token!, value, [AWSCURRENT]);
      out.VersionId = version.versionId;
    } else if (changed) {
      this.touch(secret);
      this.store.save();
    }
    return out;
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

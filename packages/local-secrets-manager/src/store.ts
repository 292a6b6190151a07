import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';

export const AWSCURRENT = 'AWSCURRENT';
export const AWSPREVIOUS = 'AWSPREVIOUS';
export const AWSPENDING = 'AWSPENDING';

export interface Tag {
  Key: string;
  Value: string;
}

export interface RotationRulesInput {
  AutomaticallyAfterDays?: number;
  Duration?: string;
  ScheduleExpression?: string;
}

export interface VersionRecord {
  versionId: string;
  /** Absent for a version registered by RotateSecret before createSecret stored a value. */
  secretString?: string;
  /** Base64, exactly as received. */
  secretBinary?: string;
  /** Labels in the order they were attached. An empty list means deprecated (hidden). */
  stages: string[];
  /** Epoch ms. */
  createdDate: number;
  lastAccessedDate?: number;
}

export interface RotationRecord {
  enabled: boolean;
  lambdaArn?: string;
  rules?: RotationRulesInput;
  /** Epoch ms of the last successful rotation. */
  lastRotatedDate?: number;
  /** Epoch ms of the next window start, when enabled and scheduled. */
  nextRotationDate?: number;
  /** Epoch ms of the last RotateSecret call (a schedule never fires before its configuration). */
  scheduledFrom?: number;
  /** Epoch ms before which the scheduler does not retry a failed rotation. */
  retryAfter?: number;
}

/** A region a primary secret is replicated to (DescribeSecret's ReplicationStatus). */
export interface ReplicaRecord {
  region: string;
  kmsKeyId?: string;
  status: 'InProgress' | 'InSync' | 'Failed';
  statusMessage: string;
}

export interface SecretRecord {
  arn: string;
  name: string;
  description?: string;
  kmsKeyId?: string;
  tags: Tag[];
  createdDate: number;
  lastChangedDate: number;
  lastAccessedDate?: number;
  /** Epoch ms of the last change of AWSCURRENT (a manual change counts as a rotation for schedules). */
  currentChangedDate?: number;
  /** Set while the secret is scheduled for deletion: when DeleteSecret was called (epoch ms). */
  deletedDate?: number;
  /** When a scheduled deletion becomes final (epoch ms). */
  deletionDate?: number;
  rotation?: RotationRecord;
  /** The service that manages the secret (`rds` for an RDS-managed master secret). */
  owningService?: string;
  /** The resource policy document, as stored by PutResourcePolicy. */
  resourcePolicy?: string;
  /** Oldest first. */
  versions: VersionRecord[];
  /** Set on a replica: the region of its primary (read-only here, kept in sync by replication). */
  primaryRegion?: string;
  /** Set on a primary with replicas: where it is replicated. */
  replicas?: ReplicaRecord[];
}

interface StateFileContent {
  format: 'dbcreds-local-secrets-manager';
  version: 1;
  secrets: SecretRecord[];
}

const ARN_SUFFIX_CHARS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

export function randomArnSuffix(): string {
  const bytes = randomBytes(6);
  let out = '';
  for (const b of bytes) out += ARN_SUFFIX_CHARS[b % ARN_SUFFIX_CHARS.length];
  return out;
}

/** Versions kept beyond the 24-hour window, like AWS (100 most recent). */
const MAX_VERSIONS = 100;
const DAY_MS = 86_400_000;

/** All secrets, keyed by ARN, plus optional persistence. */
export class SecretStore {
  readonly secrets = new Map<string, SecretRecord>();
  private readonly stateFile: string | undefined;
  /** Called after every change (replication watches its primaries through it). */
  private readonly saveListeners: Array<() => void> = [];

  constructor(stateFile: string | undefined) {
    this.stateFile = stateFile;
    if (stateFile && existsSync(stateFile)) this.load(stateFile);
  }

  private load(file: string): void {
    let parsed: unknown;
    try {
      parsed = JSON.parse(readFileSync(file, 'utf8'));
    } catch (cause) {
      throw new Error(`local-secrets-manager: cannot read state file ${file}`, { cause });
    }
    const content = parsed as Partial<StateFileContent> | null;
    if (
      content?.format !== 'dbcreds-local-secrets-manager' ||
      content.version !== 1 ||
      !Array.isArray(content.secrets)
    ) {
      throw new Error(`local-secrets-manager: ${file} is not a local-secrets-manager state file (format version 1)`);
    }
    for (const s of content.secrets) this.secrets.set(s.arn, s);
  }

  /** Writes the whole state to a temporary file, then renames it over the state file (atomic on POSIX). */
  save(): void {
    for (const listener of this.saveListeners) listener();
    if (!this.stateFile) return;
    const content: StateFileContent = {
      format: 'dbcreds-local-secrets-manager',
      version: 1,
      secrets: [...this.secrets.values()],
    };
    const tmp = `${this.stateFile}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    try {
      writeFileSync(tmp, JSON.stringify(content, null, 2), { mode: 0o600 });
      renameSync(tmp, this.stateFile);
    } catch (err) {
      rmSync(tmp, { force: true });
      throw err;
    }
  }

  onSave(listener: () => void): void {
    this.saveListeners.push(listener);
  }

  /** Resolves a SecretId: name, full ARN, or partial ARN (the ARN without the `-xxxxxx` suffix). */
  find(secretId: string): SecretRecord | undefined {
    const byArn = this.secrets.get(secretId);
    if (byArn) return byArn;
    for (const s of this.secrets.values()) if (s.name === secretId) return s;
    if (secretId.startsWith('arn:')) {
      for (const s of this.secrets.values()) {
        if (s.arn.length === secretId.length + 7 && s.arn.startsWith(`${secretId}-`)) return s;
      }
    }
    return undefined;
  }

  findByName(name: string): SecretRecord | undefined {
    for (const s of this.secrets.values()) if (s.name === name) return s;
    return undefined;
  }

  /** Drops secrets whose recovery window has passed. Returns true when something was purged. */
  purgeExpired(now: number): boolean {
    let purged = false;
    for (const [arn, s] of this.secrets) {
      if (s.deletionDate !== undefined && s.deletionDate <= now) {
        this.secrets.delete(arn);
        purged = true;
      }
    }
    return purged;
  }
}

export function hasValue(v: VersionRecord): boolean {
  return v.secretString !== undefined || v.secretBinary !== undefined;
}

export function versionWithStage(secret: SecretRecord, stage: string): VersionRecord | undefined {
  return secret.versions.find((v) => v.stages.includes(stage));
}

export function findVersion(secret: SecretRecord, versionId: string): VersionRecord | undefined {
  return secret.versions.find((v) => v.versionId === versionId);
}

function detach(secret: SecretRecord, stage: string): VersionRecord | undefined {
  const holder = versionWithStage(secret, stage);
  if (holder) holder.stages = holder.stages.filter((s) => s !== stage);
  return holder;
}

/**
 * Attaches `stage` to `target`, taking it from whichever version had it. Moving AWSCURRENT also moves
 * AWSPREVIOUS to the version AWSCURRENT left (service-2.json, PutSecretValue/UpdateSecretVersionStage),
 * and takes AWSPENDING off it.
 * Returns true when AWSCURRENT changed version.
 */
export function moveStage(secret: SecretRecord, stage: string, target: VersionRecord): boolean {
  if (target.stages.includes(stage)) return false;
  const previousHolder = detach(secret, stage);
  target.stages.push(stage);
  if (stage === AWSCURRENT && previousHolder && previousHolder !== target) {
    detach(secret, AWSPREVIOUS);
    // AWS: a finished rotation leaves AWSPENDING beside AWSCURRENT; it leaves with AWSCURRENT, or the
    // next RotateSecret would see an unfinished rotation and reattempt it over the value just stored.
    removeStage(previousHolder, AWSPENDING);
    previousHolder.stages.push(AWSPREVIOUS);
    return true;
  }
  return stage === AWSCURRENT;
}

/** Removes `stage` from `version` (no AWSPREVIOUS side effect). */
export function removeStage(version: VersionRecord, stage: string): void {
  version.stages = version.stages.filter((s) => s !== stage);
}

/** Keeps the 100 most recent versions plus labelled ones and those from the last 24 h, like AWS. */
export function pruneVersions(secret: SecretRecord, now: number): void {
  if (secret.versions.length <= MAX_VERSIONS) return;
  const excess = secret.versions.length - MAX_VERSIONS;
  let dropped = 0;
  secret.versions = secret.versions.filter((v) => {
    if (dropped >= excess || v.stages.length > 0 || now - v.createdDate < DAY_MS) return true;
    dropped++;
    return false;
  });
}

/**
 * Multi-region secrets: ReplicateSecretToRegions, RemoveRegionsFromReplication, StopReplicationToReplica,
 * AddReplicaRegions on CreateSecret, read-only replicas, and the replication of every change of a primary
 * (versions, staging labels, metadata) to its replicas after a configurable lag, in order.
 */
import { invalidParameter } from './errors.js';
import { secs } from './inputs.js';
import type { SecretsService } from './service.js';
import type { ReplicaRecord, SecretRecord } from './store.js';
import { bool, type Input, str } from './validate.js';

/** AWS's answer to a change of a replica (ValidationException-free: InvalidParameterException). */
export const REPLICA_WRITE_REFUSED =
  "Operation not permitted on a replica secret. Call must be made in primary secret's region.";
/** What ReplicationStatus shows for a replica encrypted with the default key. */
const DEFAULT_KMS_KEY = 'alias/aws/secretsmanager';
const REGION_RE = /^([a-z]+-)+\d+$/;
/** Operations that change nothing, allowed on a replica (StopReplicationToReplica is called on the replica). */
const READS = new Set([
  'GetSecretValue',
  'DescribeSecret',
  'ListSecrets',
  'ListSecretVersionIds',
  'BatchGetSecretValue',
  'GetResourcePolicy',
  'GetRandomPassword',
  'ValidateResourcePolicy',
  'StopReplicationToReplica',
]);

/** What a replica copies from its primary: everything but its ARN, access dates, KMS key and replica list. */
type Snapshot = Omit<SecretRecord, 'arn' | 'lastAccessedDate' | 'kmsKeyId' | 'replicas' | 'primaryRegion'>;

interface Pending {
  timer: NodeJS.Timeout;
  seq: number;
  apply: () => void;
}

/** The ARN of a secret's replica in `region`: same account, name and suffix, another region. */
export const replicaArn = (arn: string, region: string): string => {
  const parts = arn.split(':');
  parts[3] = region;
  return parts.join(':');
};

const regionOf = (arn: string): string => arn.split(':')[3]!;

export class Replication {
  readonly #regions: Map<string, SecretsService>;
  #lagMs: number;
  /** Last snapshot scheduled per (primary ARN, replica region), so an unchanged secret is not sent again. */
  readonly #sent = new Map<string, string>();
  /** Last sequence number applied per (primary ARN, replica region): a snapshot never overtakes a newer one. */
  readonly #applied = new Map<string, number>();
  readonly #pending = new Set<Pending>();
  #seq = 0;

  constructor(regions: Map<string, SecretsService>, lagMs: number) {
    this.#regions = regions;
    this.#lagMs = lagMs;
    for (const service of regions.values()) this.#register(service);
  }

  /** Lag of changes made from now on, in ms (0: a replica is in sync when the primary's call answers). */
  setLag(ms: number): void {
    if (!Number.isFinite(ms) || ms < 0) throw new TypeError('replication lag must be a non-negative number (ms)');
    this.#lagMs = ms;
  }

  /** Applies every pending change now, in order. */
  flush(): void {
    const pending = [...this.#pending].sort((a, b) => a.seq - b.seq);
    for (const p of pending) {
      clearTimeout(p.timer);
      this.#pending.delete(p);
      p.apply();
    }
  }

  close(): void {
    for (const p of this.#pending) clearTimeout(p.timer);
    this.#pending.clear();
  }

  #register(service: SecretsService): void {
    const createSecret = service.handler('CreateSecret');
    service.define('CreateSecret', service.shape('CreateSecret'), (x) => {
      const wanted = this.#readRegions(service, x.AddReplicaRegions, undefined);
      const out = createSecret({ ...x, AddReplicaRegions: undefined }) as Record<string, unknown>;
      if (wanted.length === 0) return out;
      const secret = service.secret(out.ARN as string);
      const added = wanted.filter((w) => !secret.replicas?.some((r) => r.region === w.region));
      this.#replicate(service, secret, added, bool(x, 'ForceOverwriteReplicaSecret') ?? false);
      return { ...out, ReplicationStatus: this.#status(secret) };
    });
    service.define(
      'ReplicateSecretToRegions',
      {
        SecretId: ['string', true],
        AddReplicaRegions: ['list', true],
        ForceOverwriteReplicaSecret: ['boolean', false],
      },
      (x) => {
        const secret = service.liveSecret(str(x, 'SecretId')!);
        const wanted = this.#readRegions(service, x.AddReplicaRegions, secret);
        if (wanted.length === 0) throw invalidParameter('AddReplicaRegions must name at least one region.');
        this.#replicate(service, secret, wanted, bool(x, 'ForceOverwriteReplicaSecret') ?? false);
        return { ARN: secret.arn, ReplicationStatus: this.#status(secret) };
      },
    );
    service.define(
      'RemoveRegionsFromReplication',
      { SecretId: ['string', true], RemoveReplicaRegions: ['list', true] },
      (x) => this.#remove(service, x),
    );
    service.define('StopReplicationToReplica', { SecretId: ['string', true] }, (x) => this.#promote(service, x));
    service.addGuard((operation, input) => this.#guard(service, operation, input));
    service.store.onSave(() => this.#changed(service));
    service.replicationFields = (secret) => this.#describe(service, secret);
  }

  /** Replicas are read-only; a primary with replicas cannot be deleted (AWS's messages and types). */
  #guard(service: SecretsService, operation: string, input: Input): void {
    if (READS.has(operation)) return;
    const id = input.SecretId;
    const secret = typeof id === 'string' ? service.store.find(id) : undefined;
    if (secret === undefined) return;
    // The one change a replica takes: its own encryption key (the SDK adds a ClientRequestToken to every UpdateSecret).
    const keyOnly =
      operation === 'UpdateSecret' &&
      Object.keys(input).every((k) => ['SecretId', 'KmsKeyId', 'ClientRequestToken'].includes(k));
    if (secret.primaryRegion !== undefined && !keyOnly) throw invalidParameter(REPLICA_WRITE_REFUSED);
    if (operation === 'DeleteSecret' && secret.replicas?.length) {
      const regions = secret.replicas.map((r) => r.region).join(', ');
      throw invalidParameter(`You can't delete secret ${secret.arn} that still has replica regions [${regions}].`);
    }
  }

  #readRegions(service: SecretsService, list: unknown, secret: SecretRecord | undefined): ReplicaRecord[] {
    if (list === undefined || list === null) return [];
    const out: ReplicaRecord[] = [];
    for (const item of list as unknown[]) {
      const entry = (item ?? {}) as Input;
      const region = str(entry, 'Region');
      const kmsKeyId = str(entry, 'KmsKeyId');
      if (typeof region !== 'string' || !REGION_RE.test(region))
        throw invalidParameter(`Invalid replica region: ${String(region)}.`);
      if (kmsKeyId !== undefined && typeof kmsKeyId !== 'string')
        throw invalidParameter('KmsKeyId must be a string (key ID, ARN or alias).');
      if (region === service.region)
        throw invalidParameter(`Invalid replica region: ${region} is the region of the primary secret.`);
      if (!this.#regions.has(region))
        throw invalidParameter(
          `Invalid replica region: ${region}. This local Secrets Manager serves ${[...this.#regions.keys()].join(', ')} (option regions).`,
        );
      if (out.some((r) => r.region === region) || secret?.replicas?.some((r) => r.region === region))
        throw invalidParameter(`The secret is already replicated to ${region}.`);
      out.push({
        region,
        ...(kmsKeyId === undefined ? {} : { kmsKeyId }),
        status: 'InProgress',
        statusMessage: 'Replication in progress.',
      });
    }
    return out;
  }

  #replicate(service: SecretsService, secret: SecretRecord, added: ReplicaRecord[], force: boolean): void {
    for (const replica of added) {
      const target = this.#regions.get(replica.region)!;
      const clash = target.store.findByName(secret.name);
      if (clash && clash.arn !== replicaArn(secret.arn, replica.region)) {
        if (force) target.store.secrets.delete(clash.arn);
        else {
          replica.status = 'Failed';
          replica.statusMessage = 'Secret with this name already exists in this region';
        }
      }
      secret.replicas = [...(secret.replicas ?? []), replica];
      this.#sent.delete(`${secret.arn}|${replica.region}`);
    }
    service.touch(secret);
    service.store.save(); // schedules the first copy (#changed)
  }

  #remove(service: SecretsService, x: Input): unknown {
    const secret = service.liveSecret(str(x, 'SecretId')!);
    const regions = x.RemoveReplicaRegions as unknown[];
    if (regions.length === 0) throw invalidParameter('RemoveReplicaRegions must name at least one region.');
    for (const region of regions) {
      if (typeof region !== 'string' || !secret.replicas?.some((r) => r.region === region))
        throw invalidParameter(`The secret is not replicated to ${String(region)}.`);
    }
    for (const region of regions as string[]) {
      const target = this.#regions.get(region)!;
      const arn = replicaArn(secret.arn, region);
      if (target.store.secrets.get(arn)?.primaryRegion !== undefined) {
        target.store.secrets.delete(arn);
        target.store.save();
      }
      this.#forget(secret.arn, region);
      secret.replicas = secret.replicas!.filter((r) => r.region !== region);
    }
    if (secret.replicas?.length === 0) delete secret.replicas;
    service.touch(secret);
    service.store.save();
    return { ARN: secret.arn, ReplicationStatus: this.#status(secret) };
  }

  /** The replica becomes a standalone primary in its region; the old primary forgets it. */
  #promote(service: SecretsService, x: Input): unknown {
    const secret = service.secret(str(x, 'SecretId')!);
    const primaryRegion = secret.primaryRegion;
    if (primaryRegion === undefined)
      throw invalidParameter(
        'The secret is not a replica: call StopReplicationToReplica in the region of the replica to promote.',
      );
    const primaryService = this.#regions.get(primaryRegion);
    const primary = primaryService?.store.secrets.get(replicaArn(secret.arn, primaryRegion));
    if (primary?.replicas) {
      primary.replicas = primary.replicas.filter((r) => r.region !== service.region);
      if (primary.replicas.length === 0) delete primary.replicas;
      primaryService!.store.save();
    }
    this.#forget(replicaArn(secret.arn, primaryRegion), service.region);
    delete secret.primaryRegion;
    service.touch(secret);
    service.store.save();
    return { ARN: secret.arn };
  }

  #forget(primaryArn: string, region: string): void {
    const key = `${primaryArn}|${region}`;
    this.#sent.delete(key);
    this.#applied.set(key, this.#seq); // anything still pending for this pair is dropped
  }

  /** After any change in `service`'s region: schedule a copy of each replicated primary that changed. */
  #changed(service: SecretsService): void {
    for (const secret of service.store.secrets.values()) {
      if (!secret.replicas?.length) continue;
      const snapshot = snapshotOf(secret);
      const text = JSON.stringify(snapshot);
      for (const replica of secret.replicas) {
        if (replica.status === 'Failed') continue;
        const key = `${secret.arn}|${replica.region}`;
        if (this.#sent.get(key) === text) continue;
        this.#sent.set(key, text);
        const seq = ++this.#seq;
        const apply = () => this.#apply(key, seq, service.region, secret.arn, replica.region, snapshot);
        this.#schedule(seq, apply);
      }
    }
  }

  #schedule(seq: number, apply: () => void): void {
    if (this.#lagMs === 0) {
      apply();
      return;
    }
    const p: Pending = {
      seq,
      apply,
      timer: setTimeout(() => {
        this.#pending.delete(p);
        apply();
      }, this.#lagMs),
    };
    p.timer.unref();
    this.#pending.add(p);
  }

  #apply(key: string, seq: number, primaryRegion: string, primaryArn: string, region: string, snap: Snapshot): void {
    if ((this.#applied.get(key) ?? 0) >= seq) return;
    this.#applied.set(key, seq);
    const primary = this.#regions.get(primaryRegion)!.store.secrets.get(primaryArn);
    const replica = primary?.replicas?.find((r) => r.region === region);
    if (!replica || replica.status === 'Failed') return;
    const target = this.#regions.get(region)!;
    const arn = replicaArn(primaryArn, region);
    const existing = target.store.secrets.get(arn);
    const accessed = new Map(existing?.versions.map((v) => [v.versionId, v.lastAccessedDate]));
    const record: SecretRecord = {
      ...structuredClone(snap),
      arn,
      primaryRegion,
      kmsKeyId: existing?.kmsKeyId ?? replica.kmsKeyId ?? DEFAULT_KMS_KEY,
    };
    if (existing?.lastAccessedDate !== undefined) record.lastAccessedDate = existing.lastAccessedDate;
    for (const v of record.versions) {
      const at = accessed.get(v.versionId);
      if (at !== undefined) v.lastAccessedDate = at;
    }
    target.store.secrets.set(arn, record);
    target.store.save();
    replica.status = 'InSync';
    replica.statusMessage = 'Replication succeeded';
  }

  #status(secret: SecretRecord): Record<string, unknown>[] {
    return (secret.replicas ?? []).map((r) => {
      const out: Record<string, unknown> = {
        Region: r.region,
        KmsKeyId: r.kmsKeyId ?? DEFAULT_KMS_KEY,
        Status: r.status,
        StatusMessage: r.statusMessage,
      };
      const copy = this.#regions.get(r.region)?.store.secrets.get(replicaArn(secret.arn, r.region));
      if (copy?.lastAccessedDate !== undefined) out.LastAccessedDate = secs(copy.lastAccessedDate);
      return out;
    });
  }

  /** DescribeSecret / ListSecrets: `PrimaryRegion` on a replicated secret and its replicas, `ReplicationStatus` on the primary. */
  #describe(service: SecretsService, secret: SecretRecord): Record<string, unknown> {
    if (secret.primaryRegion !== undefined) return { PrimaryRegion: secret.primaryRegion };
    if (!secret.replicas?.length) return {};
    return { PrimaryRegion: regionOf(secret.arn) ?? service.region, ReplicationStatus: this.#status(secret) };
  }
}

function snapshotOf(secret: SecretRecord): Snapshot {
  const { arn: _a, lastAccessedDate: _l, kmsKeyId: _k, replicas: _r, primaryRegion: _p, ...rest } = secret;
  return structuredClone({
    ...rest,
    versions: rest.versions.map(({ lastAccessedDate: _v, ...v }) => v),
  });
}

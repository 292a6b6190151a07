/**
 * A Secrets Manager model for the simulation: one secret's versions and staging labels, as the service
 * moves them (PutSecretValue with AWSPENDING, UpdateSecretVersionStage moving AWSCURRENT and
 * AWSPREVIOUS), and the account's request quotas as token buckets per API: a request finding its bucket
 * empty gets a ThrottlingException. Quotas (AWS Secrets Manager quotas page, and "What's new"
 * 2025-03-04): GetSecretValue 10,000/s, DescribeSecret 40,000/s, the combined write APIs
 * (PutSecretValue, UpdateSecretVersionStage, UpdateSecret, …) 50/s, RotateSecret 50/s. AWS does not
 * document a burst size: each bucket holds `burstMs` of its rate (default one second).
 */
import type { VirtualTime } from './virtual-time.js';

export type Api = 'GetSecretValue' | 'DescribeSecret' | 'Writes' | 'RotateSecret';
export const APIS: readonly Api[] = ['GetSecretValue', 'DescribeSecret', 'Writes', 'RotateSecret'];

export const QUOTAS: Readonly<Record<Api, number>> = {
  GetSecretValue: 10_000,
  DescribeSecret: 40_000,
  Writes: 50,
  RotateSecret: 50,
};

/** Who made a request: a process's source (directly), a host's agent, or the rotation function. */
export type Caller = 'fleet' | 'agent' | 'rotation';

class TokenBucket {
  #tokens: number;
  #at: number;
  readonly #capacity: number;
  constructor(
    readonly rate: number,
    burstMs: number,
    now: number,
  ) {
    this.#capacity = Math.max(1, (rate * burstMs) / 1000);
    this.#tokens = this.#capacity;
    this.#at = now;
  }
  take(now: number): boolean {
    this.#tokens = Math.min(this.#capacity, this.#tokens + ((now - this.#at) / 1000) * this.rate);
    this.#at = now;
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }
}

interface Version {
  id: string;
  secretString: string;
  created: number;
  stages: Set<string>;
}

/** An AWS SDK-shaped service error (what @smithy/service-error-classification reads). */
export function serviceError(name: string, status: number, message: string): Error {
  return Object.assign(new Error(message), {
    name,
    $fault: status >= 500 ? 'server' : 'client',
    $metadata: { httpStatusCode: status },
  });
}

export interface SmModelOptions {
  /** Answer latency of every request, ms. */
  latencyMs: number;
  /** GetSecretValue requests per second the rest of the account makes (takes from the same quota). */
  backgroundGsvTps: number;
  /** Bucket size as ms of the rate (1000: a full second of requests may come at once). */
  burstMs: number;
}

export class SecretsManagerModel {
  readonly arn = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:app/db-AbCdEf';
  readonly name = 'app/db';
  readonly #vt: VirtualTime;
  readonly #o: SmModelOptions;
  readonly #buckets = new Map<Api, TokenBucket>();
  readonly #versions = new Map<string, Version>();
  #nextId = 1;
  /** Per API: requests per simulated second (index = second since start), and throttled ones. */
  readonly perSecond = new Map<Api, { requests: number[]; throttled: number[] }>();
  /** Requests per caller and API. */
  readonly byCaller = new Map<string, number>();
  readonly #start: number;

  constructor(vt: VirtualTime, o: SmModelOptions) {
    this.#vt = vt;
    this.#o = o;
    this.#start = vt.now;
    for (const api of APIS) {
      const rate = api === 'GetSecretValue' ? Math.max(1, QUOTAS[api] - o.backgroundGsvTps) : QUOTAS[api];
      this.#buckets.set(api, new TokenBucket(rate, o.burstMs, vt.now));
      this.perSecond.set(api, { requests: [], throttled: [] });
    }
  }

  /** The fleet's share of a quota (GetSecretValue: the quota minus the background load). */
  available(api: Api): number {
    return this.#buckets.get(api)!.rate;
  }

  /** Creates the first version (AWSCURRENT), uncounted: the secret exists before the run. */
  seed(secretString: string): string {
    return this.#add(secretString, ['AWSCURRENT']);
  }

  /** One request: counted, throttled when its bucket is empty, answered after the latency. */
  request<T>(api: Api, caller: Caller, answer: () => T): Promise<T> {
    const now = this.#vt.now;
    const sec = Math.floor((now - this.#start) / 1000);
    const c = this.perSecond.get(api)!;
    c.requests[sec] = (c.requests[sec] ?? 0) + 1;
    const key = `${caller}:${api}`;
    this.byCaller.set(key, (this.byCaller.get(key) ?? 0) + 1);
    const ok = this.#buckets.get(api)!.take(now);
    if (!ok) c.throttled[sec] = (c.throttled[sec] ?? 0) + 1;
    return new Promise<T>((resolve, reject) => {
      setTimeout(() => {
        if (!ok) return reject(serviceError('ThrottlingException', 400, 'Rate exceeded'));
        try {
          resolve(answer());
        } catch (err) {
          reject(err);
        }
      }, this.#o.latencyMs);
    });
  }

  /** GetSecretValue by stage, in the SDK's output shape. */
  getSecretValue(stage: string): {
    ARN: string;
    Name: string;
    VersionId: string;
    SecretString: string;
    VersionStages: string[];
    CreatedDate: Date;
  } {
    const v = this.#byStage(stage);
    if (v === undefined)
      throw serviceError(
        'ResourceNotFoundException',
        400,
        `Secrets Manager can't find the specified secret value for staging label: ${stage}`,
      );
    return {
      ARN: this.arn,
      Name: this.name,
      VersionId: v.id,
      SecretString: v.secretString,
      VersionStages: [...v.stages],
      CreatedDate: new Date(v.created),
    };
  }

  /** DescribeSecret's VersionIdsToStages. */
  versionIdsToStages(): Record<string, string[]> {
    const out: Record<string, string[]> = {};
    for (const v of this.#versions.values()) if (v.stages.size > 0) out[v.id] = [...v.stages];
    return out;
  }

  /** PutSecretValue(VersionStages: [AWSPENDING]): moves AWSPENDING to a new version. */
  putPending(secretString: string): string {
    return this.#add(secretString, ['AWSPENDING']);
  }

  /** UpdateSecretVersionStage(AWSCURRENT → id): AWSPREVIOUS follows; AWSPENDING stays (as the templates leave it). */
  promote(id: string): void {
    const current = this.#byStage('AWSCURRENT');
    if (current?.id === id) return;
    for (const v of this.#versions.values()) v.stages.delete('AWSPREVIOUS');
    if (current) {
      current.stages.delete('AWSCURRENT');
      current.stages.add('AWSPREVIOUS');
    }
    this.#versions.get(id)!.stages.add('AWSCURRENT');
  }

  #add(secretString: string, stages: string[]): string {
    const id = `v${String(this.#nextId++).padStart(4, '0')}-0000-4000-8000-000000000000`;
    for (const s of stages) for (const v of this.#versions.values()) v.stages.delete(s);
    this.#versions.set(id, { id, secretString, created: this.#vt.now, stages: new Set(stages) });
    return id;
  }

  #byStage(stage: string): Version | undefined {
    for (const v of this.#versions.values()) if (v.stages.has(stage)) return v;
    return undefined;
  }
}

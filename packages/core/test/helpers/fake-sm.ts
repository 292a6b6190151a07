/**
 * In-memory GetSecretValue for unit tests: versions with staging labels, call log, injected failures
 * and an optional gate to hold calls in flight. Integration tests use the real SDK + local SM instead.
 */
import type { GetSecretValueCommand, GetSecretValueCommandOutput } from '@aws-sdk/client-secrets-manager';

export interface DbSecret {
  username: string;
  password: string;
  engine?: string;
  host?: string;
  port?: number | string;
  dbname?: string;
  [key: string]: unknown;
}

export class AwsLikeError extends Error {
  readonly $metadata: { httpStatusCode?: number };
  readonly $fault: 'client' | 'server';
  constructor(name: string, status: number, message = `${name} (fake)`) {
    super(message);
    this.name = name;
    this.$metadata = { httpStatusCode: status };
    this.$fault = status >= 500 ? 'server' : 'client';
  }
}

export function connRefused(): Error {
  return Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED', errno: -111 });
}

interface Version {
  id: string;
  value: string | undefined;
  binary?: Uint8Array;
  stages: Set<string>;
}

export class FakeSecretsManager {
  readonly calls: Array<{ SecretId?: string; VersionStage?: string }> = [];
  readonly versions: Version[] = [];
  /** Errors thrown by the next calls, in order (consumed). */
  readonly failures: unknown[] = [];
  /** When set, every call waits for it (to hold calls in flight). */
  gate: Promise<void> | undefined;
  /** When set, every call fails with this (not consumed). */
  down: unknown;
  #n = 0;

  constructor(readonly secretId = 'app/db') {}

  put(secret: DbSecret | string | undefined, stages: string[] = ['AWSCURRENT']): string {
    const id = `v${++this.#n}-${'0'.repeat(8)}`;
    for (const v of this.versions) for (const s of stages) v.stages.delete(s);
    this.versions.push({
      id,
      value: secret === undefined ? undefined : typeof secret === 'string' ? secret : JSON.stringify(secret),
      stages: new Set(stages),
    });
    return id;
  }

  putBinary(bytes: Uint8Array): string {
    const id = this.put(undefined);
    this.versions.find((v) => v.id === id)!.binary = bytes;
    return id;
  }

  /** Moves `stage` to `versionId` (removing it elsewhere). */
  label(stage: string, versionId: string | undefined): void {
    for (const v of this.versions) v.stages.delete(stage);
    if (versionId) this.versions.find((v) => v.id === versionId)!.stages.add(stage);
  }

  count(stage?: string): number {
    return stage ? this.calls.filter((c) => c.VersionStage === stage).length : this.calls.length;
  }

  /** The `abortSignal` option of each call (core passes one per attempt). */
  readonly signals: Array<AbortSignal | undefined> = [];

  readonly send = async (
    command: GetSecretValueCommand,
    options?: { abortSignal?: AbortSignal },
  ): Promise<GetSecretValueCommandOutput> => {
    const input = command.input;
    this.calls.push({ SecretId: input.SecretId, VersionStage: input.VersionStage });
    this.signals.push(options?.abortSignal);
    if (this.gate) await this.gate;
    if (this.failures.length > 0) throw this.failures.shift();
    if (this.down !== undefined) throw this.down;
    if (input.SecretId !== this.secretId) throw new AwsLikeError('ResourceNotFoundException', 400);
    const stage = input.VersionStage ?? 'AWSCURRENT';
    const v = this.versions.find((x) => x.stages.has(stage));
    if (!v || (v.value === undefined && v.binary === undefined)) {
      throw new AwsLikeError(
        'ResourceNotFoundException',
        400,
        `can't find the specified secret value for staging label: ${stage}`,
      );
    }
    return {
      $metadata: { httpStatusCode: 200 },
      ARN: `arn:aws:secretsmanager:us-east-1:000000000000:secret:${this.secretId}`,
      Name: this.secretId,
      VersionId: v.id,
      VersionStages: [...v.stages],
      ...(v.binary ? { SecretBinary: v.binary } : { SecretString: v.value }),
    };
  };
}

export function manualClock(start = 1_000_000): { now(): number; t: number; advance(ms: number): void } {
  return {
    t: start,
    now() {
      return this.t;
    },
    advance(ms: number) {
      this.t += ms;
    },
  };
}

export function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

export const SECRET_A: DbSecret = {
  engine: 'postgres',
  host: 'db.example.internal',
  port: 5432,
  username: 'app',
  password: 'pw-A-s3cr3t',
  dbname: 'appdb',
};
export const SECRET_B: DbSecret = { ...SECRET_A, password: 'pw-B-s3cr3t' };
export const SECRET_C: DbSecret = { ...SECRET_A, password: 'pw-C-s3cr3t' };

/**
 * The project's own local Secrets Manager, driven by the real AWS SDK client over HTTP.
 */
import { randomBytes } from 'node:crypto';
import {
  CreateSecretCommand,
  DescribeSecretCommand,
  PutSecretValueCommand,
  SecretsManagerClient,
  UpdateSecretVersionStageCommand,
} from '@aws-sdk/client-secrets-manager';
import { type LocalSecretsManager, startLocalSecretsManager } from '@dbcreds/local-secrets-manager';
import type { EngineName } from './servers.js';
import { serverFor } from './servers.js';

export interface TestSecretsManager {
  sm: LocalSecretsManager;
  /** With `agent`: what `createCredentialSource({ agent })` needs to read through the agent endpoint. */
  agent: { endpoint: string; token: string } | undefined;
  /** A real SecretsManagerClient pointed at `sm` (region us-east-1, dummy credentials). */
  client: SecretsManagerClient;
  endpoint: string;
  /** Destroys the client and stops the server (idempotent). */
  close(): Promise<void>;
}

export interface StartTestSecretsManagerOptions {
  /** SDK attempts per call (default 2: keeps "SM unreachable" tests fast). */
  maxAttempts?: number;
  /** Also start the Secrets Manager Agent-compatible endpoint (TTL in ms; default the agent's 300 s). */
  agent?: boolean | { ttlMs?: number };
}

export async function startTestSecretsManager(opts: StartTestSecretsManagerOptions = {}): Promise<TestSecretsManager> {
  const sm = await startLocalSecretsManager({ port: 0, ...(opts.agent ? { agent: opts.agent } : {}) });
  const client = newSecretsManagerClient(sm.endpoint, opts.maxAttempts ?? 2);
  let closed = false;
  return {
    sm,
    agent: sm.agent ? { endpoint: sm.agent.endpoint, token: sm.agent.token } : undefined,
    client,
    endpoint: sm.endpoint,
    async close() {
      if (closed) return;
      closed = true;
      client.destroy();
      await sm.close();
    },
  };
}

/** A real SDK client for a local endpoint (dummy credentials: the local server does not verify SigV4). */
export function newSecretsManagerClient(endpoint: string, maxAttempts = 2): SecretsManagerClient {
  return new SecretsManagerClient({
    region: 'us-east-1',
    endpoint,
    maxAttempts,
    credentials: { accessKeyId: 'AKIDLOCALTEST', secretAccessKey: 'local-test-secret' },
  });
}

/** The JSON shape RDS/Secrets Manager rotation templates use. */
export interface DbSecretValue {
  engine: 'postgres' | 'mysql' | 'mariadb';
  host: string;
  port: number;
  username: string;
  password: string;
  dbname?: string;
  masterarn?: string;
}

/** The secret value for `creds` on the test server of `engine` (host/port/dbname filled in). */
export function dbSecretFor(engine: EngineName, creds: { username: string; password: string }): DbSecretValue {
  const s = serverFor(engine);
  return {
    engine: engine === 'postgres' ? 'postgres' : 'mysql',
    host: s.host,
    port: s.port,
    username: creds.username,
    password: creds.password,
    dbname: s.database,
  };
}

/** A unique secret name for tests. */
export function uniqueSecretName(prefix = 'test'): string {
  return `dbcreds/${prefix}/${randomBytes(4).toString('hex')}`;
}

/**
 * Writes `value` as a new version. Creates the secret (AWSCURRENT) when it does not exist yet;
 * otherwise PutSecretValue with `stages` (default `['AWSCURRENT']`, which moves AWSCURRENT).
 * Resolves to the new VersionId.
 */
export async function putDbSecret(
  client: SecretsManagerClient,
  secretId: string,
  value: DbSecretValue,
  stages: string[] = ['AWSCURRENT'],
): Promise<string> {
  const SecretString = JSON.stringify(value);
  try {
    const out = await client.send(
      new PutSecretValueCommand({ SecretId: secretId, SecretString, VersionStages: stages }),
    );
    return out.VersionId!;
  } catch (err) {
    if ((err as { name?: string }).name !== 'ResourceNotFoundException') throw err;
  }
  const out = await client.send(new CreateSecretCommand({ Name: secretId, SecretString }));
  if (stages.length !== 1 || stages[0] !== 'AWSCURRENT') {
    throw new Error(`putDbSecret: a new secret always starts as AWSCURRENT (asked for ${stages.join(',')})`);
  }
  return out.VersionId!;
}

/** VersionId currently holding `stage`, if any. */
export async function versionWithStage(
  client: SecretsManagerClient,
  secretId: string,
  stage: string,
): Promise<string | undefined> {
  const out = await client.send(new DescribeSecretCommand({ SecretId: secretId }));
  for (const [id, stages] of Object.entries(out.VersionIdsToStages ?? {})) {
    if (stages.includes(stage)) return id;
  }
  return undefined;
}

/**
 * What finishSecret does: move AWSCURRENT to `versionId` (the old one becomes AWSPREVIOUS), then
 * remove AWSPENDING from it.
 */
export async function moveCurrent(client: SecretsManagerClient, secretId: string, versionId: string): Promise<void> {
  const current = await versionWithStage(client, secretId, 'AWSCURRENT');
  if (current !== versionId) {
    await client.send(
      new UpdateSecretVersionStageCommand({
        SecretId: secretId,
        VersionStage: 'AWSCURRENT',
        MoveToVersionId: versionId,
        RemoveFromVersionId: current,
      }),
    );
  }
  const pending = await versionWithStage(client, secretId, 'AWSPENDING');
  if (pending === versionId) {
    await client.send(
      new UpdateSecretVersionStageCommand({
        SecretId: secretId,
        VersionStage: 'AWSPENDING',
        RemoveFromVersionId: pending,
      }),
    );
  }
}

/**
 * The project's own local Secrets Manager, driven by the real AWS SDK client over HTTP.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import {
  CreateSecretCommand,
  DescribeSecretCommand,
  PutSecretValueCommand,
  SecretsManagerClient,
  UpdateSecretVersionStageCommand,
} from '@aws-sdk/client-secrets-manager';
import type { CredentialSourceOptions } from '@dbcreds/core';
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

/**
 * Every shape a database secret comes in, as the SecretString for `creds` on the test server of `engine`:
 * - `rds`: the RDS JSON (`dbSecretFor`);
 * - `rds-managed`: what RDS keeps in its `rds!cluster-…` secrets, `{"username","password"}` only (the
 *   endpoint comes from the adapter's options);
 * - `custom-keys`: nested, non-RDS keys, read with `SECRET_SHAPE_KEYS['custom-keys']` as `secretKeys`;
 * - `url-key`: a connection URL under `DATABASE_URL` (`secretKeys: { url: 'DATABASE_URL' }`);
 * - `url`: the SecretString is the URL itself.
 */
export type SecretShape = 'rds' | 'rds-managed' | 'custom-keys' | 'url-key' | 'url';

/** The `secretKeys` option that reads each shape (none for the shapes core reads as they are). */
export const SECRET_SHAPE_KEYS: Partial<Record<SecretShape, CredentialSourceOptions['secretKeys']>> = {
  'custom-keys': {
    username: 'db.login',
    password: 'db.secret',
    host: 'db.endpoint.address',
    port: 'db.endpoint.port',
    dbname: 'db.name',
    engine: 'kind',
  },
  'url-key': { url: 'DATABASE_URL' },
};

export function secretStringFor(
  shape: SecretShape,
  engine: EngineName,
  creds: { username: string; password: string },
): string {
  const s = serverFor(engine);
  const rds = dbSecretFor(engine, creds);
  const url = () =>
    `${engine === 'postgres' ? 'postgresql' : 'mysql'}://${encodeURIComponent(creds.username)}:` +
    `${encodeURIComponent(creds.password)}@${s.host}:${s.port}/${encodeURIComponent(s.database)}`;
  switch (shape) {
    case 'rds':
      return JSON.stringify(rds);
    case 'rds-managed':
      return JSON.stringify({ username: creds.username, password: creds.password });
    case 'custom-keys':
      return JSON.stringify({
        kind: rds.engine,
        db: {
          login: creds.username,
          secret: creds.password,
          endpoint: { address: s.host, port: String(s.port) },
          name: s.database,
        },
      });
    case 'url-key':
      return JSON.stringify({ DATABASE_URL: url(), NODE_ENV: 'production' });
    case 'url':
      return url();
  }
}

/** A unique secret name in the form RDS gives the secrets it manages (`rds!cluster-<uuid>`). */
export function rdsManagedSecretName(): string {
  return `rds!cluster-${randomUUID()}`;
}

/** A unique secret name for tests. */
export function uniqueSecretName(prefix = 'test'): string {
  return `dbcreds/${prefix}/${randomBytes(4).toString('hex')}`;
}

/**
 * Writes `value` (a secret object, or a SecretString as is) as a new version. Creates the secret (AWSCURRENT) when it does not exist yet;
 * otherwise PutSecretValue with `stages` (default `['AWSCURRENT']`, which moves AWSCURRENT).
 * Resolves to the new VersionId.
 */
export async function putDbSecret(
  client: SecretsManagerClient,
  secretId: string,
  value: DbSecretValue | string,
  stages: string[] = ['AWSCURRENT'],
): Promise<string> {
  const SecretString = typeof value === 'string' ? value : JSON.stringify(value);
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

import { randomBytes, randomUUID } from 'node:crypto';
import { inspect } from 'node:util';
import {
  DescribeSecretCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
  type SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import type { Admin, EngineName } from '@dbcreds/testbed';
import { testbedFacts } from '@dbcreds/testbed';
import { expect } from 'vitest';
import type { RotationEvent, RotationHandler } from '../src/index.js';

export const STEPS = ['createSecret', 'setSecret', 'testSecret', 'finishSecret'] as const;

/** A password with every character that breaks naive quoting: quotes, backslash, %, ?, unicode. */
export function nastyPassword(): string {
  return `p'"\\%?_;--\`$ü€😀/@:${randomBytes(6).toString('hex')}`;
}

/** A short unique user name with a quote, a double quote, a backslash, `%` and unicode. */
export function nastyUsername(): string {
  return `dbc${testbedFacts().runId.slice(0, 4)}q'"\\%ü${randomBytes(3).toString('hex')}`;
}

/** Creates a login user with an arbitrary name (quoted by the test, not the code under test). */
export async function createUserNamed(
  admin: Admin,
  engine: EngineName,
  username: string,
  password: string,
): Promise<void> {
  if (engine === 'postgres') {
    const ident = `"${username.replace(/"/g, '""')}"`;
    const lit = `'${password.replace(/'/g, "''")}'`;
    await admin.exec(`CREATE ROLE ${ident} LOGIN PASSWORD ${lit}`);
  } else {
    await admin.exec("CREATE USER ?@'%' IDENTIFIED BY ?", [username, password]);
  }
  await admin.grantDatabase(username, admin.server.database);
}

/** Emulates what RotateSecret does before createSecret: a pending version. Resolves to its token. */
export async function putPending(client: SecretsManagerClient, secretId: string, value: object): Promise<string> {
  const token = randomUUID();
  await client.send(
    new PutSecretValueCommand({
      SecretId: secretId,
      ClientRequestToken: token,
      SecretString: JSON.stringify(value),
      VersionStages: ['AWSPENDING'],
    }),
  );
  return token;
}

export async function runSteps(
  handler: RotationHandler,
  secretId: string,
  token: string,
  opts: { times?: number; steps?: readonly string[] } = {},
): Promise<void> {
  for (const Step of opts.steps ?? STEPS) {
    for (let i = 0; i < (opts.times ?? 1); i++) {
      await handler({ Step, SecretId: secretId, ClientRequestToken: token } as RotationEvent);
    }
  }
}

/** VersionIdsToStages with each label list sorted. */
export async function stagesOf(client: SecretsManagerClient, secretId: string): Promise<Record<string, string[]>> {
  const map = (await client.send(new DescribeSecretCommand({ SecretId: secretId }))).VersionIdsToStages ?? {};
  return Object.fromEntries(Object.entries(map).map(([id, stages]) => [id, [...stages].sort()]));
}

export async function valueAt(client: SecretsManagerClient, secretId: string, stage: string) {
  const out = await client.send(new GetSecretValueCommand({ SecretId: secretId, VersionStage: stage }));
  return {
    versionId: out.VersionId as string,
    ...(JSON.parse(out.SecretString as string) as Record<string, unknown>),
  } as {
    versionId: string;
    username: string;
    password: string;
  };
}

/** Asserts `err` and everything reachable from it (inspect, JSON, cause chain) mention no secret. */
export function expectNoSecrets(err: unknown, secrets: string[]): void {
  const texts = [inspect(err, { depth: 10, showHidden: true }), JSON.stringify(err) ?? '', String(err)];
  let c: unknown = err;
  while (c instanceof Error) {
    texts.push(c.message, c.stack ?? '');
    c = c.cause;
  }
  for (const s of secrets) for (const t of texts) expect(t).not.toContain(s);
}

import { existsSync } from 'node:fs';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalStack, startLocalStack } from '../src/testing.js';

describe('startLocalStack (embedded PostgreSQL)', () => {
  let stack: LocalStack;
  beforeAll(async () => {
    stack = await startLocalStack();
  });
  afterAll(async () => {
    await stack?.close();
  });

  it('creates an RDS-shaped secret whose credentials log in; a wrong password is rejected', async () => {
    // Prepare
    const client = new SecretsManagerClient(stack.clientConfig);
    // Act
    const out = await client.send(new GetSecretValueCommand({ SecretId: stack.env.DBCREDS_SECRET_ID }));
    client.destroy();
    const secret = JSON.parse(out.SecretString!);
    // Assess
    expect(Object.keys(secret).sort()).toEqual([
      'dbname',
      'engine',
      'host',
      'masterarn',
      'password',
      'port',
      'username',
    ]);
    expect(secret).toMatchObject({ engine: 'postgres', host: '127.0.0.1', port: stack.database.port });
    expect(await stack.admin.loginError(secret, stack.database.dbname)).toBeNull();
    expect(await stack.admin.loginError({ ...secret, password: 'wrong' }, stack.database.dbname)).toBe('28P01');
    expect(stack.env).toMatchObject({ AWS_REGION: 'us-east-1', AWS_ENDPOINT_URL_SECRETS_MANAGER: stack.endpoint });
    expect(JSON.stringify(stack.env)).not.toContain(secret.password);
  });

  it('rotates with both strategies through RotateSecret; old single-user password is rejected', async () => {
    const before = await stack.credentials('AWSCURRENT');
    await stack.rotate('single-user');
    const previous = await stack.credentials('AWSPREVIOUS');
    expect(previous.versionId).toBe(before.versionId);
    expect(await stack.admin.loginError(previous, stack.database.dbname)).toBe('28P01');
    await stack.rotate('alternating-users');
    const current = await stack.credentials('AWSCURRENT');
    expect(current.username).toBe(stack.usernames[1]);
    expect(await stack.admin.loginError(current, stack.database.dbname)).toBeNull();
  });

  it('close() stops the server and removes what it created (idempotent)', async () => {
    const { port } = stack.database;
    await stack.close();
    await stack.close();
    expect(await stack.admin.loginError({ username: 'x', password: 'y' }, 'x').catch((e) => e.code)).toBe(
      'ECONNREFUSED',
    );
    expect(port).toBeGreaterThan(0);
    expect(existsSync('/tmp')).toBe(true);
  });
});

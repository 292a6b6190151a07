/**
 * End to end through the real API: client.send(RotateSecretCommand) → local Secrets Manager registers
 * a value-less AWSPENDING version → drives our handler (sm.registerRotator) through the four steps.
 * This is the only path that exercises createSecret's password generation (GetRandomPassword).
 */
import { randomBytes } from 'node:crypto';
import { DescribeSecretCommand, RotateSecretCommand } from '@aws-sdk/client-secrets-manager';
import {
  type Admin,
  createAdmin,
  dbSecretFor,
  ENGINES,
  putDbSecret,
  serverFor,
  startTestSecretsManager,
  type TestSecretsManager,
  uniqueSecretName,
} from '@dbcreds/testbed';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRotationHandler, DEFAULT_EXCLUDE_CHARACTERS } from '../src/index.js';
import { valueAt } from './helpers.js';

let tsm: TestSecretsManager;
let supported = false;
beforeAll(async () => {
  tsm = await startTestSecretsManager();
  // RotateSecret lands in the local Secrets Manager separately; until then these tests skip.
  const probe = await tsm.client
    .send(new RotateSecretCommand({ SecretId: uniqueSecretName('probe') }))
    .catch((e: { name?: string }) => e);
  supported = (probe as { name?: string }).name !== 'UnknownOperationException';
});
afterAll(async () => {
  await tsm?.close();
});

async function rotate(secretId: string, lambdaArn: string): Promise<void> {
  await tsm.client.send(
    new RotateSecretCommand({
      SecretId: secretId,
      RotationLambdaARN: lambdaArn,
      RotationRules: { AutomaticallyAfterDays: 30 },
    }),
  );
  await tsm.sm.idle();
  const failure = tsm.sm.lastRotationError(secretId);
  if (failure) throw new Error(`rotation failed in ${failure.step}: ${failure.message}`);
  const d = await tsm.client.send(new DescribeSecretCommand({ SecretId: secretId }));
  expect(d.RotationEnabled).toBe(true);
}

describe.each(ENGINES)('%s via RotateSecret', (engine) => {
  let admin: Admin;
  beforeAll(async () => {
    admin = await createAdmin(engine);
  });
  afterAll(async () => {
    await admin?.close();
  });

  it('single-user: GetRandomPassword with the default exclusions; old password rejected', async (ctx) => {
    if (!supported) ctx.skip();
    const user = await admin.createUser({ prefix: 'rs' });
    const secretId = uniqueSecretName('rs-single');
    await putDbSecret(tsm.client, secretId, dbSecretFor(engine, user));
    const lambdaArn = `arn:aws:lambda:us-east-1:000000000000:function:rot-${randomBytes(4).toString('hex')}`;
    tsm.sm.registerRotator(lambdaArn, createRotationHandler({ strategy: 'single-user', client: tsm.client }));
    tsm.sm.resetCounters();

    await rotate(secretId, lambdaArn);

    const now = await valueAt(tsm.client, secretId, 'AWSCURRENT');
    expect(now.password).toHaveLength(32);
    expect([...now.password].filter((c) => DEFAULT_EXCLUDE_CHARACTERS.includes(c))).toEqual([]);
    expect(tsm.sm.callCount('GetRandomPassword')).toBe(1);
    expect(tsm.sm.callCount('PutSecretValue')).toBe(1);
    await admin.expectLoginRejected(user);
    await admin.expectLoginAccepted(now);
  });

  it('alternating-users: a wrong master password fails setSecret; AWSCURRENT stays; the retry reuses AWSPENDING', async (ctx) => {
    if (!supported) ctx.skip();
    const user = await admin.createUser({ prefix: 'rf' });
    const clone = `${user.username}_clone`;
    try {
      const masterarn = uniqueSecretName('rs-badmaster');
      const s = serverFor(engine);
      const good =
        engine === 'postgres'
          ? { username: s.adminUser, password: s.adminPassword }
          : await admin.createUser({ prefix: 'rfm' });
      if (engine === 'mysql')
        await admin.exec("GRANT ALL PRIVILEGES ON *.* TO ?@'%' WITH GRANT OPTION", [good.username]);
      await putDbSecret(tsm.client, masterarn, dbSecretFor(engine, { ...good, password: 'wrong-master-password' }));
      const secretId = uniqueSecretName('rs-fail');
      const v1 = await putDbSecret(tsm.client, secretId, { ...dbSecretFor(engine, user), masterarn });
      const lambdaArn = `arn:aws:lambda:us-east-1:000000000000:function:rot-${randomBytes(4).toString('hex')}`;
      tsm.sm.registerRotator(lambdaArn, createRotationHandler({ strategy: 'alternating-users', client: tsm.client }));

      await expect(rotate(secretId, lambdaArn)).rejects.toThrow(/rotation failed in setSecret/);
      const failure = tsm.sm.lastRotationError(secretId);
      expect(failure?.message).not.toContain('wrong-master-password');
      const stages =
        (await tsm.client.send(new DescribeSecretCommand({ SecretId: secretId }))).VersionIdsToStages ?? {};
      const pendingId = Object.keys(stages).find((id) => stages[id]?.includes('AWSPENDING'));
      expect(stages[v1]).toEqual(['AWSCURRENT']);
      expect(pendingId).toBeDefined();
      await admin.expectLoginAccepted(user);

      await putDbSecret(tsm.client, masterarn, dbSecretFor(engine, good));
      // As on AWS: RotateSecret answers InvalidRequestException and reattempts the unfinished rotation.
      await expect(rotate(secretId, lambdaArn)).rejects.toMatchObject({ name: 'InvalidRequestException' });
      await tsm.sm.idle();
      expect(tsm.sm.lastRotationError(secretId)).toBeUndefined();
      const now = await valueAt(tsm.client, secretId, 'AWSCURRENT');
      expect(now).toMatchObject({ versionId: pendingId, username: clone });
      await admin.expectLoginAccepted(now);
      await admin.expectLoginAccepted(user);
    } finally {
      await admin.dropUser(clone);
    }
  });

  it('alternating-users: three rotations flip u → u_clone → u → u_clone', async (ctx) => {
    if (!supported) ctx.skip();
    const user = await admin.createUser({ prefix: 'ra' });
    const clone = `${user.username}_clone`;
    try {
      const masterarn = uniqueSecretName('rs-master');
      if (engine === 'postgres') {
        const s = serverFor(engine);
        await putDbSecret(
          tsm.client,
          masterarn,
          dbSecretFor(engine, { username: s.adminUser, password: s.adminPassword }),
        );
      } else {
        const m = await admin.createUser({ prefix: 'rm' });
        await admin.exec("GRANT ALL PRIVILEGES ON *.* TO ?@'%' WITH GRANT OPTION", [m.username]);
        await putDbSecret(tsm.client, masterarn, dbSecretFor(engine, m));
      }
      const secretId = uniqueSecretName('rs-alt');
      await putDbSecret(tsm.client, secretId, { ...dbSecretFor(engine, user), masterarn });
      const lambdaArn = `arn:aws:lambda:us-east-1:000000000000:function:rot-${randomBytes(4).toString('hex')}`;
      tsm.sm.registerRotator(lambdaArn, createRotationHandler({ strategy: 'alternating-users', client: tsm.client }));
      const users: string[] = [];
      for (let i = 0; i < 3; i++) {
        const before = await valueAt(tsm.client, secretId, 'AWSCURRENT');
        await rotate(secretId, lambdaArn);
        const now = await valueAt(tsm.client, secretId, 'AWSCURRENT');
        users.push(now.username);
        await admin.expectLoginAccepted(now);
        await admin.expectLoginAccepted(before);
      }
      expect(users).toEqual([clone, user.username, clone]);
      await admin.expectLoginRejected(user);
    } finally {
      await admin.dropUser(clone);
    }
  });
});

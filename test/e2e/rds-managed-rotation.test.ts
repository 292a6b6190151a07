/**
 * The local Secrets Manager's RDS-managed mode against real servers (issue #24): the managed rotation
 * changes the database password through its callback, in both orders, and the secret ends on a password
 * the server accepts while the old one is refused.
 */
import { GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Admin, createAdmin, ENGINES, startTestSecretsManager, type TestSecretsManager } from '../src/index.js';

const CLUSTER_ARN = 'arn:aws:rds:us-east-1:000000000000:cluster:managed-e2e';

describe.each(ENGINES)('%s: RDS-managed rotation', (engine) => {
  let admin: Admin;
  let sm: TestSecretsManager;
  beforeAll(async () => {
    admin = await createAdmin(engine);
    sm = await startTestSecretsManager();
  });
  afterAll(async () => {
    await sm?.close();
    await admin?.close();
  });

  it.each(['pending-first', 'change-first'] as const)(
    '%s: the database takes the new password, the old one is refused, AWSCURRENT holds the new one',
    async (order) => {
      const user = await admin.createUser({ prefix: 'rdsmanaged' });
      const changes: string[] = [];
      const { arn } = sm.sm.createRdsManagedSecret({
        resourceArn: CLUSTER_ARN,
        username: user.username,
        password: user.password,
        rotation: {
          order,
          changePassword: async (c) => {
            changes.push(c.username);
            await admin.setPassword(c.username, c.password);
          },
        },
      });
      expect(await sm.sm.rotateManagedSecret(arn)).toBeUndefined();
      expect(changes).toEqual([user.username]);
      await admin.expectLoginRejected(user);
      const current = await sm.client.send(new GetSecretValueCommand({ SecretId: arn }));
      const creds = JSON.parse(current.SecretString!) as { username: string; password: string };
      expect(creds.username).toBe(user.username);
      expect(creds.password).not.toBe(user.password);
      await admin.expectLoginAccepted(creds);
    },
  );
});

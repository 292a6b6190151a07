import {
  DeleteSecretCommand,
  DescribeSecretCommand,
  GetSecretValueCommand,
  ListSecretsCommand,
  PutSecretValueCommand,
  RotateSecretCommand,
  UpdateSecretCommand,
  UpdateSecretVersionStageCommand,
} from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ManagedPasswordChange, ManagedRotationOptions } from '../src/index.js';
import { errorOf, type Harness, startHarness, token } from './helpers.js';

/**
 * Issue #24: secrets as RDS creates them when it manages a master password in Secrets Manager, and the
 * rotation RDS runs itself (no Lambda), with the database change behind a callback.
 */
const CLUSTER_ARN = 'arn:aws:rds:us-east-1:000000000000:cluster:orders';
const INSTANCE_ARN = 'arn:aws:rds:us-east-1:000000000000:db:orders-1';
let h: Harness;

beforeAll(async () => {
  h = await startHarness({ schedulerIntervalMs: 0 });
});
afterAll(async () => {
  await h.close();
});

/** What the database saw, and what a client reading the secret saw at the moment of the change. */
interface Observation {
  change: ManagedPasswordChange;
  current: string;
  pending: string;
}

function recordingRotation(order: ManagedRotationOptions['order'], seen: Observation[]): ManagedRotationOptions {
  return {
    order,
    changePassword: async (change) => {
      const current = await h.client.send(new GetSecretValueCommand({ SecretId: change.secretArn }));
      let pending: string;
      try {
        const p = await h.client.send(
          new GetSecretValueCommand({ SecretId: change.secretArn, VersionStage: 'AWSPENDING' }),
        );
        pending = JSON.parse(p.SecretString!).password;
      } catch (err) {
        pending = (err as Error).name;
      }
      seen.push({ change, current: JSON.parse(current.SecretString!).password, pending });
    },
  };
}

describe('RDS-managed secrets', () => {
  it('are created as RDS does: rds!cluster- name, OwningService rds, the aws:rds tag, {username, password}, rotation on without a Lambda', async () => {
    const created = h.sm.createRdsManagedSecret({
      resourceArn: CLUSTER_ARN,
      username: 'admin',
      password: 'initial-pw',
    });
    expect(created.name).toMatch(/^rds!cluster-[0-9a-f-]{36}$/);
    const d = await h.client.send(new DescribeSecretCommand({ SecretId: created.arn }));
    expect(d).toMatchObject({
      Name: created.name,
      OwningService: 'rds',
      RotationEnabled: true,
      RotationRules: { AutomaticallyAfterDays: 7, ScheduleExpression: 'rate(7 days)' },
      Tags: [{ Key: 'aws:rds:primaryDBClusterArn', Value: CLUSTER_ARN }],
    });
    expect(d).not.toHaveProperty('RotationLambdaARN');
    const value = await h.client.send(new GetSecretValueCommand({ SecretId: created.name }));
    expect(JSON.parse(value.SecretString!)).toEqual({ username: 'admin', password: 'initial-pw' });
    const listed = await h.client.send(
      new ListSecretsCommand({ Filters: [{ Key: 'owning-service', Values: ['rds'] }] }),
    );
    expect(listed.SecretList?.map((s) => s.Name)).toContain(created.name);

    const instance = h.sm.createRdsManagedSecret({ resourceArn: INSTANCE_ARN, username: 'admin', password: 'pw' });
    expect(instance.name).toMatch(/^rds!db-/);
    const di = await h.client.send(new DescribeSecretCommand({ SecretId: instance.arn }));
    expect(di.Tags).toEqual([{ Key: 'aws:rds:primaryDBInstanceArn', Value: INSTANCE_ARN }]);
  });

  it('a secret managed by another service cannot be changed through Secrets Manager (InvalidRequestException)', async () => {
    const { arn, versionId } = h.sm.createRdsManagedSecret({
      resourceArn: CLUSTER_ARN,
      username: 'admin',
      password: 'pw',
    });
    const attempts = [
      new PutSecretValueCommand({ SecretId: arn, SecretString: '{}' }),
      new UpdateSecretCommand({ SecretId: arn, SecretString: '{}' }),
      new UpdateSecretVersionStageCommand({ SecretId: arn, VersionStage: 'AWSPENDING', MoveToVersionId: versionId }),
      new DeleteSecretCommand({ SecretId: arn }),
      new RotateSecretCommand({ SecretId: arn, RotationLambdaARN: 'arn:aws:lambda:us-east-1:000000000000:function:x' }),
    ];
    for (const command of attempts) {
      const err = await errorOf(h.client.send(command as never));
      expect(err.name).toBe('InvalidRequestException');
      expect(err.message).toMatch(/managed by rds/);
    }
    const value = await h.client.send(new GetSecretValueCommand({ SecretId: arn }));
    expect(JSON.parse(value.SecretString!).password).toBe('pw');
  });

  it('RotateSecret without a Lambda ARN runs the managed rotation: AWSPENDING staged before the password change (pending-first)', async () => {
    const seen: Observation[] = [];
    const { arn } = h.sm.createRdsManagedSecret({
      resourceArn: CLUSTER_ARN,
      username: 'admin',
      password: 'old-pw',
      rotation: recordingRotation('pending-first', seen),
    });
    const v2 = token('rds2');
    const out = await h.client.send(new RotateSecretCommand({ SecretId: arn, ClientRequestToken: v2 }));
    expect(out.VersionId).toBe(v2);
    expect(h.sm.lastRotationError(arn)).toBeUndefined();
    expect(seen).toHaveLength(1);
    const [obs] = seen;
    expect(obs!.change.username).toBe('admin');
    expect(obs!.change.versionId).toBe(v2);
    // When the database changed, clients still read the old AWSCURRENT and could find the new one in AWSPENDING.
    expect(obs!.current).toBe('old-pw');
    expect(obs!.pending).toBe(obs!.change.password);
    const now = await h.client.send(new GetSecretValueCommand({ SecretId: arn }));
    expect(JSON.parse(now.SecretString!)).toEqual({ username: 'admin', password: obs!.change.password });
    expect(now.VersionId).toBe(v2);
    expect(obs!.change.password).not.toMatch(/[/@"' ]/);
  });

  it('the managed rotation can change the database first (change-first): no new value is readable before the change', async () => {
    const seen: Observation[] = [];
    const { arn } = h.sm.createRdsManagedSecret({
      resourceArn: INSTANCE_ARN,
      username: 'admin',
      password: 'old-pw',
      rotation: recordingRotation('change-first', seen),
    });
    expect(await h.sm.rotateManagedSecret(arn)).toBeUndefined();
    expect(seen).toHaveLength(1);
    expect(seen[0]!.current).toBe('old-pw');
    expect(seen[0]!.pending).toBe('ResourceNotFoundException');
    const now = await h.client.send(new GetSecretValueCommand({ SecretId: arn }));
    expect(JSON.parse(now.SecretString!).password).toBe(seen[0]!.change.password);
    const previous = await h.client.send(new GetSecretValueCommand({ SecretId: arn, VersionStage: 'AWSPREVIOUS' }));
    expect(JSON.parse(previous.SecretString!).password).toBe('old-pw');
  });

  it('a failed password change leaves AWSCURRENT in place, and the next rotation resumes the same version', async () => {
    let fail = true;
    const changes: string[] = [];
    const { arn } = h.sm.createRdsManagedSecret({
      resourceArn: CLUSTER_ARN,
      username: 'admin',
      password: 'old-pw',
      rotation: {
        changePassword: async (c) => {
          changes.push(c.versionId);
          if (fail) throw new Error('database unreachable');
        },
      },
    });
    const failure = await h.sm.rotateManagedSecret(arn);
    expect(failure).toMatchObject({ step: 'setSecret', message: 'database unreachable' });
    const still = await h.client.send(new GetSecretValueCommand({ SecretId: arn }));
    expect(JSON.parse(still.SecretString!).password).toBe('old-pw');
    fail = false;
    // AWS's answer to a new RotateSecret while a rotation is unfinished: it reattempts that one.
    const err = await errorOf(h.client.send(new RotateSecretCommand({ SecretId: arn })));
    expect(err.name).toBe('InvalidRequestException');
    expect(changes).toHaveLength(2);
    expect(changes[1]).toBe(changes[0]);
    const after = await h.client.send(new GetSecretValueCommand({ SecretId: arn }));
    expect(after.VersionId).toBe(changes[0]);
  });

  it('RotateSecret on a managed secret without a registered rotation is refused with a message that says how to add one', async () => {
    const { arn } = h.sm.createRdsManagedSecret({ resourceArn: CLUSTER_ARN, username: 'admin', password: 'pw' });
    const err = await errorOf(h.client.send(new RotateSecretCommand({ SecretId: arn })));
    expect(err.name).toBe('InvalidRequestException');
    expect(err.message).toMatch(/setManagedRotation/);
    h.sm.setManagedRotation(arn, { changePassword: async () => {} });
    expect(await h.sm.rotateManagedSecret(arn)).toBeUndefined();
  });

  it('the managed rotation also runs on its schedule: rate(7 days) by default', async () => {
    let now = Date.UTC(2026, 0, 5, 12, 0, 0);
    const timed = await startHarness({ clock: () => now, schedulerIntervalMs: 0 });
    try {
      const changes: string[] = [];
      const { arn } = timed.sm.createRdsManagedSecret({
        resourceArn: CLUSTER_ARN,
        username: 'admin',
        password: 'pw',
        rotation: { changePassword: async (c) => void changes.push(c.password) },
      });
      const next = (await timed.client.send(new DescribeSecretCommand({ SecretId: arn }))).NextRotationDate;
      expect(next?.getTime()).toBe(Date.UTC(2026, 0, 12));
      now = Date.UTC(2026, 0, 11, 23, 59);
      expect(await timed.sm.runDueRotations()).toEqual([]);
      now = Date.UTC(2026, 0, 12, 0, 1);
      const results = await timed.sm.runDueRotations();
      expect(results.map((r) => r.ok)).toEqual([true]);
      expect(changes).toHaveLength(1);
      const current = await timed.client.send(new GetSecretValueCommand({ SecretId: arn }));
      expect(JSON.parse(current.SecretString!).password).toBe(changes[0]);
    } finally {
      await timed.close();
    }
  });
});

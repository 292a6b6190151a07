import {
  CreateSecretCommand,
  DescribeSecretCommand,
  GetSecretValueCommand,
  ListSecretVersionIdsCommand,
  PutSecretValueCommand,
  UpdateSecretCommand,
  UpdateSecretVersionStageCommand,
} from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, startHarness, token, uniqueName } from './helpers.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h.close();
});

/** VersionIdsToStages with sorted label lists (AWS's snapshots show them sorted). */
async function stages(secretId: string): Promise<Record<string, string[]>> {
  const d = await h.client.send(new DescribeSecretCommand({ SecretId: secretId }));
  return Object.fromEntries(Object.entries(d.VersionIdsToStages ?? {}).map(([k, v]) => [k, [...v].sort()]));
}

describe('staging labels', () => {
  it('replays the AWS-recorded current/pending cycle (LocalStack snapshot, rotation-protocol §1.3)', async () => {
    // Prepare
    const name = uniqueName();
    const [v1, v2, v3] = [token('v1'), token('v2'), token('v3')];
    // Act + Assess, step by step as recorded on AWS
    await h.client.send(new CreateSecretCommand({ Name: name, SecretString: 'S1', ClientRequestToken: v1 }));
    expect(await stages(name)).toEqual({ [v1]: ['AWSCURRENT'] });

    await h.client.send(
      new PutSecretValueCommand({
        SecretId: name,
        SecretString: 'S2',
        ClientRequestToken: v2,
        VersionStages: ['AWSPENDING'],
      }),
    );
    expect(await stages(name)).toEqual({ [v1]: ['AWSCURRENT'], [v2]: ['AWSPENDING'] });

    await h.client.send(
      new UpdateSecretVersionStageCommand({
        SecretId: name,
        VersionStage: 'AWSCURRENT',
        MoveToVersionId: v2,
        RemoveFromVersionId: v1,
      }),
    );
    expect(await stages(name)).toEqual({ [v1]: ['AWSPREVIOUS'], [v2]: ['AWSCURRENT', 'AWSPENDING'] });

    await h.client.send(
      new PutSecretValueCommand({
        SecretId: name,
        SecretString: 'S3',
        ClientRequestToken: v3,
        VersionStages: ['AWSPENDING'],
      }),
    );
    expect(await stages(name)).toEqual({ [v1]: ['AWSPREVIOUS'], [v2]: ['AWSCURRENT'], [v3]: ['AWSPENDING'] });

    await h.client.send(
      new UpdateSecretVersionStageCommand({
        SecretId: name,
        VersionStage: 'AWSCURRENT',
        MoveToVersionId: v3,
        RemoveFromVersionId: v2,
      }),
    );
    expect(await stages(name)).toEqual({ [v2]: ['AWSPREVIOUS'], [v3]: ['AWSCURRENT', 'AWSPENDING'] });

    // v1 is labelless: hidden, but still listed with IncludeDeprecated and readable by VersionId.
    const listed = await h.client.send(new ListSecretVersionIdsCommand({ SecretId: name }));
    expect(listed.Versions?.map((v) => v.VersionId).sort()).toEqual([v2, v3].sort());
    const all = await h.client.send(new ListSecretVersionIdsCommand({ SecretId: name, IncludeDeprecated: true }));
    // AWS: a deprecated version carries no VersionStages member at all (not an empty list).
    const deprecated = all.Versions?.find((v) => v.VersionId === v1);
    expect(deprecated).toBeDefined();
    expect(deprecated).not.toHaveProperty('VersionStages');
    const old = await h.client.send(new GetSecretValueCommand({ SecretId: name, VersionId: v1 }));
    expect(old.SecretString).toBe('S1');
    const cur = await h.client.send(new GetSecretValueCommand({ SecretId: name }));
    expect(cur.SecretString).toBe('S3');
  });

  it('PutSecretValue without VersionStages moves AWSCURRENT and AWSPREVIOUS, keeping custom labels', async () => {
    const name = uniqueName();
    const [v1, v2, v3] = [token('a1'), token('a2'), token('a3')];
    await h.client.send(new CreateSecretCommand({ Name: name, SecretString: 'one', ClientRequestToken: v1 }));
    await h.client.send(
      new UpdateSecretVersionStageCommand({ SecretId: name, VersionStage: 'CUSTOM', MoveToVersionId: v1 }),
    );
    const put = await h.client.send(
      new PutSecretValueCommand({ SecretId: name, SecretString: 'two', ClientRequestToken: v2 }),
    );
    expect(put.VersionStages).toEqual(['AWSCURRENT']);
    expect(await stages(name)).toEqual({ [v1]: ['AWSPREVIOUS', 'CUSTOM'], [v2]: ['AWSCURRENT'] });
    await h.client.send(new PutSecretValueCommand({ SecretId: name, SecretString: 'three', ClientRequestToken: v3 }));
    expect(await stages(name)).toEqual({ [v1]: ['CUSTOM'], [v2]: ['AWSPREVIOUS'], [v3]: ['AWSCURRENT'] });
    const prev = await h.client.send(new GetSecretValueCommand({ SecretId: name, VersionStage: 'AWSPREVIOUS' }));
    expect(prev.SecretString).toBe('two');
    expect(prev.VersionStages).toEqual(['AWSPREVIOUS']);
  });

  it('the first version always gets AWSCURRENT, even when put with AWSPENDING only', async () => {
    const name = uniqueName();
    await h.client.send(new CreateSecretCommand({ Name: name }));
    const v1 = token('p1');
    const put = await h.client.send(
      new PutSecretValueCommand({
        SecretId: name,
        SecretString: 'x',
        ClientRequestToken: v1,
        VersionStages: ['AWSPENDING'],
      }),
    );
    expect([...(put.VersionStages ?? [])].sort()).toEqual(['AWSCURRENT', 'AWSPENDING']);
  });

  it('UpdateSecretVersionStage needs the matching RemoveFromVersionId when the label is elsewhere', async () => {
    const name = uniqueName();
    const [v1, v2] = [token('u1'), token('u2')];
    await h.client.send(new CreateSecretCommand({ Name: name, SecretString: 'one', ClientRequestToken: v1 }));
    await h.client.send(
      new PutSecretValueCommand({
        SecretId: name,
        SecretString: 'two',
        ClientRequestToken: v2,
        VersionStages: ['AWSPENDING'],
      }),
    );
    await expect(
      h.client.send(
        new UpdateSecretVersionStageCommand({ SecretId: name, VersionStage: 'AWSCURRENT', MoveToVersionId: v2 }),
      ),
    ).rejects.toMatchObject({
      name: 'InvalidParameterException',
      message: `The parameter RemoveFromVersionId can't be empty. Staging label AWSCURRENT is currently attached to version ${v1}, so you must explicitly reference that version in RemoveFromVersionId.`,
      $metadata: { httpStatusCode: 400 },
    });
    await expect(
      h.client.send(
        new UpdateSecretVersionStageCommand({
          SecretId: name,
          VersionStage: 'AWSCURRENT',
          MoveToVersionId: v2,
          RemoveFromVersionId: v2,
        }),
      ),
    ).rejects.toMatchObject({ name: 'InvalidParameterException' });
    await expect(
      h.client.send(
        new UpdateSecretVersionStageCommand({
          SecretId: name,
          VersionStage: 'AWSCURRENT',
          MoveToVersionId: 'nope'.padEnd(32, 'x'),
          RemoveFromVersionId: v1,
        }),
      ),
    ).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
    // AWSCURRENT can be moved but never just removed.
    await expect(
      h.client.send(
        new UpdateSecretVersionStageCommand({ SecretId: name, VersionStage: 'AWSCURRENT', RemoveFromVersionId: v1 }),
      ),
    ).rejects.toMatchObject({ name: 'InvalidParameterException' });
    // Nothing changed after the failures.
    expect(await stages(name)).toEqual({ [v1]: ['AWSCURRENT'], [v2]: ['AWSPENDING'] });
    // Only RemoveFromVersionId detaches a label.
    await h.client.send(
      new UpdateSecretVersionStageCommand({ SecretId: name, VersionStage: 'AWSPENDING', RemoveFromVersionId: v2 }),
    );
    expect(await stages(name)).toEqual({ [v1]: ['AWSCURRENT'] });
    // Moving a label nobody holds needs no RemoveFromVersionId.
    await h.client.send(
      new UpdateSecretVersionStageCommand({ SecretId: name, VersionStage: 'AWSPENDING', MoveToVersionId: v2 }),
    );
    expect(await stages(name)).toEqual({ [v1]: ['AWSCURRENT'], [v2]: ['AWSPENDING'] });
  });

  it('GetSecretValue: stage default, VersionId/VersionStage agreement, AWS messages', async () => {
    const name = uniqueName();
    const [v1, v2] = [token('g1'), token('g2')];
    await h.client.send(new CreateSecretCommand({ Name: name, SecretString: 'one', ClientRequestToken: v1 }));
    await h.client.send(new PutSecretValueCommand({ SecretId: name, SecretString: 'two', ClientRequestToken: v2 }));
    const both = await h.client.send(
      new GetSecretValueCommand({ SecretId: name, VersionId: v1, VersionStage: 'AWSPREVIOUS' }),
    );
    expect(both.SecretString).toBe('one');
    expect(both.CreatedDate).toBeInstanceOf(Date);
    await expect(
      h.client.send(new GetSecretValueCommand({ SecretId: name, VersionId: v1, VersionStage: 'AWSCURRENT' })),
    ).rejects.toMatchObject({
      name: 'InvalidRequestException',
      message: 'You provided a VersionStage that is not associated to the provided VersionId.',
    });
    await expect(
      h.client.send(new GetSecretValueCommand({ SecretId: name, VersionStage: 'AWSPENDING' })),
    ).rejects.toMatchObject({
      name: 'ResourceNotFoundException',
      message: "Secrets Manager can't find the specified secret value for staging label: AWSPENDING",
      $metadata: { httpStatusCode: 400 },
    });
    await expect(h.client.send(new GetSecretValueCommand({ SecretId: uniqueName('missing') }))).rejects.toMatchObject({
      name: 'ResourceNotFoundException',
      message: "Secrets Manager can't find the specified secret.",
    });
    // A secret created without a value has no AWSCURRENT yet.
    const empty = uniqueName();
    await h.client.send(new CreateSecretCommand({ Name: empty }));
    await expect(h.client.send(new GetSecretValueCommand({ SecretId: empty }))).rejects.toMatchObject({
      name: 'ResourceNotFoundException',
    });
  });
});

describe('ClientRequestToken idempotency', () => {
  it('same token and value is a no-op; same token, other value is ResourceExistsException', async () => {
    const name = uniqueName();
    const [v1, v2] = [token('i1'), token('i2')];
    const created = await h.client.send(
      new CreateSecretCommand({ Name: name, SecretString: 'one', ClientRequestToken: v1 }),
    );
    const again = await h.client.send(
      new CreateSecretCommand({ Name: name, SecretString: 'one', ClientRequestToken: v1 }),
    );
    expect(again).toMatchObject({ ARN: created.ARN, VersionId: v1 });
    await expect(
      h.client.send(new CreateSecretCommand({ Name: name, SecretString: 'other', ClientRequestToken: v1 })),
    ).rejects.toMatchObject({
      name: 'ResourceExistsException',
      message: `You can't use ClientRequestToken ${v1} because that value is already in use for a version of secret ${created.ARN}.`,
    });
    await expect(h.client.send(new CreateSecretCommand({ Name: name, SecretString: 'one' }))).rejects.toMatchObject({
      name: 'ResourceExistsException',
      message: `The operation failed because the secret ${name} already exists.`,
    });

    await h.client.send(new PutSecretValueCommand({ SecretId: name, SecretString: 'two', ClientRequestToken: v2 }));
    const repeat = await h.client.send(
      new PutSecretValueCommand({ SecretId: name, SecretString: 'two', ClientRequestToken: v2 }),
    );
    expect(repeat).toMatchObject({ VersionId: v2, VersionStages: ['AWSCURRENT'] });
    expect(await stages(name)).toEqual({ [v1]: ['AWSPREVIOUS'], [v2]: ['AWSCURRENT'] });
    await expect(
      h.client.send(new PutSecretValueCommand({ SecretId: name, SecretString: 'three', ClientRequestToken: v2 })),
    ).rejects.toMatchObject({ name: 'ResourceExistsException' });
    await expect(
      h.client.send(new UpdateSecretCommand({ SecretId: name, SecretString: 'three', ClientRequestToken: v1 })),
    ).rejects.toMatchObject({ name: 'ResourceExistsException' });
  });

  it('the SDK fills ClientRequestToken itself (uuid v4)', async () => {
    const name = uniqueName();
    const created = await h.client.send(new CreateSecretCommand({ Name: name, SecretString: 'x' }));
    expect(created.VersionId).toMatch(/^[0-9a-f-]{36}$/);
    const updated = await h.client.send(
      new UpdateSecretCommand({ SecretId: name, SecretString: 'y', Description: 'd' }),
    );
    expect(updated.VersionId).toMatch(/^[0-9a-f-]{36}$/);
    expect(updated.VersionId).not.toBe(created.VersionId);
    const d = await h.client.send(new DescribeSecretCommand({ SecretId: name }));
    expect(d.Description).toBe('d');
    expect(d.VersionIdsToStages).toEqual({
      [created.VersionId!]: ['AWSPREVIOUS'],
      [updated.VersionId!]: ['AWSCURRENT'],
    });
  });
});

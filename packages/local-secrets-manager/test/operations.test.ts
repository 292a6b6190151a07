import {
  CreateSecretCommand,
  DeleteSecretCommand,
  DescribeSecretCommand,
  GetRandomPasswordCommand,
  GetSecretValueCommand,
  ListSecretVersionIdsCommand,
  ListSecretsCommand,
  PutSecretValueCommand,
  RestoreSecretCommand,
  UpdateSecretCommand,
} from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PUNCTUATION } from '../src/password.js';
import { type Harness, startHarness, uniqueName } from './helpers.js';

let now = Date.UTC(2026, 0, 15, 10, 30, 0);
let h: Harness;
beforeAll(async () => {
  h = await startHarness({ clock: () => now, region: 'eu-west-1', accountId: '123456789012' });
});
afterAll(async () => {
  await h.close();
});

describe('addressing and metadata', () => {
  it('creates AWS-shaped ARNs and resolves name, full ARN and partial ARN', async () => {
    const name = uniqueName('app/db');
    const created = await h.client.send(
      new CreateSecretCommand({
        Name: name,
        SecretString: '{"a":1}',
        Description: 'desc',
        Tags: [{ Key: 'team', Value: 'x' }],
      }),
    );
    expect(created.ARN).toMatch(
      new RegExp(`^arn:aws:secretsmanager:eu-west-1:123456789012:secret:${name}-[A-Za-z0-9]{6}$`),
    );
    const partial = created.ARN!.slice(0, -7);
    for (const id of [name, created.ARN!, partial]) {
      const got = await h.client.send(new GetSecretValueCommand({ SecretId: id }));
      expect(got).toMatchObject({ ARN: created.ARN, Name: name, SecretString: '{"a":1}' });
    }
    const d = await h.client.send(new DescribeSecretCommand({ SecretId: created.ARN }));
    expect(d).toMatchObject({ Name: name, Description: 'desc', Tags: [{ Key: 'team', Value: 'x' }] });
    expect(d.CreatedDate?.getTime()).toBe(now);
    expect(d.LastChangedDate?.getTime()).toBe(now);
    expect(d.LastAccessedDate?.getTime()).toBe(Date.UTC(2026, 0, 15)); // AWS truncates to the day
    // Rotation fields are omitted until rotation was configured.
    expect(d.RotationEnabled).toBeUndefined();
    expect(d.RotationRules).toBeUndefined();
  });

  it('rejects invalid names with ValidationException', async () => {
    await expect(
      h.client.send(new CreateSecretCommand({ Name: 'bad name?', SecretString: 'x' })),
    ).rejects.toMatchObject({
      name: 'ValidationException',
      message:
        'Invalid name. Must be a valid name containing alphanumeric characters, or any of the following: -/_+=.@!',
      $metadata: { httpStatusCode: 400 },
    });
    await expect(
      h.client.send(new CreateSecretCommand({ Name: 'x'.repeat(513), SecretString: 'x' })),
    ).rejects.toMatchObject({
      name: 'ValidationException',
    });
  });

  it('rejects both SecretString and SecretBinary; stores binary as base64', async () => {
    const name = uniqueName();
    await expect(
      h.client.send(new CreateSecretCommand({ Name: name, SecretString: 'x', SecretBinary: new Uint8Array([1]) })),
    ).rejects.toMatchObject({ name: 'InvalidParameterException' });
    await h.client.send(new CreateSecretCommand({ Name: name, SecretBinary: new Uint8Array([0, 1, 2, 255]) }));
    const got = await h.client.send(new GetSecretValueCommand({ SecretId: name }));
    expect([...(got.SecretBinary ?? [])]).toEqual([0, 1, 2, 255]);
    expect(got.SecretString).toBeUndefined();
  });
});

describe('ListSecretVersionIds and ListSecrets', () => {
  it('paginates versions, newest first, hiding deprecated ones unless asked', async () => {
    const name = uniqueName();
    await h.client.send(new CreateSecretCommand({ Name: name, SecretString: 'v0' }));
    for (let i = 1; i <= 4; i++)
      await h.client.send(new PutSecretValueCommand({ SecretId: name, SecretString: `v${i}` }));
    const visible = await h.client.send(new ListSecretVersionIdsCommand({ SecretId: name }));
    expect(visible.Versions).toHaveLength(2);
    const seen: string[] = [];
    let next: string | undefined;
    do {
      const page = await h.client.send(
        new ListSecretVersionIdsCommand({ SecretId: name, IncludeDeprecated: true, MaxResults: 2, NextToken: next }),
      );
      seen.push(...(page.Versions ?? []).map((v) => v.VersionId!));
      next = page.NextToken;
    } while (next);
    expect(seen).toHaveLength(5);
    expect(new Set(seen).size).toBe(5);
    await expect(
      h.client.send(new ListSecretVersionIdsCommand({ SecretId: name, NextToken: 'garbage' })),
    ).rejects.toMatchObject({ name: 'InvalidNextTokenException' });
  });

  it('filters by name prefix and tag, with SecretVersionsToStages', async () => {
    const prefix = uniqueName('list');
    await h.client.send(
      new CreateSecretCommand({ Name: `${prefix}/a`, SecretString: 'a', Tags: [{ Key: 'env', Value: 'dev' }] }),
    );
    await h.client.send(new CreateSecretCommand({ Name: `${prefix}/b`, SecretString: 'b' }));
    const byName = await h.client.send(new ListSecretsCommand({ Filters: [{ Key: 'name', Values: [prefix] }] }));
    expect(byName.SecretList?.map((s) => s.Name).sort()).toEqual([`${prefix}/a`, `${prefix}/b`]);
    expect(Object.values(byName.SecretList?.[0]?.SecretVersionsToStages ?? {})).toEqual([['AWSCURRENT']]);
    const byTag = await h.client.send(
      new ListSecretsCommand({
        Filters: [
          { Key: 'name', Values: [prefix] },
          { Key: 'tag-key', Values: ['env'] },
        ],
      }),
    );
    expect(byTag.SecretList?.map((s) => s.Name)).toEqual([`${prefix}/a`]);
    const desc = await h.client.send(
      new ListSecretsCommand({
        Filters: [{ Key: 'name', Values: [prefix] }],
        SortBy: 'name',
        SortOrder: 'desc',
        MaxResults: 1,
      }),
    );
    expect(desc.SecretList?.map((s) => s.Name)).toEqual([`${prefix}/b`]);
    expect(desc.NextToken).toBeDefined();
  });
});

describe('DeleteSecret and RestoreSecret', () => {
  it('schedules deletion, refuses access, restores, and purges after the window', async () => {
    const name = uniqueName();
    const created = await h.client.send(new CreateSecretCommand({ Name: name, SecretString: 'x' }));
    const del = await h.client.send(new DeleteSecretCommand({ SecretId: name, RecoveryWindowInDays: 7 }));
    expect(del.DeletionDate?.getTime()).toBe(now + 7 * 86_400_000);
    const marked = "You can't perform this operation on the secret because it was marked for deletion.";
    await expect(h.client.send(new GetSecretValueCommand({ SecretId: name }))).rejects.toMatchObject({
      name: 'InvalidRequestException',
      message: marked,
    });
    await expect(h.client.send(new PutSecretValueCommand({ SecretId: name, SecretString: 'y' }))).rejects.toMatchObject(
      {
        message: marked,
      },
    );
    await expect(h.client.send(new CreateSecretCommand({ Name: name, SecretString: 'z' }))).rejects.toMatchObject({
      name: 'InvalidRequestException',
      message: "You can't create this secret because a secret with this name is already scheduled for deletion.",
    });
    const d = await h.client.send(new DescribeSecretCommand({ SecretId: name }));
    expect(d.DeletedDate?.getTime()).toBe(now);
    const hidden = await h.client.send(new ListSecretsCommand({ Filters: [{ Key: 'name', Values: [name] }] }));
    expect(hidden.SecretList).toEqual([]);
    const planned = await h.client.send(
      new ListSecretsCommand({ Filters: [{ Key: 'name', Values: [name] }], IncludePlannedDeletion: true }),
    );
    expect(planned.SecretList).toHaveLength(1);

    await h.client.send(new RestoreSecretCommand({ SecretId: created.ARN }));
    expect((await h.client.send(new GetSecretValueCommand({ SecretId: name }))).SecretString).toBe('x');

    await h.client.send(new DeleteSecretCommand({ SecretId: name, RecoveryWindowInDays: 7 }));
    const saved = now;
    now += 7 * 86_400_000;
    try {
      await expect(h.client.send(new DescribeSecretCommand({ SecretId: name }))).rejects.toMatchObject({
        name: 'ResourceNotFoundException',
      });
    } finally {
      now = saved;
    }
  });

  it('validates the window and the force flag; forced delete of a missing secret succeeds', async () => {
    const name = uniqueName();
    await h.client.send(new CreateSecretCommand({ Name: name, SecretString: 'x' }));
    await expect(
      h.client.send(new DeleteSecretCommand({ SecretId: name, RecoveryWindowInDays: 6 })),
    ).rejects.toMatchObject({
      name: 'InvalidParameterException',
    });
    await expect(
      h.client.send(
        new DeleteSecretCommand({ SecretId: name, RecoveryWindowInDays: 7, ForceDeleteWithoutRecovery: true }),
      ),
    ).rejects.toMatchObject({ name: 'InvalidParameterException' });
    await h.client.send(new DeleteSecretCommand({ SecretId: name, ForceDeleteWithoutRecovery: true }));
    await expect(h.client.send(new DescribeSecretCommand({ SecretId: name }))).rejects.toMatchObject({
      name: 'ResourceNotFoundException',
    });
    const again = await h.client.send(new DeleteSecretCommand({ SecretId: name, ForceDeleteWithoutRecovery: true }));
    expect(again.Name).toBe(name);
    await expect(h.client.send(new DeleteSecretCommand({ SecretId: name }))).rejects.toMatchObject({
      name: 'ResourceNotFoundException',
    });
    // The name is free again.
    await h.client.send(new CreateSecretCommand({ Name: name, SecretString: 'new' }));
  });

  it('UpdateSecret changes metadata without a new version', async () => {
    const name = uniqueName();
    const created = await h.client.send(new CreateSecretCommand({ Name: name, SecretString: 'x' }));
    const out = await h.client.send(new UpdateSecretCommand({ SecretId: name, Description: 'only metadata' }));
    expect(out.VersionId).toBeUndefined();
    const d = await h.client.send(new DescribeSecretCommand({ SecretId: name }));
    expect(d.Description).toBe('only metadata');
    expect(Object.keys(d.VersionIdsToStages ?? {})).toEqual([created.VersionId]);
  });
});

describe('GetRandomPassword', () => {
  it('defaults to 32 characters with every class', async () => {
    const { RandomPassword: p } = await h.client.send(new GetRandomPasswordCommand({}));
    expect(p).toHaveLength(32);
    expect(p).toMatch(/[a-z]/);
    expect(p).toMatch(/[A-Z]/);
    expect(p).toMatch(/[0-9]/);
    expect([...p!].some((c) => PUNCTUATION.includes(c))).toBe(true);
    expect(p).not.toContain(' ');
  });

  it('honours exclusions, IncludeSpace and RequireEachIncludedType', async () => {
    for (let i = 0; i < 20; i++) {
      const { RandomPassword: p } = await h.client.send(
        new GetRandomPasswordCommand({
          PasswordLength: 12,
          ExcludePunctuation: true,
          ExcludeCharacters: 'abcABC012',
          IncludeSpace: true,
        }),
      );
      expect(p).toHaveLength(12);
      expect(p).toMatch(/^[d-zD-Z3-9 ]+$/);
      expect(p).toContain(' ');
    }
    const { RandomPassword: digits } = await h.client.send(
      new GetRandomPasswordCommand({
        PasswordLength: 64,
        ExcludeLowercase: true,
        ExcludeUppercase: true,
        ExcludePunctuation: true,
      }),
    );
    expect(digits).toMatch(/^[0-9]{64}$/);
    await expect(h.client.send(new GetRandomPasswordCommand({ PasswordLength: 3 }))).rejects.toMatchObject({
      name: 'InvalidParameterException',
      message: 'Password length is too short based on the required types.',
    });
    const short = await h.client.send(
      new GetRandomPasswordCommand({ PasswordLength: 3, RequireEachIncludedType: false }),
    );
    expect(short.RandomPassword).toHaveLength(3);
    await expect(
      h.client.send(
        new GetRandomPasswordCommand({
          ExcludeLowercase: true,
          ExcludeUppercase: true,
          ExcludeNumbers: true,
          ExcludePunctuation: true,
        }),
      ),
    ).rejects.toMatchObject({ name: 'InvalidParameterException' });
    await expect(h.client.send(new GetRandomPasswordCommand({ PasswordLength: 4097 }))).rejects.toMatchObject({
      name: 'InvalidParameterException',
    });
  });
});

describe('counters', () => {
  it('counts every request per operation, failed ones included, and resets', async () => {
    h.sm.resetCounters();
    const name = uniqueName();
    await h.client.send(new CreateSecretCommand({ Name: name, SecretString: 'x' }));
    await h.client.send(new GetSecretValueCommand({ SecretId: name }));
    await h.client.send(new GetSecretValueCommand({ SecretId: name })).catch(() => {});
    await h.client.send(new GetSecretValueCommand({ SecretId: `${name}-missing` })).catch(() => {});
    expect(h.sm.callCount('GetSecretValue')).toBe(3);
    expect(h.sm.counters()).toEqual({ CreateSecret: 1, GetSecretValue: 3 });
    h.sm.resetCounters();
    expect(h.sm.callCount('GetSecretValue')).toBe(0);
    expect(h.sm.counters()).toEqual({});
  });
});

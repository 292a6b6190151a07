import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  BatchGetSecretValueCommand,
  CreateSecretCommand,
  DeleteResourcePolicyCommand,
  DescribeSecretCommand,
  GetResourcePolicyCommand,
  GetSecretValueCommand,
  ListSecretsCommand,
  ListSecretVersionIdsCommand,
  PutResourcePolicyCommand,
  PutSecretValueCommand,
  RotateSecretCommand,
  TagResourceCommand,
  UntagResourceCommand,
  UpdateSecretVersionStageCommand,
  ValidateResourcePolicyCommand,
} from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFakeRotator } from './fake-rotator.js';
import { errorOf, type Harness, startHarness, token, uniqueName } from './helpers.js';

/**
 * Issue #28: documented Secrets Manager behaviour, one test per rule, through the real SDK v3 client.
 * Rules quoted from the API reference (TagResource, PutResourcePolicy, BatchGetSecretValue, Filter).
 */
const LAMBDA = 'arn:aws:lambda:us-east-1:000000000000:function:conformance-rotator';
let h: Harness;

beforeAll(async () => {
  h = await startHarness({ schedulerIntervalMs: 0 });
  h.sm.registerRotator(LAMBDA, createFakeRotator(h.client).handler);
});
afterAll(async () => {
  await h.close();
});

async function create(name = uniqueName(), extra: Record<string, unknown> = {}): Promise<string> {
  await h.client.send(new CreateSecretCommand({ Name: name, SecretString: 'v', ...extra }));
  return name;
}

const tagsOf = async (id: string) => (await h.client.send(new DescribeSecretCommand({ SecretId: id }))).Tags;

describe('TagResource / UntagResource', () => {
  it('TagResource appends tags, a key already present takes the new value; UntagResource removes keys', async () => {
    const name = await create(uniqueName(), { Tags: [{ Key: 'team', Value: 'a' }] });
    await h.client.send(
      new TagResourceCommand({
        SecretId: name,
        Tags: [
          { Key: 'team', Value: 'b' },
          { Key: 'env', Value: 'dev' },
        ],
      }),
    );
    expect(await tagsOf(name)).toEqual([
      { Key: 'team', Value: 'b' },
      { Key: 'env', Value: 'dev' },
    ]);
    await h.client.send(new UntagResourceCommand({ SecretId: name, TagKeys: ['team', 'absent'] }));
    expect(await tagsOf(name)).toEqual([{ Key: 'env', Value: 'dev' }]);
  });

  it('the aws: prefix is reserved in tag keys and values, for tagging and untagging', async () => {
    const name = await create();
    for (const tag of [
      { Key: 'aws:owner', Value: 'x' },
      { Key: 'AWS:owner', Value: 'x' },
      { Key: 'owner', Value: 'aws:x' },
    ]) {
      const err = await errorOf(h.client.send(new TagResourceCommand({ SecretId: name, Tags: [tag] })));
      expect(err.name).toBe('InvalidParameterException');
    }
    const untag = await errorOf(h.client.send(new UntagResourceCommand({ SecretId: name, TagKeys: ['aws:x'] })));
    expect(untag.name).toBe('InvalidParameterException');
    expect(await tagsOf(name)).toBeUndefined();
  });

  it('a tag key has 1-128 characters and a value at most 256', async () => {
    const name = await create();
    const long = await errorOf(
      h.client.send(new TagResourceCommand({ SecretId: name, Tags: [{ Key: 'k'.repeat(129), Value: '' }] })),
    );
    expect(long.name).toBe('ValidationException');
    const value = await errorOf(
      h.client.send(new TagResourceCommand({ SecretId: name, Tags: [{ Key: 'k', Value: 'v'.repeat(257) }] })),
    );
    expect(value.name).toBe('ValidationException');
    await h.client.send(
      new TagResourceCommand({ SecretId: name, Tags: [{ Key: 'k'.repeat(128), Value: 'v'.repeat(256) }] }),
    );
    expect((await tagsOf(name))?.length).toBe(1);
  });

  it('a secret has at most 50 tags', async () => {
    const name = await create();
    const tags = Array.from({ length: 50 }, (_, i) => ({ Key: `k${i}`, Value: '' }));
    await h.client.send(new TagResourceCommand({ SecretId: name, Tags: tags }));
    const err = await errorOf(
      h.client.send(new TagResourceCommand({ SecretId: name, Tags: [{ Key: 'k50', Value: '' }] })),
    );
    expect(err.name).toBe('InvalidParameterException');
    expect((await tagsOf(name))?.length).toBe(50);
  });

  it('tagging a secret that does not exist is ResourceNotFoundException', async () => {
    const err = await errorOf(
      h.client.send(new TagResourceCommand({ SecretId: uniqueName('missing'), Tags: [{ Key: 'k', Value: 'v' }] })),
    );
    expect(err.name).toBe('ResourceNotFoundException');
  });
});

const PRIVATE_POLICY = JSON.stringify({
  Version: '2012-10-17',
  Statement: [
    {
      Effect: 'Allow',
      Principal: { AWS: 'arn:aws:iam::000000000000:role/app' },
      Action: 'secretsmanager:GetSecretValue',
      Resource: '*',
    },
  ],
});
const PUBLIC_POLICY = JSON.stringify({
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Principal: '*', Action: 'secretsmanager:GetSecretValue', Resource: '*' }],
});

describe('resource policies', () => {
  it('PutResourcePolicy stores the document GetResourcePolicy returns; DeleteResourcePolicy removes it', async () => {
    const name = await create();
    const before = await h.client.send(new GetResourcePolicyCommand({ SecretId: name }));
    expect(before).not.toHaveProperty('ResourcePolicy');
    const put = await h.client.send(new PutResourcePolicyCommand({ SecretId: name, ResourcePolicy: PRIVATE_POLICY }));
    expect(put.Name).toBe(name);
    const got = await h.client.send(new GetResourcePolicyCommand({ SecretId: name }));
    expect(got.ResourcePolicy).toBe(PRIVATE_POLICY);
    await h.client.send(new DeleteResourcePolicyCommand({ SecretId: name }));
    expect(await h.client.send(new GetResourcePolicyCommand({ SecretId: name }))).not.toHaveProperty('ResourcePolicy');
  });

  it('a document that is not a valid policy is MalformedPolicyDocumentException; ValidateResourcePolicy says why', async () => {
    const name = await create();
    for (const bad of [
      '{not json',
      '{"Version":"2012-10-17"}',
      '{"Statement":[{"Effect":"Maybe","Action":"x","Principal":"*"}]}',
    ]) {
      const err = await errorOf(h.client.send(new PutResourcePolicyCommand({ SecretId: name, ResourcePolicy: bad })));
      expect(err.name).toBe('MalformedPolicyDocumentException');
      const check = await h.client.send(new ValidateResourcePolicyCommand({ ResourcePolicy: bad }));
      expect(check.PolicyValidationPassed).toBe(false);
      expect(check.ValidationErrors?.length).toBeGreaterThan(0);
    }
    const ok = await h.client.send(
      new ValidateResourcePolicyCommand({ SecretId: name, ResourcePolicy: PRIVATE_POLICY }),
    );
    expect(ok).toMatchObject({ PolicyValidationPassed: true, ValidationErrors: [] });
    expect(await h.client.send(new GetResourcePolicyCommand({ SecretId: name }))).not.toHaveProperty('ResourcePolicy');
  });

  it('BlockPublicPolicy refuses a policy granting broad access (PublicPolicyException); without it the policy is stored', async () => {
    const name = await create();
    const err = await errorOf(
      h.client.send(
        new PutResourcePolicyCommand({ SecretId: name, ResourcePolicy: PUBLIC_POLICY, BlockPublicPolicy: true }),
      ),
    );
    expect(err.name).toBe('PublicPolicyException');
    expect(await h.client.send(new GetResourcePolicyCommand({ SecretId: name }))).not.toHaveProperty('ResourcePolicy');
    await h.client.send(
      new PutResourcePolicyCommand({ SecretId: name, ResourcePolicy: PRIVATE_POLICY, BlockPublicPolicy: true }),
    );
    await h.client.send(new PutResourcePolicyCommand({ SecretId: name, ResourcePolicy: PUBLIC_POLICY }));
    expect((await h.client.send(new GetResourcePolicyCommand({ SecretId: name }))).ResourcePolicy).toBe(PUBLIC_POLICY);
  });

  it('tags and the resource policy are persisted like the rest of the store', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lsm-conformance-'));
    const stateFile = join(dir, 'state.json');
    try {
      const a = await startHarness({ stateFile, schedulerIntervalMs: 0 });
      await a.client.send(new CreateSecretCommand({ Name: 'persisted', SecretString: 'v' }));
      await a.client.send(new TagResourceCommand({ SecretId: 'persisted', Tags: [{ Key: 'k', Value: 'v' }] }));
      await a.client.send(new PutResourcePolicyCommand({ SecretId: 'persisted', ResourcePolicy: PRIVATE_POLICY }));
      await a.close();
      const b = await startHarness({ stateFile, schedulerIntervalMs: 0 });
      try {
        expect((await b.client.send(new DescribeSecretCommand({ SecretId: 'persisted' }))).Tags).toEqual([
          { Key: 'k', Value: 'v' },
        ]);
        const policy = await b.client.send(new GetResourcePolicyCommand({ SecretId: 'persisted' }));
        expect(policy.ResourcePolicy).toBe(PRIVATE_POLICY);
      } finally {
        await b.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('BatchGetSecretValue', () => {
  it('by SecretIdList: the AWSCURRENT values, and the secrets it cannot read in Errors', async () => {
    const a = await create();
    const b = await create();
    const empty = uniqueName();
    await h.client.send(new CreateSecretCommand({ Name: empty }));
    const missing = uniqueName('missing');
    const out = await h.client.send(new BatchGetSecretValueCommand({ SecretIdList: [a, missing, b, empty] }));
    expect(out.SecretValues?.map((v) => [v.Name, v.SecretString, v.VersionStages])).toEqual([
      [a, 'v', ['AWSCURRENT']],
      [b, 'v', ['AWSCURRENT']],
    ]);
    expect(out.Errors?.map((e) => [e.SecretId, e.ErrorCode])).toEqual([
      [missing, 'ResourceNotFoundException'],
      [empty, 'ResourceNotFoundException'],
    ]);
  });

  it('SecretIdList holds at most 20 ids, and Filters and SecretIdList exclude each other', async () => {
    const ids = Array.from({ length: 21 }, (_, i) => `id-${i}`);
    expect((await errorOf(h.client.send(new BatchGetSecretValueCommand({ SecretIdList: ids })))).name).toBe(
      'ValidationException',
    );
    const both = await errorOf(
      h.client.send(new BatchGetSecretValueCommand({ SecretIdList: ['a'], Filters: [{ Key: 'name', Values: ['a'] }] })),
    );
    expect(both.name).toBe('InvalidParameterException');
    expect((await errorOf(h.client.send(new BatchGetSecretValueCommand({})))).name).toBe('InvalidParameterException');
  });

  it('by Filters: pages of at most MaxResults (≤ 20) with NextToken until every match was read', async () => {
    const prefix = uniqueName('batch');
    for (let i = 0; i < 5; i++) await create(`${prefix}-${i}`);
    const seen: string[] = [];
    let next: string | undefined;
    let pages = 0;
    do {
      const page = await h.client.send(
        new BatchGetSecretValueCommand({
          Filters: [{ Key: 'name', Values: [prefix] }],
          MaxResults: 2,
          NextToken: next,
        }),
      );
      pages++;
      expect(page.SecretValues?.length).toBeLessThanOrEqual(2);
      seen.push(...(page.SecretValues ?? []).map((v) => v.Name!));
      next = page.NextToken;
    } while (next);
    expect(pages).toBe(3);
    expect(seen).toEqual([0, 1, 2, 3, 4].map((i) => `${prefix}-${i}`));
    const tooMany = await errorOf(
      h.client.send(new BatchGetSecretValueCommand({ Filters: [{ Key: 'name', Values: [prefix] }], MaxResults: 21 })),
    );
    expect(tooMany.name).toBe('ValidationException');
  });
});

describe('ListSecrets filters', () => {
  const names = async (
    filters: { Key: 'name' | 'tag-key' | 'tag-value' | 'description' | 'all'; Values: string[] }[],
  ) => ((await h.client.send(new ListSecretsCommand({ Filters: filters }))).SecretList ?? []).map((s) => s.Name);

  it('name, tag-key and tag-value are case-sensitive prefix matches', async () => {
    const base = uniqueName('Case');
    const name = await create(`${base}-Secret`, { Tags: [{ Key: 'TeamKey', Value: 'BlueValue' }] });
    expect(await names([{ Key: 'name', Values: [base] }])).toEqual([name]);
    expect(await names([{ Key: 'name', Values: [base.toLowerCase()] }])).toEqual([]);
    expect(
      await names([
        { Key: 'name', Values: [base] },
        { Key: 'tag-key', Values: ['Team'] },
      ]),
    ).toEqual([name]);
    expect(
      await names([
        { Key: 'name', Values: [base] },
        { Key: 'tag-key', Values: ['team'] },
      ]),
    ).toEqual([]);
    expect(
      await names([
        { Key: 'name', Values: [base] },
        { Key: 'tag-value', Values: ['Blue'] },
      ]),
    ).toEqual([name]);
    expect(
      await names([
        { Key: 'name', Values: [base] },
        { Key: 'tag-value', Values: ['blue'] },
      ]),
    ).toEqual([]);
  });

  it('all splits the value into words and searches every attribute, ignoring case', async () => {
    const base = uniqueName('words');
    const name = await create(base, { Description: 'Primary judge database for reports' });
    expect(
      await names([
        { Key: 'name', Values: [base] },
        { Key: 'all', Values: ['judge'] },
      ]),
    ).toEqual([name]);
    expect(
      await names([
        { Key: 'name', Values: [base] },
        { Key: 'all', Values: ['Reports'] },
      ]),
    ).toEqual([name]);
    // "credsJudge" splits into "creds" and "Judge"; one matching word is enough.
    expect(
      await names([
        { Key: 'name', Values: [base] },
        { Key: 'all', Values: ['credsJudge'] },
      ]),
    ).toEqual([name]);
    expect(
      await names([
        { Key: 'name', Values: [base] },
        { Key: 'all', Values: ['payroll'] },
      ]),
    ).toEqual([]);
  });

  it('description matches the start of the description or of a word in it, ignoring case', async () => {
    const base = uniqueName('desc');
    const name = await create(base, { Description: 'Primary judge database' });
    expect(
      await names([
        { Key: 'name', Values: [base] },
        { Key: 'description', Values: ['primary'] },
      ]),
    ).toEqual([name]);
    expect(
      await names([
        { Key: 'name', Values: [base] },
        { Key: 'description', Values: ['Judge'] },
      ]),
    ).toEqual([name]);
    expect(
      await names([
        { Key: 'name', Values: [base] },
        { Key: 'description', Values: ['udge'] },
      ]),
    ).toEqual([]);
  });

  it('a filter value outside the documented pattern is a ValidationException', async () => {
    for (const value of ['judge*', 'a%b', 'x'.repeat(513)]) {
      const err = await errorOf(h.client.send(new ListSecretsCommand({ Filters: [{ Key: 'name', Values: [value] }] })));
      expect(err.name).toBe('ValidationException');
    }
  });
});

describe('staging labels', () => {
  it('AWSPENDING leaves a version when AWSCURRENT moves off it: PutSecretValue after a finished rotation keeps the value, and the next RotateSecret rotates from it', async () => {
    const name = uniqueName();
    const [v1, v2, v3] = [token('v1'), token('v2'), token('v3')];
    const value = (user: string) => JSON.stringify({ username: user, password: `pw-${user}` });
    await h.client.send(new CreateSecretCommand({ Name: name, SecretString: value('u1'), ClientRequestToken: v1 }));
    // The end state of AWS's rotation templates: AWSCURRENT and AWSPENDING on the same version.
    await h.client.send(
      new PutSecretValueCommand({
        SecretId: name,
        SecretString: value('u2'),
        ClientRequestToken: v2,
        VersionStages: ['AWSPENDING'],
      }),
    );
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
      new PutSecretValueCommand({ SecretId: name, SecretString: value('u3'), ClientRequestToken: v3 }),
    );
    expect(await stages(name)).toEqual({ [v2]: ['AWSPREVIOUS'], [v3]: ['AWSCURRENT'] });

    const v4 = token('v4');
    const rotated = await h.client.send(
      new RotateSecretCommand({ SecretId: name, RotationLambdaARN: LAMBDA, ClientRequestToken: v4 }),
    );
    expect(rotated.VersionId).toBe(v4);
    expect(h.sm.lastRotationError(name)).toBeUndefined();
    expect(await stages(name)).toEqual({ [v3]: ['AWSPREVIOUS'], [v4]: ['AWSCURRENT', 'AWSPENDING'] });
    // The rotation started from the value stored by PutSecretValue, not from the old rotated version.
    const current = await h.client.send(new GetSecretValueCommand({ SecretId: name }));
    expect(JSON.parse(current.SecretString!)).toEqual({ username: 'u3', password: `pw-${v4.slice(0, 8)}` });
  });
});

async function stages(secretId: string): Promise<Record<string, string[]>> {
  const d = await h.client.send(new DescribeSecretCommand({ SecretId: secretId }));
  return Object.fromEntries(Object.entries(d.VersionIdsToStages ?? {}).map(([k, v]) => [k, [...v].sort()]));
}

describe('response shapes', () => {
  it('DescribeSecret of a secret without any value omits VersionIdsToStages', async () => {
    const name = uniqueName();
    await h.client.send(new CreateSecretCommand({ Name: name }));
    const d = await h.client.send(new DescribeSecretCommand({ SecretId: name }));
    expect(d).not.toHaveProperty('VersionIdsToStages');
    const listed = await h.client.send(new ListSecretsCommand({ Filters: [{ Key: 'name', Values: [name] }] }));
    expect(listed.SecretList?.[0]).not.toHaveProperty('SecretVersionsToStages');
  });

  it('an unreplicated secret carries no PrimaryRegion', async () => {
    const name = await create();
    expect(await h.client.send(new DescribeSecretCommand({ SecretId: name }))).not.toHaveProperty('PrimaryRegion');
  });

  it('ListSecretVersionIds entries carry KmsKeyIds; a deprecated version has no VersionStages', async () => {
    const plain = await create();
    const listed = await h.client.send(new ListSecretVersionIdsCommand({ SecretId: plain }));
    expect(listed.Versions?.[0]?.KmsKeyIds).toEqual(['DefaultEncryptionKey']);
    const keyed = await create(uniqueName(), { KmsKeyId: 'alias/app' });
    const withKey = await h.client.send(new ListSecretVersionIdsCommand({ SecretId: keyed }));
    expect(withKey.Versions?.[0]?.KmsKeyIds).toEqual(['alias/app']);
  });

  it('after a rate(10 days) schedule RotationRules also reports AutomaticallyAfterDays', async () => {
    const name = await create();
    await h.client.send(
      new RotateSecretCommand({
        SecretId: name,
        RotationLambdaARN: LAMBDA,
        RotationRules: { ScheduleExpression: 'rate(10 days)' },
        RotateImmediately: false,
      }),
    );
    const d = await h.client.send(new DescribeSecretCommand({ SecretId: name }));
    expect(d.RotationRules).toEqual({ AutomaticallyAfterDays: 10, ScheduleExpression: 'rate(10 days)' });
  });
});

describe('no request silently accepted and ignored', () => {
  it('CreateSecret with AddReplicaRegions to a region this endpoint does not serve is refused and creates nothing', async () => {
    const name = uniqueName();
    const err = await errorOf(
      h.client.send(
        new CreateSecretCommand({ Name: name, SecretString: 'v', AddReplicaRegions: [{ Region: 'eu-west-1' }] }),
      ),
    );
    expect(err.name).toBe('InvalidParameterException');
    expect(err.message).toMatch(/Invalid replica region: eu-west-1\. This local Secrets Manager serves us-east-1/);
    const listed = await h.client.send(new ListSecretsCommand({ Filters: [{ Key: 'name', Values: [name] }] }));
    expect(listed.SecretList).toEqual([]);
  });

  it('RotateSecret with external-secret rotation metadata is refused (managed external secrets are not emulated)', async () => {
    const name = await create();
    const err = await errorOf(
      h.client.send(
        new RotateSecretCommand({
          SecretId: name,
          RotationLambdaARN: LAMBDA,
          ExternalSecretRotationRoleArn: 'arn:aws:iam::000000000000:role/partner',
        }),
      ),
    );
    expect(err.name).toBe('InvalidRequestException');
    expect(await h.client.send(new DescribeSecretCommand({ SecretId: name }))).not.toHaveProperty('RotationEnabled');
  });
});

import {
  CreateSecretCommand,
  DeleteSecretCommand,
  DescribeSecretCommand,
  GetSecretValueCommand,
  ListSecretsCommand,
  PutSecretValueCommand,
  RemoveRegionsFromReplicationCommand,
  ReplicateSecretToRegionsCommand,
  SecretsManagerClient,
  StopReplicationToReplicaCommand,
  TagResourceCommand,
  UpdateSecretCommand,
  UpdateSecretVersionStageCommand,
} from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalSecretsManager, parseCliArgs, startLocalSecretsManager } from '../src/index.js';
import { errorOf, rawRequest, token, uniqueName } from './helpers.js';

const PRIMARY = 'us-east-1';
const REPLICA = 'eu-west-1';
const REFUSED = "Operation not permitted on a replica secret. Call must be made in primary secret's region.";

let sm: LocalSecretsManager;
const clients: SecretsManagerClient[] = [];
const clientIn = (region: string): SecretsManagerClient => {
  const c = new SecretsManagerClient({
    region,
    endpoint: sm.endpoint,
    credentials: { accessKeyId: 'AKIDLOCAL', secretAccessKey: 'local-secret' },
    maxAttempts: 1,
  });
  clients.push(c);
  return c;
};
let east: SecretsManagerClient;
let west: SecretsManagerClient;

beforeAll(async () => {
  sm = await startLocalSecretsManager({ regions: [REPLICA, 'ap-south-1'], schedulerIntervalMs: 0 });
  east = clientIn(PRIMARY);
  west = clientIn(REPLICA);
});
afterAll(async () => {
  for (const c of clients) c.destroy();
  await sm.close();
});

async function replicated(name: string): Promise<{ arn: string; replicaArn: string }> {
  const created = await east.send(
    new CreateSecretCommand({ Name: name, SecretString: 'v1', ClientRequestToken: token('v1') }),
  );
  const out = await east.send(
    new ReplicateSecretToRegionsCommand({
      SecretId: name,
      AddReplicaRegions: [{ Region: REPLICA, KmsKeyId: 'alias/eu' }],
    }),
  );
  expect(out.ReplicationStatus).toEqual([
    { Region: REPLICA, KmsKeyId: 'alias/eu', Status: 'InSync', StatusMessage: 'Replication succeeded' },
  ]);
  return { arn: created.ARN!, replicaArn: created.ARN!.replace(`:${PRIMARY}:`, `:${REPLICA}:`) };
}

describe('regions at one endpoint (routed by the SigV4 credential scope)', () => {
  it('each region has its own secrets; an unserved region goes to the default one', async () => {
    // Prepare
    const name = uniqueName();
    // Act
    await west.send(new CreateSecretCommand({ Name: name, SecretString: 'w', ClientRequestToken: token('w') }));
    // Assess
    expect((await errorOf(east.send(new GetSecretValueCommand({ SecretId: name })))).name).toBe(
      'ResourceNotFoundException',
    );
    const d = await west.send(new DescribeSecretCommand({ SecretId: name }));
    expect(d.ARN).toMatch(new RegExp(`^arn:aws:secretsmanager:${REPLICA}:000000000000:secret:${name}-`));
    expect(d).not.toHaveProperty('PrimaryRegion');
    expect(sm.callCount('CreateSecret', REPLICA)).toBeGreaterThanOrEqual(1);
    const other = clientIn('sa-east-1');
    await other.send(new CreateSecretCommand({ Name: `${name}-d`, SecretString: 'd', ClientRequestToken: token('d') }));
    expect((await east.send(new DescribeSecretCommand({ SecretId: `${name}-d` }))).ARN).toContain(`:${PRIMARY}:`);
  });

  it('a request without a signature goes to the default region', async () => {
    const r = await rawRequest(sm.endpoint, { target: 'secretsmanager.ListSecrets', body: '{}' });
    expect(r.status).toBe(200);
  });
});

describe('ReplicateSecretToRegions', () => {
  it('copies versions, labels and metadata; the replica ARN names its region; same name and suffix', async () => {
    // Prepare
    const name = uniqueName();
    // Act
    const { arn, replicaArn } = await replicated(name);
    // Assess
    const p = await east.send(new DescribeSecretCommand({ SecretId: name }));
    expect(p.PrimaryRegion).toBe(PRIMARY);
    expect(p.ReplicationStatus).toEqual([
      { Region: REPLICA, KmsKeyId: 'alias/eu', Status: 'InSync', StatusMessage: 'Replication succeeded' },
    ]);
    const r = await west.send(new DescribeSecretCommand({ SecretId: name }));
    expect(r.ARN).toBe(replicaArn);
    expect(arn.split(':').slice(4)).toEqual(replicaArn.split(':').slice(4));
    expect(r.PrimaryRegion).toBe(PRIMARY);
    expect(r).not.toHaveProperty('ReplicationStatus');
    expect(r.KmsKeyId).toBe('alias/eu');
    expect(r.VersionIdsToStages).toEqual(p.VersionIdsToStages);
    const v = await west.send(new GetSecretValueCommand({ SecretId: replicaArn }));
    expect(v).toMatchObject({ SecretString: 'v1', VersionId: token('v1'), ARN: replicaArn });
    const listed = await west.send(new ListSecretsCommand({ Filters: [{ Key: 'name', Values: [name] }] }));
    expect(listed.SecretList?.[0]?.PrimaryRegion).toBe(PRIMARY);
  });

  it('new versions and label moves reach the replica', async () => {
    // Prepare
    const name = uniqueName();
    await replicated(name);
    // Act
    await east.send(
      new PutSecretValueCommand({
        SecretId: name,
        SecretString: 'v2',
        ClientRequestToken: token('v2'),
        VersionStages: ['AWSPENDING'],
      }),
    );
    const pending = await west.send(new GetSecretValueCommand({ SecretId: name, VersionStage: 'AWSPENDING' }));
    await east.send(
      new UpdateSecretVersionStageCommand({
        SecretId: name,
        VersionStage: 'AWSCURRENT',
        MoveToVersionId: token('v2'),
        RemoveFromVersionId: token('v1'),
      }),
    );
    // Assess
    expect(pending.SecretString).toBe('v2');
    expect((await west.send(new GetSecretValueCommand({ SecretId: name }))).VersionId).toBe(token('v2'));
    const prev = await west.send(new GetSecretValueCommand({ SecretId: name, VersionStage: 'AWSPREVIOUS' }));
    expect(prev.VersionId).toBe(token('v1'));
  });

  it('with a lag, the replica serves the old state until the lag passes (flushReplication: at once)', async () => {
    // Prepare
    const name = uniqueName();
    await replicated(name);
    sm.setReplicationLag(60_000);
    try {
      // Act
      await east.send(
        new PutSecretValueCommand({ SecretId: name, SecretString: 'v2', ClientRequestToken: token('v2') }),
      );
      const during = await west.send(new GetSecretValueCommand({ SecretId: name }));
      sm.flushReplication();
      const after = await west.send(new GetSecretValueCommand({ SecretId: name }));
      // Assess
      expect(during.SecretString).toBe('v1');
      expect(after.SecretString).toBe('v2');
    } finally {
      sm.setReplicationLag(0);
    }
  });

  it('a real lag: changes arrive in order after replicationLagMs', async () => {
    // Prepare
    const lagged = await startLocalSecretsManager({
      regions: [REPLICA],
      replicationLagMs: 200,
      schedulerIntervalMs: 0,
    });
    const opts = { endpoint: lagged.endpoint, credentials: { accessKeyId: 'a', secretAccessKey: 'b' }, maxAttempts: 1 };
    const e = new SecretsManagerClient({ ...opts, region: PRIMARY });
    const w = new SecretsManagerClient({ ...opts, region: REPLICA });
    try {
      const name = uniqueName();
      await e.send(new CreateSecretCommand({ Name: name, SecretString: 'v1', ClientRequestToken: token('v1') }));
      // Act
      const out = await e.send(
        new ReplicateSecretToRegionsCommand({ SecretId: name, AddReplicaRegions: [{ Region: REPLICA }] }),
      );
      const before = await errorOf(w.send(new GetSecretValueCommand({ SecretId: name })));
      await e.send(new PutSecretValueCommand({ SecretId: name, SecretString: 'v2', ClientRequestToken: token('v2') }));
      let seen: string | undefined;
      for (let i = 0; i < 100 && seen !== 'v2'; i++) {
        await new Promise((r) => setTimeout(r, 50));
        seen = await w
          .send(new GetSecretValueCommand({ SecretId: name }))
          .then((v) => v.SecretString)
          .catch(() => undefined);
      }
      // Assess
      expect(out.ReplicationStatus?.[0]).toMatchObject({ Region: REPLICA, Status: 'InProgress' });
      expect(before.name).toBe('ResourceNotFoundException');
      expect(seen).toBe('v2');
      const d = await e.send(new DescribeSecretCommand({ SecretId: name }));
      expect(d.ReplicationStatus?.[0]).toMatchObject({ Status: 'InSync', KmsKeyId: 'alias/aws/secretsmanager' });
    } finally {
      e.destroy();
      w.destroy();
      await lagged.close();
    }
  });

  it('CreateSecret with AddReplicaRegions replicates at once', async () => {
    const name = uniqueName();
    const out = await east.send(
      new CreateSecretCommand({
        Name: name,
        SecretString: 'v',
        ClientRequestToken: token('c'),
        AddReplicaRegions: [{ Region: REPLICA }, { Region: 'ap-south-1', KmsKeyId: 'k' }],
      }),
    );
    expect(out.ReplicationStatus?.map((r) => [r.Region, r.Status])).toEqual([
      [REPLICA, 'InSync'],
      ['ap-south-1', 'InSync'],
    ]);
    expect((await clientIn('ap-south-1').send(new GetSecretValueCommand({ SecretId: name }))).SecretString).toBe('v');
  });

  it('refuses an unserved region, the primary region, and a region already replicated; creates nothing', async () => {
    const name = uniqueName();
    const bad = await errorOf(
      east.send(
        new CreateSecretCommand({
          Name: name,
          SecretString: 'v',
          ClientRequestToken: token('x'),
          AddReplicaRegions: [{ Region: 'xx-nowhere-9' }],
        }),
      ),
    );
    expect(bad.name).toBe('InvalidParameterException');
    expect((await errorOf(east.send(new DescribeSecretCommand({ SecretId: name })))).name).toBe(
      'ResourceNotFoundException',
    );
    await replicated(name);
    for (const Region of [PRIMARY, REPLICA]) {
      const e = await errorOf(
        east.send(new ReplicateSecretToRegionsCommand({ SecretId: name, AddReplicaRegions: [{ Region }] })),
      );
      expect(e.name).toBe('InvalidParameterException');
    }
  });

  it('a name taken in the replica region fails that replica unless ForceOverwriteReplicaSecret', async () => {
    // Prepare
    const name = uniqueName();
    await west.send(new CreateSecretCommand({ Name: name, SecretString: 'local', ClientRequestToken: token('l') }));
    await east.send(new CreateSecretCommand({ Name: name, SecretString: 'p', ClientRequestToken: token('p') }));
    // Act
    const failed = await east.send(
      new ReplicateSecretToRegionsCommand({ SecretId: name, AddReplicaRegions: [{ Region: REPLICA }] }),
    );
    await east.send(new RemoveRegionsFromReplicationCommand({ SecretId: name, RemoveReplicaRegions: [REPLICA] }));
    const forced = await east.send(
      new ReplicateSecretToRegionsCommand({
        SecretId: name,
        AddReplicaRegions: [{ Region: REPLICA }],
        ForceOverwriteReplicaSecret: true,
      }),
    );
    // Assess
    expect(failed.ReplicationStatus?.[0]).toMatchObject({
      Status: 'Failed',
      StatusMessage: 'Secret with this name already exists in this region',
    });
    expect(forced.ReplicationStatus?.[0]).toMatchObject({ Status: 'InSync' });
    expect((await west.send(new GetSecretValueCommand({ SecretId: name }))).SecretString).toBe('p');
  });
});

describe('replicas are read-only', () => {
  it('writes to a replica fail with InvalidParameterException, as AWS answers; reads and its own KMS key work', async () => {
    // Prepare
    const name = uniqueName();
    await replicated(name);
    // Act
    const writes = [
      west.send(new PutSecretValueCommand({ SecretId: name, SecretString: 'x', ClientRequestToken: token('x') })),
      west.send(new UpdateSecretCommand({ SecretId: name, Description: 'd' })),
      west.send(new TagResourceCommand({ SecretId: name, Tags: [{ Key: 'k', Value: 'v' }] })),
      west.send(new DeleteSecretCommand({ SecretId: name, ForceDeleteWithoutRecovery: true })),
      west.send(new ReplicateSecretToRegionsCommand({ SecretId: name, AddReplicaRegions: [{ Region: 'ap-south-1' }] })),
    ];
    // Assess
    for (const w of writes) expect(await errorOf(w)).toEqual({ name: 'InvalidParameterException', message: REFUSED });
    await west.send(new UpdateSecretCommand({ SecretId: name, KmsKeyId: 'alias/eu-2' }));
    expect((await west.send(new DescribeSecretCommand({ SecretId: name }))).KmsKeyId).toBe('alias/eu-2');
    expect((await west.send(new GetSecretValueCommand({ SecretId: name }))).SecretString).toBe('v1');
  });

  it('a primary with replicas cannot be deleted', async () => {
    const name = uniqueName();
    const { arn } = await replicated(name);
    const e = await errorOf(east.send(new DeleteSecretCommand({ SecretId: name, ForceDeleteWithoutRecovery: true })));
    expect(e).toEqual({
      name: 'InvalidParameterException',
      message: `You can't delete secret ${arn} that still has replica regions [${REPLICA}].`,
    });
  });
});

describe('RemoveRegionsFromReplication and StopReplicationToReplica', () => {
  it('RemoveRegionsFromReplication deletes the replica; the primary can then be deleted', async () => {
    const name = uniqueName();
    await replicated(name);
    const out = await east.send(
      new RemoveRegionsFromReplicationCommand({ SecretId: name, RemoveReplicaRegions: [REPLICA] }),
    );
    expect(out.ReplicationStatus).toEqual([]);
    expect((await errorOf(west.send(new GetSecretValueCommand({ SecretId: name })))).name).toBe(
      'ResourceNotFoundException',
    );
    expect(await east.send(new DescribeSecretCommand({ SecretId: name }))).not.toHaveProperty('PrimaryRegion');
    const again = await errorOf(
      east.send(new RemoveRegionsFromReplicationCommand({ SecretId: name, RemoveReplicaRegions: [REPLICA] })),
    );
    expect(again.name).toBe('InvalidParameterException');
    await east.send(new DeleteSecretCommand({ SecretId: name, ForceDeleteWithoutRecovery: true }));
  });

  it('StopReplicationToReplica promotes the replica: writable, no longer updated, the primary forgets it', async () => {
    // Prepare
    const name = uniqueName();
    const { replicaArn } = await replicated(name);
    // Act
    const onPrimary = await errorOf(east.send(new StopReplicationToReplicaCommand({ SecretId: name })));
    const out = await west.send(new StopReplicationToReplicaCommand({ SecretId: name }));
    await east.send(new PutSecretValueCommand({ SecretId: name, SecretString: 'p2', ClientRequestToken: token('p2') }));
    await west.send(new PutSecretValueCommand({ SecretId: name, SecretString: 'r2', ClientRequestToken: token('r2') }));
    // Assess
    expect(onPrimary.name).toBe('InvalidParameterException');
    expect(out.ARN).toBe(replicaArn);
    expect((await west.send(new GetSecretValueCommand({ SecretId: name }))).SecretString).toBe('r2');
    expect(await west.send(new DescribeSecretCommand({ SecretId: name }))).not.toHaveProperty('PrimaryRegion');
    expect(await east.send(new DescribeSecretCommand({ SecretId: name }))).not.toHaveProperty('ReplicationStatus');
  });
});

describe('dbcreds-local-sm flags', () => {
  it('--regions and --replication-lag map to the options; bad values and --state-file with --regions are usage errors', () => {
    expect(parseCliArgs(['--regions', 'us-west-2,eu-west-1', '--replication-lag', '250'])).toEqual({
      regions: ['us-west-2', 'eu-west-1'],
      replicationLagMs: 250,
    });
    expect(() => parseCliArgs(['--regions', 'nowhere'])).toThrow(/--regions must be region names/);
    expect(() => parseCliArgs(['--replication-lag', '1s'])).toThrow(/--replication-lag must be milliseconds/);
    expect(() => parseCliArgs(['--state-file', 'f.json', '--regions', 'us-west-2'])).toThrow(/not with --regions/);
  });

  it('startLocalSecretsManager rejects stateFile with regions, and bad regions or lag', async () => {
    await expect(startLocalSecretsManager({ regions: ['us-west-2'], stateFile: '/tmp/x.json' })).rejects.toThrow(
      TypeError,
    );
    await expect(startLocalSecretsManager({ regions: ['Nowhere'] })).rejects.toThrow(/regions must be/);
    await expect(startLocalSecretsManager({ replicationLagMs: -1 })).rejects.toThrow(/replicationLagMs/);
  });
});

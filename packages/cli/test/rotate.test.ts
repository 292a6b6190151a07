import {
  CreateSecretCommand,
  DescribeSecretCommand,
  PutSecretValueCommand,
  RotateSecretCommand,
  SecretsManagerClient,
  UpdateSecretVersionStageCommand,
} from '@aws-sdk/client-secrets-manager';
import { type LocalSecretsManager, startLocalSecretsManager } from '@dbcreds/local-secrets-manager';
import { afterEach, describe, expect, it } from 'vitest';
import { runCli } from '../src/index.js';
import { rotationLogHint, runRotate } from '../src/rotate.js';

const ARN = 'arn:aws:lambda:us-east-1:000000000000:function:my-rotator';
let sm: LocalSecretsManager | undefined;
let client: SecretsManagerClient | undefined;

afterEach(async () => {
  client?.destroy();
  await sm?.close();
  sm = client = undefined;
});

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return {
    io: { stdout: { write: (s: string) => out.push(s) }, stderr: { write: (s: string) => err.push(s) } },
    lines: { out: (s: string) => out.push(`${s}\n`), err: (s: string) => err.push(`${s}\n`) },
    out: () => out.join(''),
    err: () => err.join(''),
  };
}

/**
 * A local Secrets Manager whose rotator labels the new version AWSPENDING in createSecret (as every
 * rotation function does), runs `setSecret`, and moves AWSCURRENT in finishSecret.
 */
async function withRotator(mode: 'sync' | 'async', setSecret: () => Promise<void>): Promise<string> {
  sm = await startLocalSecretsManager({ rotationMode: mode, schedulerIntervalMs: 0 });
  client = new SecretsManagerClient({
    region: 'us-east-1',
    endpoint: sm.endpoint,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  const c = client;
  sm.registerRotator(ARN, async (event) => {
    if (event.Step === 'createSecret') {
      await c.send(
        new PutSecretValueCommand({
          SecretId: event.SecretId,
          ClientRequestToken: event.ClientRequestToken,
          SecretString: '{"password":"next"}',
          VersionStages: ['AWSPENDING'],
        }),
      );
    } else if (event.Step === 'setSecret') await setSecret();
    else if (event.Step === 'finishSecret') {
      const stages = (await c.send(new DescribeSecretCommand({ SecretId: event.SecretId }))).VersionIdsToStages ?? {};
      const current = Object.keys(stages).find((id) => stages[id]?.includes('AWSCURRENT'));
      await c.send(
        new UpdateSecretVersionStageCommand({
          SecretId: event.SecretId,
          VersionStage: 'AWSCURRENT',
          MoveToVersionId: event.ClientRequestToken,
          RemoveFromVersionId: current,
        }),
      );
    }
  });
  await client.send(new CreateSecretCommand({ Name: 'app/db', SecretString: '{"password":"first"}' }));
  // Configure rotation without rotating yet: RotateImmediately=false runs testSecret only.
  await client.send(new RotateSecretCommand({ SecretId: 'app/db', RotationLambdaARN: ARN, RotateImmediately: false }));
  sm.resetCounters();
  return sm.endpoint;
}

describe('dbcreds rotate against the local Secrets Manager', () => {
  it('reports the failing step and error at once, without waiting for --timeout', async () => {
    const endpoint = await withRotator('sync', async () => {
      throw new Error('ALTER ROLE failed: permission denied');
    });
    const c = capture();
    const code = await runCli(['rotate', '--secret-id', 'app/db', '--endpoint', endpoint, '--timeout', '600'], c.io);
    expect(c.err()).toMatch(
      /^dbcreds rotate: rotation failed at setSecret: ALTER ROLE failed: permission denied\nThe rotation stays unfinished until a reattempt succeeds/,
    );
    expect(code).toBe(1);
    expect(sm?.callCount('DescribeSecret')).toBe(1); // the first poll answered: no wait
  }, 10_000);

  it('reports a failure that happens while it polls (async rotation)', async () => {
    let fail: (err: Error) => void = () => {};
    const endpoint = await withRotator(
      'async',
      () =>
        new Promise<void>((_, reject) => {
          fail = reject;
        }),
    );
    const c = capture();
    const done = runRotate(
      { secretId: 'app/db', endpoint, region: undefined, timeoutMs: 600_000 },
      { ...c.lines, pollMs: 5 },
    );
    // Polls see AWSPENDING and no failure while setSecret hangs.
    while ((sm?.callCount('DescribeSecret') ?? 0) < 3) await new Promise((r) => setTimeout(r, 5));
    fail(new Error('connect ECONNREFUSED 127.0.0.1:5432'));
    expect(await done).toBe(1);
    expect(c.err()).toMatch(/^dbcreds rotate: rotation failed at setSecret: connect ECONNREFUSED 127\.0\.0\.1:5432\n/);
    const stages = (await client?.send(new DescribeSecretCommand({ SecretId: 'app/db' })))?.VersionIdsToStages;
    expect(Object.values(stages ?? {})).toContainEqual(['AWSPENDING']); // unfinished, as on AWS
  }, 10_000);

  it('on --timeout names where the rotation function logs', async () => {
    let release: (err: Error) => void = () => {};
    const endpoint = await withRotator(
      'async',
      () =>
        new Promise<void>((_, reject) => {
          release = reject;
        }),
    );
    const c = capture();
    expect(await runRotate({ secretId: 'app/db', endpoint, region: undefined, timeoutMs: 50 }, c.lines)).toBe(1);
    expect(c.err()).toMatch(
      /^dbcreds rotate: version \S+ is not AWSCURRENT after 0\.05s \(the rotation is unfinished or failed; AWSPENDING stays on it\)\.\nCheck the terminal running 'dbcreds local-sm'/,
    );
    release(new Error('released after the assertions')); // lets close() find the rotation idle
  }, 10_000);

  it('succeeds when the rotation finishes', async () => {
    const endpoint = await withRotator('sync', async () => {});
    const c = capture();
    expect(await runCli(['rotate', '--secret-id', 'app/db', '--endpoint', endpoint], c.io)).toBe(0);
    expect(c.out()).toMatch(/\nrotated: version \S+ is AWSCURRENT/);
  }, 10_000);
});

describe('rotationLogHint (where to look after a timeout against AWS)', () => {
  it("names the Lambda's CloudWatch log group in the function's region", () => {
    expect(rotationLogHint('arn:aws:lambda:eu-west-1:123456789012:function:rotate-app-db', 'us-east-1', false)).toBe(
      "Check the rotation function's logs: CloudWatch log group /aws/lambda/rotate-app-db (eu-west-1), e.g. aws logs tail /aws/lambda/rotate-app-db --region eu-west-1 --since 10m",
    );
    expect(rotationLogHint(undefined, 'us-east-1', false)).toBe(
      'The secret has no rotation function (RotationLambdaARN) configured.',
    );
  });
});

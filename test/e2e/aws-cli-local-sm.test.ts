import { execFile, execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalSecretsManager, startLocalSecretsManager } from '@dbcreds/local-secrets-manager';

const uniqueName = (prefix: string): string => `${prefix}-${Math.random().toString(36).slice(2, 10)}`;

/**
 * The local Secrets Manager's issue #28 behaviours driven through a second real client, the AWS CLI v2
 * (Debian's `awscli`). It needs no database; it lives with the integration tests because it starts the
 * Python CLI about 40 times (a second or more each), too slow for the unit project.
 * Set AWS_CLI to a v2 binary to choose one; without a v2 CLI on this machine the suite is skipped and
 * says why. BatchGetSecretValue is left out: Debian's CLI 2.9.19 predates it (the SDK tests cover it).
 */
function findCliV2(): { bin?: string; reason: string } {
  const candidates = [process.env.AWS_CLI, '/usr/bin/aws', '/usr/local/bin/aws', 'aws'].filter(
    (c): c is string => typeof c === 'string' && c !== '',
  );
  const seen: string[] = [];
  for (const bin of candidates) {
    try {
      const version = execFileSync(bin, ['--version'], { encoding: 'utf8', timeout: 30_000 }).trim();
      if (/^aws-cli\/2\./.test(version)) return { bin, reason: version };
      seen.push(`${bin}: ${version.split(' ')[0]}`);
    } catch {
      // not installed at this path
    }
  }
  return {
    reason: `no AWS CLI v2 found (${seen.join(', ') || 'none installed'}); apt-get install awscli or set AWS_CLI`,
  };
}

const cli = findCliV2();
if (!cli.bin) console.warn(`[aws-cli.test] skipped: ${cli.reason}`);

interface CliResult {
  code: number;
  json: any;
  stderr: string;
}

let sm: LocalSecretsManager;
const LAMBDA = 'arn:aws:lambda:us-east-1:000000000000:function:cli-rotator';

/** Runs `aws secretsmanager <args>` against the local SM with throwaway credentials and no user config. */
function aws(...args: string[]): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(
      cli.bin!,
      ['secretsmanager', ...args, '--endpoint-url', sm.endpoint, '--output', 'json'],
      {
        timeout: 60_000,
        env: {
          PATH: process.env.PATH,
          HOME: process.env.HOME,
          AWS_ACCESS_KEY_ID: 'AKIDLOCALCLI',
          AWS_SECRET_ACCESS_KEY: 'local-cli-secret',
          AWS_DEFAULT_REGION: 'us-east-1',
          AWS_CONFIG_FILE: '/nonexistent/aws-config',
          AWS_SHARED_CREDENTIALS_FILE: '/nonexistent/aws-credentials',
          AWS_PAGER: '',
          AWS_MAX_ATTEMPTS: '1',
          AWS_EC2_METADATA_DISABLED: 'true',
        },
      },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
        resolve({ code, json: stdout.trim() ? JSON.parse(stdout) : {}, stderr });
      },
    );
  });
}

/** The CLI prints `An error occurred (Code) when calling the Op operation: message` and exits 254. */
function expectError(r: CliResult, code: string): void {
  expect(r.code, r.stderr).not.toBe(0);
  expect(r.stderr).toContain(`(${code})`);
}

// One CLI start takes about a second on a quiet machine and over ten on a saturated one; a test makes
// up to ten, so the timeout only catches a hang.
describe.skipIf(!cli.bin)('AWS CLI v2 against the local Secrets Manager', { timeout: 300_000 }, () => {
  beforeAll(async () => {
    sm = await startLocalSecretsManager({ schedulerIntervalMs: 0 });
    sm.registerRotator(LAMBDA, async () => {});
  });
  afterAll(async () => {
    await sm?.close();
  });

  it('tag-resource appends and untag-resource removes; the aws: prefix is reserved', async () => {
    const name = uniqueName('cli');
    expect((await aws('create-secret', '--name', name, '--secret-string', 'v')).code).toBe(0);
    expect(
      (await aws('tag-resource', '--secret-id', name, '--tags', 'Key=team,Value=a', 'Key=env,Value=dev')).code,
    ).toBe(0);
    expect((await aws('untag-resource', '--secret-id', name, '--tag-keys', 'team')).code).toBe(0);
    expect((await aws('describe-secret', '--secret-id', name)).json.Tags).toEqual([{ Key: 'env', Value: 'dev' }]);
    expectError(
      await aws('tag-resource', '--secret-id', name, '--tags', 'Key=aws:x,Value=y'),
      'InvalidParameterException',
    );
  });

  it('resource policies: put/get/delete, malformed documents and BlockPublicPolicy refused', async () => {
    const name = uniqueName('cli');
    await aws('create-secret', '--name', name, '--secret-string', 'v');
    const policy = JSON.stringify({
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Principal: '*', Action: 'secretsmanager:GetSecretValue', Resource: '*' }],
    });
    expectError(
      await aws('put-resource-policy', '--secret-id', name, '--resource-policy', policy, '--block-public-policy'),
      'PublicPolicyException',
    );
    expectError(
      await aws('put-resource-policy', '--secret-id', name, '--resource-policy', '{oops'),
      'MalformedPolicyDocumentException',
    );
    const validated = await aws('validate-resource-policy', '--resource-policy', '{oops');
    expect(validated.json.PolicyValidationPassed).toBe(false);
    expect((await aws('put-resource-policy', '--secret-id', name, '--resource-policy', policy)).code).toBe(0);
    expect((await aws('get-resource-policy', '--secret-id', name)).json.ResourcePolicy).toBe(policy);
    expect((await aws('delete-resource-policy', '--secret-id', name)).code).toBe(0);
    expect((await aws('get-resource-policy', '--secret-id', name)).json).not.toHaveProperty('ResourcePolicy');
  });

  it('list-secrets filters: case-sensitive name prefix, all by words, invalid values refused', async () => {
    const base = uniqueName('CliCase');
    await aws('create-secret', '--name', `${base}-x`, '--secret-string', 'v', '--description', 'judge database');
    const names = async (...filters: string[]) =>
      ((await aws('list-secrets', '--filters', ...filters)).json.SecretList ?? []).map((s: { Name: string }) => s.Name);
    expect(await names(`Key=name,Values=${base}`)).toEqual([`${base}-x`]);
    expect(await names(`Key=name,Values=${base.toLowerCase()}`)).toEqual([]);
    expect(await names(`Key=name,Values=${base}`, 'Key=all,Values=Judge')).toEqual([`${base}-x`]);
    expectError(await aws('list-secrets', '--filters', 'Key=name,Values=judge*'), 'ValidationException');
  });

  it('put-secret-value after a finished rotation ends with {v2: [AWSPREVIOUS], v3: [AWSCURRENT]}', async () => {
    const name = uniqueName('cli');
    const [v1, v2, v3] = ['1', '2', '3'].map((n) => `${n}`.repeat(36));
    await aws('create-secret', '--name', name, '--secret-string', 'S1', '--client-request-token', v1!);
    await aws(
      'put-secret-value',
      '--secret-id',
      name,
      '--secret-string',
      'S2',
      '--client-request-token',
      v2!,
      '--version-stages',
      'AWSPENDING',
    );
    await aws(
      'update-secret-version-stage',
      '--secret-id',
      name,
      '--version-stage',
      'AWSCURRENT',
      '--move-to-version-id',
      v2!,
      '--remove-from-version-id',
      v1!,
    );
    await aws('put-secret-value', '--secret-id', name, '--secret-string', 'S3', '--client-request-token', v3!);
    const stages = (await aws('describe-secret', '--secret-id', name)).json.VersionIdsToStages;
    expect(stages).toEqual({ [v2!]: ['AWSPREVIOUS'], [v3!]: ['AWSCURRENT'] });
  });

  it('response shapes: no VersionIdsToStages without a value, no PrimaryRegion, KmsKeyIds, AutomaticallyAfterDays', async () => {
    const empty = uniqueName('cli');
    await aws('create-secret', '--name', empty);
    const d = (await aws('describe-secret', '--secret-id', empty)).json;
    expect(d).not.toHaveProperty('VersionIdsToStages');
    expect(d).not.toHaveProperty('PrimaryRegion');
    const name = uniqueName('cli');
    await aws('create-secret', '--name', name, '--secret-string', 'v');
    expect((await aws('list-secret-version-ids', '--secret-id', name)).json.Versions[0].KmsKeyIds).toEqual([
      'DefaultEncryptionKey',
    ]);
    const rotated = await aws(
      'rotate-secret',
      '--secret-id',
      name,
      '--rotation-lambda-arn',
      LAMBDA,
      '--rotation-rules',
      '{"ScheduleExpression":"rate(10 days)"}',
      '--no-rotate-immediately',
    );
    expect(rotated.code, rotated.stderr).toBe(0);
    expect((await aws('describe-secret', '--secret-id', name)).json.RotationRules).toEqual({
      AutomaticallyAfterDays: 10,
      ScheduleExpression: 'rate(10 days)',
    });
  });

  it('create-secret --add-replica-regions is refused, not ignored', async () => {
    const name = uniqueName('cli');
    expectError(
      await aws('create-secret', '--name', name, '--secret-string', 'v', '--add-replica-regions', 'Region=eu-west-1'),
      'InvalidRequestException',
    );
    expectError(await aws('describe-secret', '--secret-id', name), 'ResourceNotFoundException');
  });
});

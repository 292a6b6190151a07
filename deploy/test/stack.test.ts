import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, type CfnElement, type Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { afterAll, describe, expect, it } from 'vitest';
import { addServiceStack, stackNameFor } from '../src/app.js';
import { DEPLOY_DIR } from '../src/lambda-bundle.js';
import {
  DeployParameterError,
  type DeployParams,
  ENGINES,
  type RawParams,
  ROTATIONS,
  resolveParams,
  STRATEGIES,
} from '../src/params.js';
import type { DbcredsServiceStack } from '../src/stack.js';

const outRoot = mkdtempSync(join(tmpdir(), 'dbcreds-cdk-'));
afterAll(() => rmSync(outRoot, { recursive: true, force: true }));
const IMAGE = '123456789012.dkr.ecr.eu-west-1.amazonaws.com/dbcreds-example:knex';

interface Synthesized {
  params: DeployParams;
  stack: DbcredsServiceStack;
  template: Template;
  json: Record<string, any>;
  outdir: string;
}

/** One synth per parameter set (cdk-nag runs in it: an unacknowledged finding throws). */
function synth(raw: RawParams): Synthesized {
  const outdir = mkdtempSync(join(outRoot, 'app-'));
  const app = new App({ outdir });
  const params = resolveParams(raw);
  const stack = addServiceStack(app, params);
  const assembly = app.synth();
  expect(assembly.manifest.missing ?? [], 'a context lookup would need AWS').toEqual([]);
  const json = assembly.getStackByName(stack.stackName).template;
  return { params, stack, template: Template.fromJSON(json), json, outdir };
}

const logicalId = (stack: Stack, construct: { node: { defaultChild?: unknown } }) =>
  stack.getLogicalId(construct.node.defaultChild as CfnElement);
const resources = (json: Record<string, any>, type: string) =>
  Object.entries(json.Resources as Record<string, any>).filter(([, r]) => r.Type === type);
const statements = (doc: any): any[] => doc?.Statement ?? [];
const list = (x: unknown): unknown[] => (Array.isArray(x) ? x : [x]);

/** Every security group rule as "from -> to:port" with group names (tests assert the exact set). */
function rules(s: Synthesized): string[] {
  const names = new Map(
    Object.entries(s.stack.parts.securityGroups).map(([name, group]) => [logicalId(s.stack, group), name]),
  );
  const ref = (v: any): string => {
    if (v?.['Fn::GetAtt']?.[1] === 'GroupId') return names.get(v['Fn::GetAtt'][0]) ?? `?${v['Fn::GetAtt'][0]}`;
    if (v?.['Fn::GetAtt']?.[0]?.startsWith('S3PrefixList')) return 's3-prefix-list';
    return JSON.stringify(v);
  };
  const out: string[] = [];
  for (const [, r] of resources(s.json, 'AWS::EC2::SecurityGroupIngress')) {
    const p = r.Properties;
    out.push(`${p.CidrIp ?? ref(p.SourceSecurityGroupId)} -> ${ref(p.GroupId)}:${p.FromPort}-${p.ToPort}`);
  }
  for (const [, r] of resources(s.json, 'AWS::EC2::SecurityGroupEgress')) {
    const p = r.Properties;
    if (p.CidrIp === '255.255.255.255/32' && p.IpProtocol === 'icmp') continue; // CDK's "disallow all" marker
    out.push(
      `${ref(p.GroupId)} -> ${p.CidrIp ?? ref(p.DestinationSecurityGroupId ?? p.DestinationPrefixListId)}:${p.FromPort}-${p.ToPort}`,
    );
  }
  for (const [id, r] of resources(s.json, 'AWS::EC2::SecurityGroup')) {
    expect(r.Properties.SecurityGroupIngress ?? [], `${id} has inline ingress`).toEqual([]);
    expect(r.Properties.SecurityGroupEgress ?? [], `${id} has inline egress`).toEqual([]);
  }
  return out.sort();
}

function expectedRules(p: DeployParams): string[] {
  const db = p.engine === 'aurora-postgresql' ? 5432 : 3306;
  const paths: Array<[string, string, number]> = [
    ['alb', 'task', 3000],
    ['task', 'db', db],
    ['rotation', 'db', db],
    ['bootstrap', 'db', db],
    ['task', 'smEndpoint', 443],
    ['rotation', 'smEndpoint', 443],
    ['bootstrap', 'smEndpoint', 443],
    ['task', 'platformEndpoints', 443],
  ];
  return [
    '0.0.0.0/0 -> alb:80-80',
    // each path is an egress rule on the source group and an ingress rule on the target group
    ...paths.flatMap(([from, to, port]) => Array(2).fill(`${from} -> ${to}:${port}-${port}`)),
    'task -> s3-prefix-list:443-443',
    'bootstrap -> s3-prefix-list:443-443',
  ].sort();
}

const COMBOS = ENGINES.flatMap((engine) =>
  STRATEGIES.flatMap((strategy) => ROTATIONS.map((rotation) => ({ engine, strategy, rotation }))),
);

describe.each(COMBOS)('stack $engine / $strategy / $rotation rotation', (combo) => {
  // The first combination builds the image from the repository (Docker asset); the others use a URI.
  const first = combo === COMBOS[0];
  const s = synth({ ...combo, ...(first ? {} : { image: IMAGE }), schedule: 'rate(6 hours)', window: '3h' });
  const { stack, template, json, params } = s;
  const ids = {
    appSecret: logicalId(stack, stack.parts.appSecret),
    masterSecret: logicalId(stack, stack.parts.masterSecret),
    taskRole: logicalId(stack, stack.parts.taskDefinition.taskRole),
  };

  it('cdk-nag AwsSolutions ran: no open finding, every acknowledged one has a reason', () => {
    const report = JSON.parse(readFileSync(join(s.outdir, 'validation-report.json'), 'utf8'));
    const nag = report.pluginReports.find((r: any) => r.pluginName === 'AwsSolutions');
    expect(nag.conclusion).toBe('success');
    expect(nag.violations).toEqual([]);
    expect(nag.suppressedViolations.length).toBeGreaterThan(5); // it did find (and we acknowledged) things
    for (const v of nag.suppressedViolations) expect(v.reason.length, v.ruleName).toBeGreaterThan(30);
  });

  it('names the stack after engine and strategy', () => {
    expect(stack.stackName).toBe(stackNameFor(params));
  });

  it('rotates the app secret on the schedule and window given, the master secret every 30 days', () => {
    const schedules = resources(json, 'AWS::SecretsManager::RotationSchedule').map(([, r]) => r.Properties);
    expect(schedules).toHaveLength(2);
    const app = schedules.find((r) => r.SecretId.Ref === ids.appSecret);
    const master = schedules.find((r) => r.SecretId.Ref === ids.masterSecret);
    expect(app.RotationRules).toEqual({ ScheduleExpression: 'rate(6 hours)', Duration: '3h' });
    expect(master.RotationRules).toEqual({ ScheduleExpression: 'rate(30 days)' });
    const pg = params.engine === 'aurora-postgresql';
    if (params.rotation === 'hosted') {
      const type = `${pg ? 'PostgreSQL' : 'MySQL'}${params.strategy === 'single-user' ? 'SingleUser' : 'MultiUser'}`;
      expect(app.HostedRotationLambda.RotationType).toBe(type);
      expect(master.HostedRotationLambda.RotationType).toBe(`${pg ? 'PostgreSQL' : 'MySQL'}SingleUser`);
      const rotationSg = logicalId(stack, stack.parts.securityGroups.rotation);
      expect(app.HostedRotationLambda.VpcSecurityGroupIds).toEqual({ 'Fn::GetAtt': [rotationSg, 'GroupId'] });
      if (params.strategy === 'alternating-users') {
        expect(app.HostedRotationLambda.MasterSecretArn).toEqual({ Ref: ids.masterSecret });
      }
      expect(json.Transform).toContain('AWS::SecretsManager-2024-09-16');
    } else {
      expect(app.RotationLambdaARN['Fn::GetAtt'][0]).toBe(logicalId(stack, stack.parts.rotationFunction!));
      expect(app.HostedRotationLambda).toBeUndefined();
    }
  });

  it('alternating users: the app secret carries masterarn', () => {
    const [, secret] = resources(json, 'AWS::SecretsManager::Secret').find(([id]) => id.startsWith('AppSecret'))!;
    const template = JSON.stringify(secret.Properties.GenerateSecretString.SecretStringTemplate);
    expect(template.includes('masterarn')).toBe(params.strategy === 'alternating-users');
  });

  it('least privilege: the task role reads exactly the app secret; no secretsmanager:* or * resource on Secrets Manager', () => {
    const policies = resources(json, 'AWS::IAM::Policy').map(([, r]) => r.Properties);
    for (const policy of policies) {
      for (const st of statements(policy.PolicyDocument)) {
        const actions = list(st.Action) as string[];
        expect(actions).not.toContain('secretsmanager:*');
        expect(actions.some((a) => a === '*')).toBe(false);
        if (actions.some((a) => a.startsWith('secretsmanager:')) && list(st.Resource).includes('*')) {
          expect(actions, 'only GetRandomPassword has no resource type').toEqual(['secretsmanager:GetRandomPassword']);
        }
      }
    }
    const taskPolicies = policies.filter((p) => p.Roles.some((r: any) => r.Ref === ids.taskRole));
    const taskStatements = taskPolicies
      .flatMap((p) => statements(p.PolicyDocument))
      .map((st) => ({ ...st, Action: [...list(st.Action)].sort() }));
    expect(taskStatements).toEqual([
      {
        Effect: 'Allow',
        Action: ['secretsmanager:GetSecretValue'],
        Resource: { Ref: ids.appSecret },
      },
    ]);
    // kms:Decrypt only with a customer managed key (then in that key's policy, via Secrets Manager only).
    const keys = resources(json, 'AWS::KMS::Key');
    expect(keys).toHaveLength(params.secretKey === 'customer' ? 1 : 0);
  });

  it('no database password in the task definition: the environment names the secret, no ECS secrets', () => {
    const [[, task]] = resources(json, 'AWS::ECS::TaskDefinition') as [[string, any]];
    const [container] = task.Properties.ContainerDefinitions;
    expect(container.Secrets).toBeUndefined();
    const env = Object.fromEntries(container.Environment.map((e: any) => [e.Name, e.Value]));
    expect(env.DBCREDS_SECRET_ID).toEqual({ Ref: ids.appSecret });
    expect(Object.keys(env).filter((k) => /PASS|PWD|CREDENTIAL/i.test(k))).toEqual([]);
    expect(JSON.stringify(task)).not.toMatch(/resolve:secretsmanager|SecretString|password/i);
    expect(container.User).toBe('10001');
    expect(container.ReadonlyRootFilesystem).toBe(true);
  });

  it('security groups allow exactly the needed paths', () => {
    expect(Object.keys(stack.parts.securityGroups)).toHaveLength(resources(json, 'AWS::EC2::SecurityGroup').length);
    expect(rules(s)).toEqual(expectedRules(params));
  });

  it('Aurora is encrypted, in the isolated subnets, behind its own security group', () => {
    template.hasResourceProperties('AWS::RDS::DBCluster', {
      StorageEncrypted: true,
      Engine: params.engine,
      VpcSecurityGroupIds: [{ 'Fn::GetAtt': [logicalId(stack, stack.parts.securityGroups.db), 'GroupId'] }],
    });
    template.resourceCountIs('AWS::EC2::NatGateway', 0);
    template.hasResourceProperties('AWS::EC2::VPCEndpoint', {
      ServiceName: `com.amazonaws.${params.region}.secretsmanager`,
      PrivateDnsEnabled: true,
      VpcEndpointType: 'Interface',
    });
  });

  // Registered only where it applies (no skipped tests).
  const dbcredsOnly = params.rotation === 'dbcreds' ? it : () => {};
  dbcredsOnly('our rotation Lambda is bundled locally and runs in the VPC', () => {
    const fn = stack.parts.rotationFunction!;
    const [, res] = resources(json, 'AWS::Lambda::Function').find(([id]) => id === logicalId(stack, fn))!;
    const rotationSg = logicalId(stack, stack.parts.securityGroups.rotation);
    expect(res.Properties.VpcConfig.SecurityGroupIds).toEqual([{ 'Fn::GetAtt': [rotationSg, 'GroupId'] }]);
    const isolated = stack.parts.vpc.isolatedSubnets.map((sn) => logicalId(stack, sn));
    expect(res.Properties.VpcConfig.SubnetIds.map((r: any) => r.Ref).sort()).toEqual(isolated.sort());
    expect(res.Properties.Handler).toBe('index.handler');
    expect(res.Properties.Environment.Variables.ROTATION_STRATEGY).toBe(params.strategy);
    const hash = String(res.Properties.Code.S3Key).replace(/\.zip$/, '');
    const bundle = join(s.outdir, `asset.${hash}`, 'index.mjs');
    expect(existsSync(bundle)).toBe(true);
    expect(statSync(bundle).size).toBeGreaterThan(100_000); // pg, mysql2 and the SDK are inside
  });

  (first ? it : () => {})('the default image is built from deploy/Dockerfile (Docker asset, small context)', () => {
    const assets = JSON.parse(readFileSync(join(s.outdir, `${stack.stackName}.assets.json`), 'utf8'));
    const [image] = Object.values(assets.dockerImages) as any[];
    expect(image.source.dockerFile).toBe('deploy/Dockerfile');
    expect(image.source.dockerBuildArgs).toEqual({ EXAMPLE: 'knex' });
    expect(existsSync(join(s.outdir, image.source.directory, 'deploy', 'Dockerfile'))).toBe(true);
    expect(existsSync(join(s.outdir, image.source.directory, 'node_modules'))).toBe(false);
  });
});

describe('customer managed key', () => {
  const s = synth({ secretKey: 'customer', image: IMAGE, strategy: 'alternating-users' });
  it('lets the task role kms:Decrypt that key through Secrets Manager only, nothing else', () => {
    const taskRole = logicalId(s.stack, s.stack.parts.taskDefinition.taskRole);
    const [[, key]] = resources(s.json, 'AWS::KMS::Key') as [[string, any]];
    const forTask = statements(key.Properties.KeyPolicy).filter(
      (st) => st.Principal?.AWS?.['Fn::GetAtt']?.[0] === taskRole,
    );
    expect(forTask).toEqual([
      {
        Effect: 'Allow',
        Action: 'kms:Decrypt',
        Principal: { AWS: { 'Fn::GetAtt': [taskRole, 'Arn'] } },
        Resource: '*', // in a key policy, "*" is this key
        Condition: { StringEquals: { 'kms:ViaService': 'secretsmanager.us-east-1.amazonaws.com' } },
      },
    ]);
    const taskPolicy = resources(s.json, 'AWS::IAM::Policy').find(([, r]) =>
      r.Properties.Roles.some((x: any) => x.Ref === taskRole),
    )![1];
    expect(JSON.stringify(taskPolicy)).not.toContain('kms:');
  });
});

describe('invalid parameters fail synthesis with a message naming the parameter', () => {
  const fails = (raw: RawParams, parameter: string, message: RegExp) => {
    let caught: unknown;
    try {
      addServiceStack(new App({ outdir: mkdtempSync(join(outRoot, 'bad-')) }), resolveParams(raw));
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(DeployParameterError);
    expect((caught as DeployParameterError).parameter).toBe(parameter);
    expect((caught as Error).message).toMatch(new RegExp(`"${parameter}"`));
    expect((caught as Error).message).toMatch(message);
  };
  it.each([
    [{ schedule: 'cron(5 4 * * ? *)' }, 'schedule', /Minutes must be 0/],
    [{ schedule: 'cron(0 4 * * ? 2027)' }, 'schedule', /Year must be \*/],
    [{ schedule: 'rate(2 hours)' }, 'schedule', /minimum rotation rate is 4 hours/],
    [{ schedule: 'every day' }, 'schedule', /rate\(N hours\|days\)/],
    [{ schedule: 'rate(4 hours)', window: '5h' }, 'window', /must not be longer than the interval/],
    [{ schedule: 'cron(0 4/6 * * ? *)', window: '7h' }, 'window', /must not reach the next rotation window/],
    [{ schedule: 'cron(0 20 * * ? *)', window: '5h' }, 'window', /next UTC day/],
    [{ window: '90m' }, 'window', /whole hours/],
    [{ engine: 'oracle' }, 'engine', /aurora-postgresql, aurora-mysql/],
    [{ strategy: 'multi' }, 'strategy', /single-user, alternating-users/],
    [{ rotation: 'lambda' }, 'rotation', /hosted, dbcreds/],
    [{ azs: 'eu-west-1a' }, 'azs', /two or more zones/],
    [{ stratgy: 'single-user' } as RawParams, 'stratgy', /unknown parameter/],
  ] as Array<[RawParams, string, RegExp]>)('%o → %s', (raw, parameter, message) => fails(raw, parameter, message));

  it('`cdk synth` (bin/app.ts) exits 1 with that message', () => {
    const run = spawnSync(process.execPath, ['--import', 'tsx', 'bin/app.ts'], {
      cwd: DEPLOY_DIR,
      encoding: 'utf8',
      env: {
        ...process.env,
        CDK_CONTEXT_JSON: JSON.stringify({ schedule: 'cron(30 4 * * ? *)' }),
        CDK_OUTDIR: outRoot,
      },
      timeout: 60_000,
    });
    expect(run.status).toBe(1);
    expect(run.stderr).toContain('Invalid deploy parameter "schedule" (-c schedule=cron(30 4 * * ? *))');
    expect(run.stderr).toContain('Minutes must be 0');
  });
});

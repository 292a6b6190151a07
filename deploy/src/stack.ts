import { join } from 'node:path';
import {
  aws_certificatemanager as acm,
  CfnOutput,
  CustomResource,
  Duration,
  aws_ec2 as ec2,
  aws_ecs as ecs,
  aws_elasticloadbalancingv2 as elbv2,
  aws_iam as iam,
  aws_kms as kms,
  aws_lambda as lambda,
  aws_logs as logs,
  aws_rds as rds,
  RemovalPolicy,
  aws_s3 as s3,
  aws_secretsmanager as secretsmanager,
  Stack,
  type StackProps,
} from 'aws-cdk-lib';
import * as cr from 'aws-cdk-lib/custom-resources';
import type { Construct } from 'constructs';
import { bundleLambda, DEPLOY_DIR } from './lambda-bundle.js';
import type { DeployParams } from './params.js';

/** The container port of the example services (their PORT). */
export const APP_PORT = 3000;
/**
 * Characters generated passwords leave out: the AWS templates' set plus what @dbcreds/rotation
 * excludes by default, so CDK's initial passwords and rotated ones look alike.
 */
const EXCLUDE_CHARACTERS = ' %+~`#$&*()|[]{}:;<>?!\'/@"\\=^,';
/** The master secret rotates on its own, fixed schedule (only rotation and bootstrap use it). */
const MASTER_SCHEDULE = 'rate(30 days)';

/** Handles the tests (and users extending the stack) reach for. */
export interface DbcredsServiceParts {
  vpc: ec2.Vpc;
  cluster: rds.DatabaseCluster;
  appSecret: secretsmanager.ISecret;
  masterSecret: secretsmanager.ISecret;
  secretsKey: kms.Key | undefined;
  taskDefinition: ecs.FargateTaskDefinition;
  service: ecs.FargateService;
  rotationFunction: lambda.Function | undefined;
  securityGroups: Record<
    'alb' | 'task' | 'db' | 'rotation' | 'bootstrap' | 'smEndpoint' | 'platformEndpoints',
    ec2.SecurityGroup
  >;
}

const sg = (scope: Construct, id: string, vpc: ec2.IVpc, description: string) =>
  new ec2.SecurityGroup(scope, id, { vpc, description, allowAllOutbound: false, disableInlineRules: true });

/**
 * VPC (public subnets for the load balancer only; isolated subnets without NAT for everything else,
 * with interface endpoints), Aurora Serverless v2 (encrypted), the master and app secrets with
 * rotation (AWS hosted, or the @dbcreds/rotation handler as our own Lambda), a bootstrap custom
 * resource that creates the app user, and the example service on Fargate behind an ALB. The task
 * gets the secret's ARN, never its value: dbcreds reads it at run time.
 */
export class DbcredsServiceStack extends Stack {
  readonly params: DeployParams;
  readonly parts: DbcredsServiceParts;

  constructor(scope: Construct, id: string, params: DeployParams, props: StackProps = {}) {
    super(scope, id, { ...props, env: { region: params.region, ...props.env } });
    this.params = params;
    const p = params;
    const isPg = p.engine === 'aurora-postgresql';
    const dbPort = isPg ? 5432 : 3306;
    const isolated: ec2.SubnetSelection = { subnetType: ec2.SubnetType.PRIVATE_ISOLATED };

    // ---- network -------------------------------------------------------------------------------
    const vpc = new ec2.Vpc(this, 'Vpc', {
      availabilityZones: p.azs,
      natGateways: 0,
      // No resource uses the default security group; restricting it needs a custom resource Lambda.
      restrictDefaultSecurityGroup: false,
      subnetConfiguration: [
        { name: 'public', subnetType: ec2.SubnetType.PUBLIC, cidrMask: 24 },
        { name: 'private', subnetType: ec2.SubnetType.PRIVATE_ISOLATED, cidrMask: 22 },
      ],
      gatewayEndpoints: { S3: { service: ec2.GatewayVpcEndpointAwsService.S3, subnets: [isolated] } },
      flowLogs: { all: { trafficType: ec2.FlowLogTrafficType.REJECT } },
    });
    const groups = {
      alb: sg(this, 'AlbSg', vpc, 'Load balancer: the internet to the listener, the listener to the tasks'),
      task: sg(this, 'TaskSg', vpc, 'Service tasks'),
      db: sg(this, 'DbSg', vpc, 'Aurora cluster'),
      rotation: sg(this, 'RotationSg', vpc, 'Rotation functions'),
      bootstrap: sg(this, 'BootstrapSg', vpc, 'Bootstrap function (creates the app user)'),
      smEndpoint: sg(this, 'SecretsManagerEndpointSg', vpc, 'Secrets Manager interface endpoint'),
      platformEndpoints: sg(this, 'PlatformEndpointsSg', vpc, 'ECR and CloudWatch Logs interface endpoints'),
    };
    const endpointOpts = { subnets: isolated, open: false, privateDnsEnabled: true };
    vpc.addInterfaceEndpoint('SecretsManagerEndpoint', {
      ...endpointOpts,
      service: ec2.InterfaceVpcEndpointAwsService.SECRETS_MANAGER,
      securityGroups: [groups.smEndpoint],
    });
    // Fargate pulls the image (ECR API + registry, layers from S3) and ships logs from isolated subnets.
    for (const [name, service] of [
      ['EcrApiEndpoint', ec2.InterfaceVpcEndpointAwsService.ECR],
      ['EcrDockerEndpoint', ec2.InterfaceVpcEndpointAwsService.ECR_DOCKER],
      ['LogsEndpoint', ec2.InterfaceVpcEndpointAwsService.CLOUDWATCH_LOGS],
    ] as const) {
      vpc.addInterfaceEndpoint(name, { ...endpointOpts, service, securityGroups: [groups.platformEndpoints] });
    }
    const https = ec2.Port.tcp(443);
    const db = ec2.Port.tcp(dbPort);
    const s3Prefix = ec2.Peer.prefixList(this.s3PrefixListId());
    // Exactly these paths (asserted by the tests):
    const listenerPort = p.certificateArn ? 443 : 80;
    groups.alb.addIngressRule(ec2.Peer.anyIpv4(), ec2.Port.tcp(listenerPort), 'Clients to the listener');
    allow(groups.alb, groups.task, ec2.Port.tcp(APP_PORT), 'Load balancer to the service');
    allow(groups.task, groups.db, db, 'Service to the database');
    allow(groups.task, groups.smEndpoint, https, 'Service to Secrets Manager');
    allow(groups.task, groups.platformEndpoints, https, 'Image pull and logs');
    groups.task.addEgressRule(s3Prefix, https, 'Image layers from S3 (gateway endpoint)');
    allow(groups.rotation, groups.db, db, 'Rotation to the database');
    allow(groups.rotation, groups.smEndpoint, https, 'Rotation to Secrets Manager');
    allow(groups.bootstrap, groups.db, db, 'Bootstrap to the database');
    allow(groups.bootstrap, groups.smEndpoint, https, 'Bootstrap to Secrets Manager');
    groups.bootstrap.addEgressRule(s3Prefix, https, 'CloudFormation response (pre-signed S3 URL, gateway endpoint)');

    // ---- database and secrets ------------------------------------------------------------------
    const secretsKey =
      p.secretKey === 'customer'
        ? new kms.Key(this, 'SecretsKey', { enableKeyRotation: true, description: 'dbcreds database secrets' })
        : undefined;
    const masterSecret = new rds.DatabaseSecret(this, 'MasterSecret', {
      username: 'dbadmin',
      encryptionKey: secretsKey,
      excludeCharacters: EXCLUDE_CHARACTERS,
    });
    const clusterIdentifier = `${this.stackName}-db`.toLowerCase();
    const dbLogs = isPg ? ['postgresql'] : ['audit', 'error', 'slowquery'];
    const cluster = new rds.DatabaseCluster(this, 'Database', {
      engine: isPg
        ? rds.DatabaseClusterEngine.auroraPostgres({ version: rds.AuroraPostgresEngineVersion.VER_17_9 })
        : rds.DatabaseClusterEngine.auroraMysql({ version: rds.AuroraMysqlEngineVersion.VER_3_12_0 }),
      credentials: rds.Credentials.fromSecret(masterSecret),
      defaultDatabaseName: p.dbName,
      vpc,
      vpcSubnets: isolated,
      securityGroups: [groups.db],
      writer: rds.ClusterInstance.serverlessV2('writer'),
      readers: [rds.ClusterInstance.serverlessV2('reader', { scaleWithWriter: true })],
      serverlessV2MinCapacity: 0.5,
      serverlessV2MaxCapacity: 4,
      storageEncrypted: true,
      iamAuthentication: false,
      deletionProtection: p.deletionProtection,
      removalPolicy: p.deletionProtection ? RemovalPolicy.SNAPSHOT : RemovalPolicy.DESTROY,
      backup: { retention: Duration.days(7) },
      clusterIdentifier,
      cloudwatchLogsExports: dbLogs,
    });
    // The log groups RDS writes to, created first with a retention (no log-retention Lambda).
    for (const name of dbLogs) {
      const group = new logs.LogGroup(this, `DbLogs-${name}`, {
        logGroupName: `/aws/rds/cluster/${clusterIdentifier}/${name}`,
        retention: logs.RetentionDays.ONE_MONTH,
      });
      cluster.node.addDependency(group);
    }
    // RDS JSON shape (engine, host, port, username, password, dbname; masterarn for alternating users).
    const appSecret = new rds.DatabaseSecret(this, 'AppSecret', {
      username: p.appUsername,
      dbname: p.dbName,
      encryptionKey: secretsKey,
      excludeCharacters: EXCLUDE_CHARACTERS,
      masterSecret: p.strategy === 'alternating-users' ? masterSecret : undefined,
    }).attach(cluster);

    // ---- bootstrap: the app user exists before the first rotation -------------------------------
    const bootstrapFn = new lambda.Function(this, 'BootstrapFunction', {
      description: 'Creates the app database user (from the app secret), its grants and the notes table',
      runtime: lambda.Runtime.NODEJS_24_X,
      code: lambda.Code.fromAsset(bundleLambda('bootstrap')),
      handler: 'index.handler',
      timeout: Duration.minutes(2),
      memorySize: 256,
      vpc,
      vpcSubnets: isolated,
      securityGroups: [groups.bootstrap],
      environment: isPg ? { PGSSLMODE: 'no-verify' } : {},
      logGroup: new logs.LogGroup(this, 'BootstrapLogs', { retention: logs.RetentionDays.ONE_MONTH }),
    });
    const masterAttached = cluster.secret!;
    masterAttached.grantRead(bootstrapFn);
    appSecret.grantRead(bootstrapFn);
    const bootstrap = new CustomResource(this, 'Bootstrap', {
      serviceToken: bootstrapFn.functionArn,
      resourceType: 'Custom::DbcredsBootstrap',
      properties: {
        MasterSecretArn: masterAttached.secretArn,
        AppSecretArn: appSecret.secretArn,
        AppUsername: p.appUsername,
      },
    });
    bootstrap.node.addDependency(cluster, bootstrapFn.role!, groups.bootstrap);

    // ---- rotation ------------------------------------------------------------------------------
    const rotationFunction =
      p.rotation === 'dbcreds' ? this.dbcredsRotation(p, vpc, isolated, groups.rotation) : undefined;
    const appRotation = appSecret.addRotationSchedule('Rotation', {
      ...(rotationFunction
        ? { rotationLambda: rotationFunction(p.strategy) }
        : { hostedRotation: this.hostedRotation(p, vpc, isolated, groups.rotation, masterAttached) }),
      // Replaced by setRules (ScheduleExpression + Duration); the L2 validates 4 h-1000 d.
      automaticallyAfter: Duration.millis(Math.max(4 * 3_600_000, p.parsedSchedule.intervalMs)),
    });
    setRules(appRotation, p.schedule, `${p.windowHours}h`);
    if (rotationFunction && p.strategy === 'alternating-users') masterAttached.grantRead(rotationFunction(p.strategy));
    const masterRotation = masterAttached.addRotationSchedule('Rotation', {
      ...(rotationFunction
        ? { rotationLambda: rotationFunction('single-user') }
        : { hostedRotation: this.hostedRotation({ ...p, strategy: 'single-user' }, vpc, isolated, groups.rotation) }),
      automaticallyAfter: Duration.days(30),
    });
    setRules(masterRotation, MASTER_SCHEDULE, undefined);
    // The first (immediate) rotations need the app user; rotating the master during bootstrap would race it.
    appRotation.node.addDependency(bootstrap);
    masterRotation.node.addDependency(bootstrap);

    // ---- service -------------------------------------------------------------------------------
    const ecsCluster = new ecs.Cluster(this, 'Cluster', {
      vpc,
      containerInsightsV2: ecs.ContainerInsights.ENABLED,
    });
    const taskDefinition = new ecs.FargateTaskDefinition(this, 'Task', {
      cpu: 256,
      memoryLimitMiB: 512,
      runtimePlatform: {
        cpuArchitecture: ecs.CpuArchitecture.X86_64,
        operatingSystemFamily: ecs.OperatingSystemFamily.LINUX,
      },
    });
    const image = p.image
      ? ecs.ContainerImage.fromRegistry(p.image)
      : ecs.ContainerImage.fromAsset(join(DEPLOY_DIR, '..'), {
          file: 'deploy/Dockerfile',
          buildArgs: { EXAMPLE: p.example },
          exclude: DOCKER_CONTEXT_EXCLUDE,
        });
    taskDefinition.addContainer('app', {
      image,
      essential: true,
      readonlyRootFilesystem: true,
      user: '10001',
      portMappings: [{ containerPort: APP_PORT }],
      // The secret's ARN only. Never `secrets:` / a password variable: ECS resolves those once at task
      // start, so every rotation would need a restart (see deploy/README.md).
      environment: {
        DBCREDS_SECRET_ID: appSecret.secretArn,
        AWS_REGION: this.region,
        PORT: String(APP_PORT),
        HOST: '0.0.0.0',
        ...(isPg ? { PGSSLMODE: 'verify-full', NODE_EXTRA_CA_CERTS: '/etc/ssl/certs/rds-global-bundle.pem' } : {}),
      },
      logging: ecs.LogDrivers.awsLogs({
        streamPrefix: 'app',
        logGroup: new logs.LogGroup(this, 'AppLogs', { retention: logs.RetentionDays.ONE_MONTH }),
      }),
      healthCheck: {
        command: ['CMD', 'node', 'dist/healthcheck.js'],
        interval: Duration.seconds(30),
        timeout: Duration.seconds(5),
        retries: 3,
        startPeriod: Duration.seconds(20),
      },
    });
    // GetSecretValue on this secret, the only call @dbcreds/core makes (grantRead would add DescribeSecret),
    // and kms:Decrypt via Secrets Manager on a customer key.
    taskDefinition.taskRole.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: ['secretsmanager:GetSecretValue'], resources: [appSecret.secretArn] }),
    );
    appSecret.encryptionKey?.grantDecrypt(
      new kms.ViaServicePrincipal(`secretsmanager.${this.region}.amazonaws.com`, taskDefinition.taskRole),
    );
    const service = new ecs.FargateService(this, 'Service', {
      cluster: ecsCluster,
      taskDefinition,
      desiredCount: p.desiredCount,
      vpcSubnets: isolated,
      securityGroups: [groups.task],
      assignPublicIp: false,
      minHealthyPercent: 100,
      maxHealthyPercent: 200,
      circuitBreaker: { rollback: true },
    });
    service.node.addDependency(bootstrap);

    const accessLogs = new s3.Bucket(this, 'AlbAccessLogs', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      lifecycleRules: [{ expiration: Duration.days(90) }],
      removalPolicy: RemovalPolicy.RETAIN,
    });
    const alb = new elbv2.ApplicationLoadBalancer(this, 'Alb', {
      vpc,
      internetFacing: true,
      vpcSubnets: { subnetType: ec2.SubnetType.PUBLIC },
      securityGroup: groups.alb,
      dropInvalidHeaderFields: true,
    });
    alb.logAccessLogs(accessLogs);
    const listener = alb.addListener('Listener', {
      port: listenerPort,
      open: false,
      ...(p.certificateArn
        ? {
            protocol: elbv2.ApplicationProtocol.HTTPS,
            certificates: [acm.Certificate.fromCertificateArn(this, 'Certificate', p.certificateArn)],
            sslPolicy: elbv2.SslPolicy.RECOMMENDED_TLS,
          }
        : { protocol: elbv2.ApplicationProtocol.HTTP }),
    });
    listener.addTargets('App', {
      port: APP_PORT,
      protocol: elbv2.ApplicationProtocol.HTTP,
      targets: [service],
      healthCheck: { path: '/health', healthyHttpCodes: '200', interval: Duration.seconds(15) },
      deregistrationDelay: Duration.seconds(30),
    });

    new CfnOutput(this, 'ServiceUrl', { value: `${p.certificateArn ? 'https' : 'http'}://${alb.loadBalancerDnsName}` });
    new CfnOutput(this, 'AppSecretArn', { value: appSecret.secretArn });
    new CfnOutput(this, 'ClusterEndpoint', { value: cluster.clusterEndpoint.hostname });

    this.parts = {
      vpc,
      cluster,
      appSecret,
      masterSecret: masterAttached,
      secretsKey,
      taskDefinition,
      service,
      rotationFunction: rotationFunction?.(p.strategy),
      securityGroups: groups,
    };
  }

  /**
   * The id of the region's S3 prefix list (`com.amazonaws.<region>.s3`, what the S3 gateway endpoint
   * routes), read at deploy time: a synth-time lookup would need AWS credentials.
   */
  private s3PrefixListId(): string {
    const lookup = new cr.AwsCustomResource(this, 'S3PrefixList', {
      onUpdate: {
        service: 'EC2',
        action: 'describeManagedPrefixLists',
        parameters: { Filters: [{ Name: 'prefix-list-name', Values: [`com.amazonaws.${this.region}.s3`] }] },
        physicalResourceId: cr.PhysicalResourceId.of(`s3-prefix-list-${this.region}`),
        outputPaths: ['PrefixLists.0.PrefixListId'],
      },
      policy: cr.AwsCustomResourcePolicy.fromSdkCalls({ resources: cr.AwsCustomResourcePolicy.ANY_RESOURCE }),
      installLatestAwsSdk: false,
    });
    return lookup.getResponseField('PrefixLists.0.PrefixListId');
  }

  /** AWS hosted rotation (the `AWS::SecretsManager-2024-09-16` transform creates the function). */
  private hostedRotation(
    p: DeployParams,
    vpc: ec2.IVpc,
    vpcSubnets: ec2.SubnetSelection,
    group: ec2.SecurityGroup,
    masterSecret?: secretsmanager.ISecret,
  ): secretsmanager.HostedRotation {
    const opts = { vpc, vpcSubnets, securityGroups: [group], excludeCharacters: EXCLUDE_CHARACTERS };
    const isPg = p.engine === 'aurora-postgresql';
    if (p.strategy === 'single-user') {
      return isPg
        ? secretsmanager.HostedRotation.postgreSqlSingleUser(opts)
        : secretsmanager.HostedRotation.mysqlSingleUser(opts);
    }
    const multi = { ...opts, masterSecret: masterSecret! };
    return isPg
      ? secretsmanager.HostedRotation.postgreSqlMultiUser(multi)
      : secretsmanager.HostedRotation.mysqlMultiUser(multi);
  }

  /** The @dbcreds/rotation Lambda, one function per strategy used, bundled locally with esbuild. */
  private dbcredsRotation(
    p: DeployParams,
    vpc: ec2.IVpc,
    vpcSubnets: ec2.SubnetSelection,
    group: ec2.SecurityGroup,
  ): (strategy: DeployParams['strategy']) => lambda.Function {
    const code = lambda.Code.fromAsset(bundleLambda('rotation'));
    const made = new Map<string, lambda.Function>();
    return (strategy) => {
      let fn = made.get(strategy);
      if (fn) return fn;
      const id = strategy === 'single-user' ? 'RotationSingleUser' : 'RotationAlternatingUsers';
      fn = new lambda.Function(this, id, {
        description: `@dbcreds/rotation ${strategy} (${p.engine})`,
        runtime: lambda.Runtime.NODEJS_24_X,
        code,
        handler: 'index.handler',
        timeout: Duration.minutes(1),
        memorySize: 256,
        vpc,
        vpcSubnets,
        securityGroups: [group],
        environment: {
          ROTATION_STRATEGY: strategy,
          EXCLUDE_CHARACTERS,
          ...(p.engine === 'aurora-postgresql' ? { PGSSLMODE: 'no-verify' } : {}),
        },
        logGroup: new logs.LogGroup(this, `${id}Logs`, { retention: logs.RetentionDays.ONE_MONTH }),
      });
      made.set(strategy, fn);
      return fn;
    };
  }
}

/** Files the image build does not need (the Docker context is the repository root). */
export const DOCKER_CONTEXT_EXCLUDE = [
  '**/node_modules',
  '**/dist',
  '.git',
  '.tools',
  '**/.tmp',
  'deploy/cdk.out',
  'deploy/.build',
  'bench/results',
  '**/generated',
];

function allow(from: ec2.SecurityGroup, to: ec2.SecurityGroup, port: ec2.Port, description: string): void {
  from.addEgressRule(to, port, description);
  to.addIngressRule(from, port, description);
}

/** ScheduleExpression + Duration (UTC), which the L2 RotationSchedule does not expose. */
function setRules(schedule: secretsmanager.RotationSchedule, expression: string, duration: string | undefined): void {
  const cfn = schedule.node.defaultChild as secretsmanager.CfnRotationSchedule;
  cfn.addPropertyOverride('RotationRules', {
    ScheduleExpression: expression,
    ...(duration ? { Duration: duration } : {}),
  });
}

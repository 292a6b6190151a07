import { type Stack, Validations } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';

const BASIC =
  'AwsSolutions::AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]';
const VPC_ACCESS =
  'AwsSolutions::AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole]';
const STAR = 'AwsSolutions::AwsSolutions-IAM5[Resource::*]';

/** [construct path under the stack, finding id, why it is acceptable]. Paths missing in a variant are skipped. */
const ACKNOWLEDGED: ReadonlyArray<readonly [string, string, string]> = [
  [
    'AlbSg',
    'AwsSolutions::AwsSolutions-EC23',
    'Public entry point: the listener port only (80, or 443 with -c certificateArn).',
  ],
  [
    'AlbAccessLogs',
    'AwsSolutions::AwsSolutions-S1',
    'This bucket holds the ALB access logs; logging it would need another bucket (and so on).',
  ],
  [
    'Task',
    'AwsSolutions::AwsSolutions-ECS2',
    'The environment holds only the secret ARN, region, port and TLS settings, never a secret value (asserted by the tests). The password is read at run time through dbcreds.',
  ],
  [
    'Task/ExecutionRole',
    STAR,
    'ecr:GetAuthorizationToken has no resource-level permissions; the pull actions are scoped to the repository by CDK.',
  ],
  [
    'Database',
    'AwsSolutions::AwsSolutions-RDS6',
    'This stack demonstrates password authentication with Secrets Manager rotation (IAM database authentication is the alternative, see deploy/README.md).',
  ],
  [
    'Database',
    'AwsSolutions::AwsSolutions-RDS11',
    'The default port: the cluster is reachable only from the listed security groups in isolated subnets; a non-default port hides nothing from them.',
  ],
  [
    'Database',
    'AwsSolutions::AwsSolutions-RDS14',
    'Backtrack is an Aurora MySQL recovery feature unrelated to credentials; point-in-time restore (7 days) is on.',
  ],
  ['BootstrapFunction', BASIC, 'Logging to CloudWatch Logs (AWS managed, log actions only).'],
  [
    'BootstrapFunction',
    VPC_ACCESS,
    'ENI management for a function in the VPC; these EC2 actions have no resource-level permissions.',
  ],
  ['RotationSingleUser', BASIC, 'Logging to CloudWatch Logs (AWS managed, log actions only).'],
  [
    'RotationSingleUser',
    VPC_ACCESS,
    'ENI management for a function in the VPC; these EC2 actions have no resource-level permissions.',
  ],
  [
    'RotationSingleUser',
    STAR,
    'secretsmanager:GetRandomPassword has no resource type; every other action is scoped to the rotated secret.',
  ],
  ['RotationAlternatingUsers', BASIC, 'Logging to CloudWatch Logs (AWS managed, log actions only).'],
  [
    'RotationAlternatingUsers',
    VPC_ACCESS,
    'ENI management for a function in the VPC; these EC2 actions have no resource-level permissions.',
  ],
  [
    'RotationAlternatingUsers',
    STAR,
    'secretsmanager:GetRandomPassword has no resource type; every other action is scoped to the rotated secret and the master secret.',
  ],
  [
    'S3PrefixList',
    STAR,
    'ec2:DescribeManagedPrefixLists has no resource-level permissions (reads the S3 prefix list id at deploy time).',
  ],
  [
    'AWS679f53fac002430cb0da5b7982bd2287',
    BASIC,
    'CDK AwsCustomResource provider logging (AWS managed, log actions only).',
  ],
];

/** Acknowledges the cdk-nag AwsSolutions findings this stack accepts, each with its reason. */
export function applyNagSuppressions(stack: Stack): void {
  for (const [path, id, reason] of ACKNOWLEDGED) {
    const target: IConstruct | undefined = stack.node.tryFindChild(path.split('/')[0]!);
    const node = path.includes('/') ? target?.node.tryFindChild(path.split('/')[1]!) : target;
    if (node) Validations.of(node).acknowledge({ id, reason });
  }
}

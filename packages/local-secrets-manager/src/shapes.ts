import type { InputShape } from './validate.js';

const s = 'string' as const;
const i = 'integer' as const;
const b = 'boolean' as const;
const l = 'list' as const;

/** Input shapes of the supported operations ([type, required] per member; unknown members are rejected). */
export const SHAPES: Record<string, InputShape> = {
  CreateSecret: {
    Name: [s, true],
    ClientRequestToken: [s, false],
    Description: [s, false],
    KmsKeyId: [s, false],
    SecretString: [s, false],
    SecretBinary: [s, false],
    Tags: [l, false],
    ForceOverwriteReplicaSecret: [b, false],
    AddReplicaRegions: [l, false],
  },
  GetSecretValue: { SecretId: [s, true], VersionId: [s, false], VersionStage: [s, false] },
  PutSecretValue: {
    SecretId: [s, true],
    ClientRequestToken: [s, false],
    SecretString: [s, false],
    SecretBinary: [s, false],
    VersionStages: [l, false],
    RotationToken: [s, false],
  },
  UpdateSecret: {
    SecretId: [s, true],
    ClientRequestToken: [s, false],
    Description: [s, false],
    KmsKeyId: [s, false],
    SecretString: [s, false],
    SecretBinary: [s, false],
  },
  DescribeSecret: { SecretId: [s, true] },
  ListSecretVersionIds: {
    SecretId: [s, true],
    MaxResults: [i, false],
    NextToken: [s, false],
    IncludeDeprecated: [b, false],
  },
  ListSecrets: {
    IncludePlannedDeletion: [b, false],
    MaxResults: [i, false],
    NextToken: [s, false],
    Filters: [l, false],
    SortOrder: [s, false],
    SortBy: [s, false],
  },
  UpdateSecretVersionStage: {
    SecretId: [s, true],
    VersionStage: [s, true],
    RemoveFromVersionId: [s, false],
    MoveToVersionId: [s, false],
  },
  DeleteSecret: { SecretId: [s, true], RecoveryWindowInDays: [i, false], ForceDeleteWithoutRecovery: [b, false] },
  RestoreSecret: { SecretId: [s, true] },
  GetRandomPassword: {
    PasswordLength: [i, false],
    ExcludeCharacters: [s, false],
    ExcludeNumbers: [b, false],
    ExcludePunctuation: [b, false],
    ExcludeUppercase: [b, false],
    ExcludeLowercase: [b, false],
    IncludeSpace: [b, false],
    RequireEachIncludedType: [b, false],
  },
  RotateSecret: {
    SecretId: [s, true],
    ClientRequestToken: [s, false],
    RotationLambdaARN: [s, false],
    RotationRules: ['structure', false],
    RotateImmediately: [b, false],
    ExternalSecretRotationMetadata: [l, false],
    ExternalSecretRotationRoleArn: [s, false],
  },
  CancelRotateSecret: { SecretId: [s, true] },
};

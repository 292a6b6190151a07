import type { SecretsManagerClient, SecretsManagerClientConfig } from '@aws-sdk/client-secrets-manager';

/** The event Secrets Manager sends to a rotation function, once per step. */
export interface RotationEvent {
  Step: string;
  /** The secret's ARN (a name or partial ARN also works in-process). */
  SecretId: string;
  /** The VersionId of the version being created (registered with AWSPENDING before createSecret). */
  ClientRequestToken: string;
  /** Present when rotation runs through an assumed role; forwarded to PutSecretValue. */
  RotationToken?: string;
}

export type RotationStep = 'createSecret' | 'setSecret' | 'testSecret' | 'finishSecret';

export type RotationStrategy = 'single-user' | 'alternating-users';

export type RotationEngine = 'mysql' | 'mariadb' | 'aurora-mysql' | 'postgres' | 'aurora-postgresql';

/** Structured logger. Messages and fields never contain passwords. */
export interface RotationLogger {
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

export interface RotationHandlerOptions {
  /** `single-user` changes the user's own password; `alternating-users` flips between `u` and `u_clone`. Required. */
  strategy: RotationStrategy;
  /** Secrets Manager client to use. Default: `new SecretsManagerClient(clientConfig ?? {})`. */
  client?: SecretsManagerClient;
  /** Config for the client created when `client` is not given. */
  clientConfig?: SecretsManagerClientConfig;
  /** Length of generated passwords (GetRandomPassword `PasswordLength`). Default 32; 8–4096. */
  passwordLength?: number;
  /** Characters generated passwords never contain. Default {@link DEFAULT_EXCLUDE_CHARACTERS}. */
  excludeCharacters?: string;
  /**
   * Maximum clone username length (alternating-users). Default 32 characters for MySQL/MariaDB
   * (MySQL 5.7+; use 16 for MySQL 5.6 and older); PostgreSQL is always capped at 63 bytes.
   */
  usernameLimit?: number;
  /** Database connect timeout in milliseconds. Default 5000. */
  connectTimeoutMs?: number;
  /** Timeout for each SQL statement in milliseconds. Default 10000. */
  queryTimeoutMs?: number;
  /** TLS options passed to the driver (`ssl` of pg / mysql2). Default: none. */
  ssl?: boolean | Record<string, unknown>;
  /** Custom password generator (replaces GetRandomPassword). Must return a non-empty string. */
  generatePassword?: () => string | Promise<string>;
  /** Logger. Default: silent. */
  logger?: RotationLogger;
}

/** The database secret JSON (as written by RDS / the AWS rotation templates). */
export interface DbSecretValue {
  engine?: string;
  host?: string;
  port?: number | string;
  username: string;
  password: string;
  dbname?: string;
  /** ARN of the superuser secret (alternating-users). */
  masterarn?: string;
  [key: string]: unknown;
}

import { randomBytes } from 'node:crypto';
import {
  CreateSecretCommand,
  DescribeSecretCommand,
  GetSecretValueCommand,
  RotateSecretCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { ConfigurationError, DbCredsError } from '@dbcreds/core';
import { type LocalSecretsManager, type RotationEvent, startLocalSecretsManager } from '@dbcreds/local-secrets-manager';
import { createRotationHandler, type RotationStrategy } from '@dbcreds/rotation';
import { createDbAdmin } from './admin.js';
import { startEmbeddedPostgres } from './postgres.js';
import type { DbAdmin, Login, ServerInfo, StackEngine } from './types.js';

export interface LocalStackOptions {
  /** `postgres` (default): a private embedded PostgreSQL; `mysql`: the MariaDB/MySQL server from `server` or env. */
  engine?: StackEngine;
  /**
   * Use this server instead. Default for `postgres`: a new embedded server (removed on close); for
   * `mysql`: DBCREDS_MYSQL_HOST (127.0.0.1), DBCREDS_MYSQL_PORT (3306), DBCREDS_MYSQL_USER (root),
   * DBCREDS_MYSQL_PASSWORD (empty).
   */
  server?: ServerInfo;
  /** Region in ARNs and the returned env. Default `us-east-1`. */
  region?: string;
  /** Local Secrets Manager port. Default 0 (free port). */
  port?: number;
  /** Prefix of database, user and secret names (a random suffix is added). Default `dbcreds_demo`. */
  name?: string;
  /** How often the local Secrets Manager checks for due scheduled rotations, in ms. Default 250. */
  schedulerIntervalMs?: number;
  /** Called after every successful rotation step (e.g. to force new connections). */
  onRotationStep?: (step: RotationEvent['Step'], strategy: RotationStrategy) => void | Promise<void>;
  /** Diagnostic lines (server start-up); never secret values. Default: discarded. */
  onLog?: (line: string) => void;
}

/** A database, an app user, its secret and a local Secrets Manager with rotation functions. */
export interface LocalStack {
  readonly engine: StackEngine;
  readonly region: string;
  /** Local Secrets Manager endpoint, e.g. `http://127.0.0.1:41234`. */
  readonly endpoint: string;
  /** Name of the app's secret (RDS JSON shape: engine, host, port, username, password, dbname, masterarn). */
  readonly secretId: string;
  readonly secretArn: string;
  /** Name of the master (superuser) secret used by alternating-users rotation. */
  readonly masterSecretId: string;
  readonly database: { host: string; port: number; dbname: string };
  /** The app user and its alternating-users clone (`<user>_clone`). */
  readonly usernames: readonly [string, string];
  /**
   * Environment for an app: DBCREDS_SECRET_ID, AWS_REGION, AWS_ENDPOINT_URL_SECRETS_MANAGER and
   * dummy AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY (the local Secrets Manager does not check them).
   */
  readonly env: Readonly<Record<string, string>>;
  /** Client config for the local Secrets Manager (endpoint, region, dummy credentials). */
  readonly clientConfig: {
    endpoint: string;
    region: string;
    credentials: { accessKeyId: string; secretAccessKey: string };
  };
  readonly sm: LocalSecretsManager;
  /** A client of the local Secrets Manager for administration (not the app's). */
  readonly client: SecretsManagerClient;
  /** Administrative side channel to the database server. */
  readonly admin: DbAdmin;
  /** ARN of the in-process rotation function of a strategy. */
  rotatorArn(strategy: RotationStrategy): string;
  /** RotateSecret now with this strategy; resolves when AWSCURRENT moved, throws {@link RotationFailedError}. */
  rotate(strategy: RotationStrategy): Promise<{ versionId: string }>;
  /** RotateSecret with `rate(N seconds)` (development-only short interval), without rotating immediately. */
  schedule(strategy: RotationStrategy, seconds: number): Promise<void>;
  /** Credentials of the AWSCURRENT or AWSPREVIOUS version (for proofs: never log them). */
  credentials(stage: 'AWSCURRENT' | 'AWSPREVIOUS'): Promise<Login & { versionId: string }>;
  /** Stops everything it started and drops what it created. Idempotent. */
  close(): Promise<void>;
}

/** A rotation run ended without moving AWSCURRENT. */
export class RotationFailedError extends DbCredsError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, { cause: options?.cause, code: 'DBCREDS_ROTATION_FAILED' });
  }
}

const KNOWN = new Set(['engine', 'server', 'region', 'port', 'name', 'schedulerIntervalMs', 'onRotationStep', 'onLog']);

/** The MariaDB/MySQL server of `engine: 'mysql'`: DBCREDS_MYSQL_HOST/PORT/USER/PASSWORD (127.0.0.1, 3306, root, empty). */
export function mysqlServerFromEnv(): ServerInfo {
  const env = process.env;
  return {
    engine: 'mysql',
    host: env.DBCREDS_MYSQL_HOST || '127.0.0.1',
    port: Number(env.DBCREDS_MYSQL_PORT || 3306),
    database: 'mysql',
    adminUser: env.DBCREDS_MYSQL_USER || 'root',
    adminPassword: env.DBCREDS_MYSQL_PASSWORD ?? '',
  };
}

const password = () => randomBytes(24).toString('base64url');

/**
 * Starts a database (embedded PostgreSQL by default), a local Secrets Manager with in-process
 * @dbcreds/rotation functions for both strategies, an app database + user + `notes` table, and the
 * app's secret. Used by `dbcreds demo`, the examples' `start:local` and their smoke tests.
 */
export async function startLocalStack(options: LocalStackOptions = {}): Promise<LocalStack> {
  const unknown = Object.keys(options).filter((k) => !KNOWN.has(k));
  if (unknown.length > 0) {
    throw new ConfigurationError(`startLocalStack: unknown option(s) ${unknown.join(', ')}`, { keys: unknown });
  }
  const engine = options.server?.engine ?? options.engine ?? 'postgres';
  const region = options.region ?? 'us-east-1';
  const suffix = randomBytes(3).toString('hex');
  const base = `${options.name ?? 'dbcreds_demo'}_${suffix}`;
  const appUser = `${base}`;
  const cloneUser = `${base}_clone`;
  const masterUser = `${base}_master`;
  const cleanups: Array<() => Promise<unknown>> = [];
  let closed: Promise<void> | undefined;
  const close = () => {
    closed ??= (async () => {
      for (const step of cleanups.reverse()) await step().catch(() => {});
    })();
    return closed;
  };

  try {
    let server = options.server;
    if (!server && engine === 'postgres') {
      const pg = await startEmbeddedPostgres({ onLog: options.onLog });
      cleanups.push(pg.stop);
      server = pg.server;
    }
    server ??= mysqlServerFromEnv();
    const admin = createDbAdmin(server);
    cleanups.push(() => admin.close());
    const app = { database: base, username: appUser, password: password() };
    cleanups.push(async () => {
      await admin.killSessions([appUser, cloneUser, masterUser]);
      await admin.dropApp({ database: base, usernames: [cloneUser, appUser, masterUser] });
    });
    await admin.setupApp(app);
    const master = { username: masterUser, password: password() };
    await admin.createMaster(master);

    const sm = await startLocalSecretsManager({
      region,
      allowShortRotationIntervals: true,
      schedulerIntervalMs: options.schedulerIntervalMs ?? 250,
    });
    cleanups.push(() => sm.close());
    const clientConfig = {
      endpoint: sm.endpoint,
      region,
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    };
    const client = new SecretsManagerClient({ ...clientConfig, maxAttempts: 1 });
    cleanups.push(async () => client.destroy());

    const secretEngine = engine === 'postgres' ? 'postgres' : 'mysql';
    const common = { engine: secretEngine, host: server.host, port: server.port };
    const masterOut = await client.send(
      new CreateSecretCommand({
        Name: `${base}/master`,
        SecretString: JSON.stringify({ ...common, username: master.username, password: master.password }),
      }),
    );
    const appOut = await client.send(
      new CreateSecretCommand({
        Name: `${base}/app`,
        SecretString: JSON.stringify({
          ...common,
          username: app.username,
          password: app.password,
          dbname: app.database,
          masterarn: masterOut.ARN,
        }),
      }),
    );
    const secretArn = appOut.ARN!;
    const secretId = `${base}/app`;
    const arns: Record<RotationStrategy, string> = {
      'single-user': `arn:aws:lambda:${region}:000000000000:function:dbcreds-rotation-single-user`,
      'alternating-users': `arn:aws:lambda:${region}:000000000000:function:dbcreds-rotation-alternating-users`,
    };
    for (const strategy of ['single-user', 'alternating-users'] as const) {
      const handler = createRotationHandler({ strategy, client });
      sm.registerRotator(arns[strategy], async (event) => {
        await handler(event);
        await options.onRotationStep?.(event.Step, strategy);
      });
    }

    const currentVersion = async () => {
      const stages = (await client.send(new DescribeSecretCommand({ SecretId: secretId }))).VersionIdsToStages ?? {};
      return Object.entries(stages).find(([, labels]) => labels.includes('AWSCURRENT'))?.[0];
    };

    const stack: LocalStack = {
      engine,
      region,
      endpoint: sm.endpoint,
      secretId,
      secretArn,
      masterSecretId: `${base}/master`,
      database: { host: server.host, port: server.port, dbname: app.database },
      usernames: [appUser, cloneUser],
      env: {
        DBCREDS_SECRET_ID: secretId,
        AWS_REGION: region,
        AWS_ENDPOINT_URL_SECRETS_MANAGER: sm.endpoint,
        AWS_ACCESS_KEY_ID: 'local',
        AWS_SECRET_ACCESS_KEY: 'local',
      },
      clientConfig,
      sm,
      client,
      admin,
      rotatorArn: (strategy) => arns[strategy],
      async rotate(strategy) {
        const before = await currentVersion();
        await client.send(
          new RotateSecretCommand({ SecretId: secretId, RotationLambdaARN: arns[strategy], RotateImmediately: true }),
        );
        await sm.idle();
        const after = await currentVersion();
        if (!after || after === before) {
          const failure = sm.lastRotationError(secretId);
          throw new RotationFailedError(
            `${strategy} rotation of ${secretId} failed${failure ? ` at ${failure.step}: ${failure.message}` : ''}`,
          );
        }
        return { versionId: after };
      },
      async schedule(strategy, seconds) {
        await client.send(
          new RotateSecretCommand({
            SecretId: secretId,
            RotationLambdaARN: arns[strategy],
            RotationRules: { ScheduleExpression: `rate(${seconds} seconds)` },
            RotateImmediately: false,
          }),
        );
      },
      async credentials(stage) {
        const out = await client.send(new GetSecretValueCommand({ SecretId: secretId, VersionStage: stage }));
        const value = JSON.parse(out.SecretString ?? '{}') as Login;
        return { username: value.username, password: value.password, versionId: out.VersionId! };
      },
      close,
    };
    return stack;
  } catch (err) {
    await close();
    throw err;
  }
}

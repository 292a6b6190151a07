import {
  DescribeSecretCommand,
  type DescribeSecretCommandOutput,
  GetRandomPasswordCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
  SecretsManagerClient,
  UpdateSecretVersionStageCommand,
} from '@aws-sdk/client-secrets-manager';
import { mysqlDriver } from './engines/mysql.js';
import { postgresDriver } from './engines/postgres.js';
import type { DbAccount, DbSession, EngineDriver } from './engines/types.js';
import {
  DatabaseLoginError,
  DatabaseStatementError,
  RotationError,
  RotationStateError,
  SecretsManagerCallError,
  SecretValueError,
} from './errors.js';
import { resolveOptions, type ResolvedOptions } from './options.js';
import { alternateUsername, checkUsernameLength, type EngineFamily, engineFamily, parseDbSecret } from './secret.js';
import type { DbSecretValue, RotationEvent, RotationHandlerOptions, RotationLogger, RotationStep } from './types.js';

const STEPS: readonly RotationStep[] = ['createSecret', 'setSecret', 'testSecret', 'finishSecret'];
const DRIVERS: Record<EngineFamily, EngineDriver> = { mysql: mysqlDriver, postgres: postgresDriver };

/** A rotation function: call it with each Secrets Manager rotation event. */
export type RotationHandler = (event: RotationEvent) => Promise<void>;

/**
 * Creates a Secrets Manager rotation function for MySQL/MariaDB and PostgreSQL secrets, usable as
 * a Lambda handler or in-process. The engine comes from the secret's `engine` field.
 */
export function createRotationHandler(options: RotationHandlerOptions): RotationHandler {
  const opts = resolveOptions(options);
  const client = options.client ?? new SecretsManagerClient(options.clientConfig ?? {});
  return (event) => new Rotation(opts, client, event).run();
}

interface Ctx {
  step: string;
  secretId: string;
}

class Rotation {
  private readonly log: RotationLogger;
  private readonly ctx: Ctx;
  constructor(
    private readonly opts: ResolvedOptions,
    private readonly client: SecretsManagerClient,
    private readonly event: RotationEvent,
  ) {
    this.log = opts.logger;
    this.ctx = { step: String(event?.Step), secretId: String(event?.SecretId) };
  }

  async run(): Promise<void> {
    const { Step: step, SecretId: secretId, ClientRequestToken: token } = this.event ?? ({} as RotationEvent);
    if (typeof secretId !== 'string' || secretId === '' || typeof token !== 'string' || token === '') {
      throw new RotationStateError('event must carry SecretId and ClientRequestToken', this.ctx);
    }
    if (!STEPS.includes(step as RotationStep)) {
      throw new RotationStateError(`unknown rotation step ${JSON.stringify(step)}`, this.ctx);
    }
    const fields = { step, secretId, token };
    // Entry guards, as the AWS templates.
    const meta = await this.sm('DescribeSecret', () =>
      this.client.send(new DescribeSecretCommand({ SecretId: secretId })),
    );
    if (meta.RotationEnabled === false) {
      throw new RotationStateError('rotation is not enabled for this secret', this.ctx);
    }
    const stages = meta.VersionIdsToStages ?? {};
    const tokenStages = stages[token];
    if (tokenStages === undefined) {
      throw new RotationStateError(`version ${token} is not a version of this secret`, this.ctx);
    }
    if (tokenStages.includes('AWSCURRENT')) {
      this.log.info('version is already AWSCURRENT; nothing to do', fields);
      return;
    }
    if (!tokenStages.includes('AWSPENDING')) {
      throw new RotationStateError(`version ${token} is not set as AWSPENDING for rotation`, this.ctx);
    }
    this.log.info('rotation step started', fields);
    switch (step as RotationStep) {
      case 'createSecret':
        await this.createSecret(secretId, token);
        break;
      case 'setSecret':
        await this.setSecret(secretId, token);
        break;
      case 'testSecret':
        await this.testSecret(secretId, token);
        break;
      case 'finishSecret':
        await this.finishSecret(secretId, token, meta);
        break;
    }
    this.log.info('rotation step finished', fields);
  }

  // ---------- steps ----------

  private async createSecret(secretId: string, token: string): Promise<void> {
    const current = await this.getSecret(secretId, 'AWSCURRENT');
    const family = engineFamily(current, secretId, this.ctx.step);
    const existing = await this.getSecretOrUndefined(secretId, 'AWSPENDING', token);
    if (existing !== undefined) {
      this.log.info('pending version already holds a value; reusing it', { secretId, token });
      return;
    }
    const pending: DbSecretValue = { ...current, password: await this.newPassword() };
    if (this.opts.strategy === 'alternating-users') {
      if (typeof current.masterarn !== 'string' || current.masterarn === '') {
        throw new SecretValueError('alternating-users needs "masterarn" in the secret', this.ctx);
      }
      pending.username = alternateUsername(current.username);
      checkUsernameLength(pending.username, family, this.opts.usernameLimit, secretId, this.ctx.step);
    }
    await this.sm('PutSecretValue', () =>
      this.client.send(
        new PutSecretValueCommand({
          SecretId: secretId,
          ClientRequestToken: token,
          SecretString: JSON.stringify(pending),
          VersionStages: ['AWSPENDING'],
          ...(this.event.RotationToken === undefined ? {} : { RotationToken: this.event.RotationToken }),
        }),
      ),
    );
    this.log.info('created pending version', { secretId, token, username: pending.username });
  }

  private async setSecret(secretId: string, token: string): Promise<void> {
    const current = await this.getSecret(secretId, 'AWSCURRENT');
    const pending = await this.getSecret(secretId, 'AWSPENDING', token);
    const family = engineFamily(current, secretId, this.ctx.step);
    const driver = DRIVERS[family];

    // Idempotency: a previous run already set it.
    const already = await this.tryLogin(driver, pending);
    if (already.session !== undefined) {
      await already.session.close();
      this.log.info('pending credentials already work; nothing to set', { secretId, token });
      return;
    }
    if (pending.host !== current.host) {
      throw new SecretValueError('pending and current secrets must have the same host', this.ctx);
    }

    if (this.opts.strategy === 'single-user') {
      if (pending.username !== current.username) {
        throw new SecretValueError('single-user: pending and current secrets must have the same username', this.ctx);
      }
      let login = await this.tryLogin(driver, current);
      if (login.session === undefined) {
        const previous = await this.getSecretOrUndefined(secretId, 'AWSPREVIOUS');
        if (previous !== undefined) {
          this.log.warn('current credentials rejected; trying AWSPREVIOUS', { secretId, token });
          // Previous password, but current's user/host/port/database.
          const viaPrevious = await this.tryLogin(driver, { ...current, password: previous.password });
          if (viaPrevious.session !== undefined) login = viaPrevious;
        }
      }
      const session = this.requireSession(login, current.username, 'with AWSCURRENT or AWSPREVIOUS');
      try {
        await this.statement('changing the password', [pending.password], () =>
          session.changeOwnPassword(pending.password),
        );
      } finally {
        await session.close();
      }
      this.log.info('password changed', { secretId, token, username: pending.username });
      return;
    }

    // alternating-users
    if (pending.username !== alternateUsername(current.username)) {
      throw new SecretValueError(
        'alternating-users: pending username must be the alternate (_clone toggle) of the current one',
        this.ctx,
      );
    }
    // Confused-deputy check: prove the current credentials are valid before acting as master.
    const currentSession = this.requireSession(
      await this.tryLogin(driver, current),
      current.username,
      'with AWSCURRENT',
    );
    let source: DbAccount;
    try {
      source = await this.statement('reading the current account', [], () => currentSession.currentAccount());
    } finally {
      await currentSession.close();
    }
    if (typeof current.masterarn !== 'string' || current.masterarn === '') {
      throw new SecretValueError('alternating-users needs "masterarn" in the secret', this.ctx);
    }
    const master = await this.getSecret(current.masterarn, 'AWSCURRENT', undefined, 'master secret');
    if (master.host !== undefined && master.host !== current.host) {
      throw new SecretValueError('master secret host differs from the current secret host', this.ctx);
    }
    // RDS-managed master secrets carry only username/password: use the current secret's endpoint.
    const masterCreds: DbSecretValue = {
      ...master,
      host: current.host,
      port: master.port ?? current.port,
      dbname: master.dbname ?? current.dbname,
    };
    const masterSession = this.requireSession(await this.tryLogin(driver, masterCreds), master.username, 'as master');
    try {
      await this.statement('creating/updating the alternate user', [pending.password, master.password], () =>
        masterSession.upsertClone(source, pending.username, pending.password),
      );
    } finally {
      await masterSession.close();
    }
    this.log.info('alternate user password set', { secretId, token, username: pending.username });
  }

  private async testSecret(secretId: string, token: string): Promise<void> {
    const pending = await this.getSecret(secretId, 'AWSPENDING', token);
    const driver = DRIVERS[engineFamily(pending, secretId, this.ctx.step)];
    const session = this.requireSession(await this.tryLogin(driver, pending), pending.username, 'with AWSPENDING');
    try {
      await this.statement('testing the pending credentials', [pending.password], () => session.ping());
    } finally {
      await session.close();
    }
  }

  private async finishSecret(secretId: string, token: string, meta: DescribeSecretCommandOutput): Promise<void> {
    const currentVersion = Object.entries(meta.VersionIdsToStages ?? {}).find(([, s]) => s.includes('AWSCURRENT'))?.[0];
    if (currentVersion === token) return;
    await this.sm('UpdateSecretVersionStage', () =>
      this.client.send(
        new UpdateSecretVersionStageCommand({
          SecretId: secretId,
          VersionStage: 'AWSCURRENT',
          MoveToVersionId: token,
          ...(currentVersion === undefined ? {} : { RemoveFromVersionId: currentVersion }),
        }),
      ),
    );
    this.log.info('moved AWSCURRENT to the new version', { secretId, token, previous: currentVersion });
  }

  // ---------- helpers ----------

  private async newPassword(): Promise<string> {
    if (this.opts.generatePassword !== undefined) {
      const pw = await this.opts.generatePassword();
      if (typeof pw !== 'string' || pw === '') {
        throw new RotationError('generatePassword returned an empty or non-string value', this.ctx);
      }
      return pw;
    }
    const out = await this.sm('GetRandomPassword', () =>
      this.client.send(
        new GetRandomPasswordCommand({
          PasswordLength: this.opts.passwordLength,
          ExcludeCharacters: this.opts.excludeCharacters,
          RequireEachIncludedType: true,
        }),
      ),
    );
    if (typeof out.RandomPassword !== 'string' || out.RandomPassword === '') {
      throw new SecretsManagerCallError('GetRandomPassword returned no password', this.ctx);
    }
    return out.RandomPassword;
  }

  private async getSecret(
    secretId: string,
    stage: string,
    versionId?: string,
    what = `secret value at ${stage}`,
  ): Promise<DbSecretValue> {
    const out = await this.sm(`GetSecretValue(${stage})`, () =>
      this.client.send(
        new GetSecretValueCommand({
          SecretId: secretId,
          VersionStage: stage,
          ...(versionId ? { VersionId: versionId } : {}),
        }),
      ),
    );
    return parseDbSecret(out.SecretString, what, this.ctx.secretId, this.ctx.step);
  }

  private async getSecretOrUndefined(
    secretId: string,
    stage: string,
    versionId?: string,
  ): Promise<DbSecretValue | undefined> {
    try {
      return await this.getSecret(secretId, stage, versionId);
    } catch (err) {
      if (
        err instanceof SecretsManagerCallError &&
        (err.cause as { name?: string })?.name === 'ResourceNotFoundException'
      ) {
        return undefined;
      }
      throw err;
    }
  }

  private async sm<T>(operation: string, call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (err) {
      throw new SecretsManagerCallError(`Secrets Manager ${operation} failed: ${(err as Error)?.name ?? 'Error'}`, {
        ...this.ctx,
        cause: err,
      });
    }
  }

  private async tryLogin(
    driver: EngineDriver,
    creds: DbSecretValue,
  ): Promise<{ session?: DbSession; error?: unknown }> {
    if (typeof creds.host !== 'string' || creds.host === '') {
      throw new SecretValueError('secret lacks "host"', this.ctx);
    }
    try {
      const session = await driver.connect({
        host: creds.host,
        port: creds.port === undefined ? undefined : Number(creds.port),
        user: creds.username,
        password: creds.password,
        database: typeof creds.dbname === 'string' && creds.dbname !== '' ? creds.dbname : undefined,
        connectTimeoutMs: this.opts.connectTimeoutMs,
        queryTimeoutMs: this.opts.queryTimeoutMs,
        ssl: this.opts.ssl,
      });
      return { session };
    } catch (error) {
      return { error };
    }
  }

  private requireSession(login: { session?: DbSession; error?: unknown }, username: string, how: string): DbSession {
    if (login.session !== undefined) return login.session;
    const detail = login.error instanceof Error ? `: ${login.error.message}` : '';
    throw new DatabaseLoginError(`could not log in ${how} as "${username}"${detail}`, username, {
      ...this.ctx,
      cause: login.error,
    });
  }

  private async statement<T>(what: string, secrets: string[], body: () => Promise<T>): Promise<T> {
    try {
      return await body();
    } catch (err) {
      const detail = err instanceof Error ? `: ${err.message}` : '';
      // The cause is already scrubbed by the engine (ScrubbedDriverError); scrub the summary too.
      let message = `${what} failed${detail}`;
      for (const s of secrets) if (s) message = message.split(s).join('***');
      throw new DatabaseStatementError(message, { ...this.ctx, cause: err });
    }
  }
}

import { randomUUID } from 'node:crypto';
import type { OperationContext } from './context.js';
import { invalidParameter, ServiceError } from './errors.js';
import { randomPassword } from './password.js';
import type { RotationRunner } from './rotation-runner.js';
import type { RotationSchedules } from './rotation-schedules.js';
import { AWSCURRENT, findVersion, hasValue, moveStage, type SecretRecord, versionWithStage } from './store.js';
import type {
  CreatedSecret,
  ManagedRotationOptions,
  RdsManagedSecretOptions,
  RotationEvent,
  RotationHandler,
} from './types.js';

const RDS_ARN_RE = /^arn:aws[a-z-]*:rds:[a-z0-9-]+:\d{12}:(cluster|db):[A-Za-z][A-Za-z0-9-]{0,62}$/;
/** RDS leaves these out of the passwords it generates (they break connection strings and shells). */
const RDS_EXCLUDED = '/@"\' ';

/** RDS's managed secrets: creation as RDS does it and the rotation RDS runs (no Lambda). */
export class ManagedSecrets {
  constructor(
    private readonly ctx: OperationContext,
    private readonly runner: RotationRunner,
    private readonly schedules: RotationSchedules,
  ) {}

  create(options: RdsManagedSecretOptions): CreatedSecret {
    const match = RDS_ARN_RE.exec(options.resourceArn ?? '');
    if (!match) throw new TypeError('resourceArn must be an RDS DB cluster or DB instance ARN');
    if (typeof options.username !== 'string' || options.username === '') throw new TypeError('username is required');
    if (typeof options.password !== 'string' || options.password === '') throw new TypeError('password is required');
    const cluster = match[1] === 'cluster';
    const now = this.ctx.clock();
    const name = `rds!${cluster ? 'cluster' : 'db'}-${randomUUID()}`;
    const versionId = randomUUID();
    const secret: SecretRecord = {
      arn: this.ctx.arnFor(name),
      name,
      description: `Secret associated with primary RDS DB ${cluster ? 'cluster' : 'instance'}: ${options.resourceArn}`,
      tags: [
        { Key: cluster ? 'aws:rds:primaryDBClusterArn' : 'aws:rds:primaryDBInstanceArn', Value: options.resourceArn },
      ],
      owningService: 'rds',
      createdDate: now,
      lastChangedDate: now,
      currentChangedDate: now,
      rotation: {
        enabled: true,
        rules: { ScheduleExpression: options.scheduleExpression ?? 'rate(7 days)' },
        scheduledFrom: now,
      },
      versions: [
        {
          versionId,
          secretString: JSON.stringify({ username: options.username, password: options.password }),
          stages: [AWSCURRENT],
          createdDate: now,
        },
      ],
    };
    if (options.kmsKeyId !== undefined) secret.kmsKeyId = options.kmsKeyId;
    this.schedules.schedule(secret.rotation!.rules); // an invalid schedule fails before anything is stored
    this.schedules.reschedule(secret);
    this.ctx.store.secrets.set(secret.arn, secret);
    this.ctx.store.save();
    if (options.rotation) this.setRotation(secret.arn, options.rotation);
    return { arn: secret.arn, name, versionId };
  }

  setRotation(secretId: string, rotation: ManagedRotationOptions): void {
    const secret = this.ctx.secret(secretId);
    if (secret.owningService === undefined) {
      throw invalidParameter(`Secret ${secret.name} is not managed by another service; use registerRotator for it.`);
    }
    if (typeof rotation?.changePassword !== 'function')
      throw new TypeError('rotation.changePassword must be a function');
    const order = rotation.order ?? 'pending-first';
    if (order !== 'pending-first' && order !== 'change-first') {
      throw new TypeError("rotation.order must be 'pending-first' or 'change-first'");
    }
    this.runner.managed.set(secret.arn, this.rotator(rotation.changePassword, order));
  }

  /** The managed rotation as the runner's four steps, so retries, failures and stats work as for a Lambda. */
  private rotator(change: ManagedRotationOptions['changePassword'], order: string): RotationHandler {
    return async (event: RotationEvent) => {
      const secret = this.ctx.secret(event.SecretId);
      const version = findVersion(secret, event.ClientRequestToken);
      if (!version) throw new ServiceError('ResourceNotFoundException', 'The version being rotated is gone.');
      const current = versionWithStage(secret, AWSCURRENT);
      const { username } = JSON.parse(current?.secretString ?? '{}') as { username?: string };
      if (typeof username !== 'string') throw new Error('The managed secret holds no username.');
      const changeTo = (password: string) =>
        change({ secretArn: secret.arn, versionId: version.versionId, username, password });
      if (event.Step === 'createSecret' && !hasValue(version)) {
        const password = randomPassword({ PasswordLength: 32, ExcludeCharacters: RDS_EXCLUDED });
        if (order === 'change-first') {
          await changeTo(password); // the database first; no new value is readable until it took the password
          this.storePassword(secret, version.versionId, username, password);
          this.promote(secret, version.versionId);
        } else {
          this.storePassword(secret, version.versionId, username, password);
        }
      } else if (event.Step === 'setSecret' && order === 'pending-first') {
        const { password } = JSON.parse(version.secretString ?? '{}') as { password?: string };
        if (typeof password !== 'string') throw new Error('The pending version holds no password.');
        await changeTo(password);
      } else if (event.Step === 'finishSecret') {
        this.promote(secret, version.versionId);
      }
    };
  }

  private storePassword(secret: SecretRecord, versionId: string, username: string, password: string): void {
    const version = findVersion(secret, versionId)!;
    version.secretString = JSON.stringify({ username, password });
    this.ctx.touch(secret);
    this.ctx.store.save();
  }

  private promote(secret: SecretRecord, versionId: string): void {
    const version = findVersion(secret, versionId)!;
    if (moveStage(secret, AWSCURRENT, version)) this.ctx.currentChanged(secret);
    this.ctx.touch(secret);
    this.ctx.store.save();
  }
}

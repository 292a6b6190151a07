import {
  DescribeSecretCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
  type SecretsManagerClient,
  UpdateSecretVersionStageCommand,
} from '@aws-sdk/client-secrets-manager';
import type { RotationEvent, RotationHandler, RotationStep } from '../src/index.js';

export interface FakeRotator {
  handler: RotationHandler;
  events: RotationEvent[];
  /** Steps that throw (mutable). */
  failAt: Set<RotationStep>;
  /** What createSecret saw when it probed the pending version (the template's try/except). */
  pendingProbes: string[];
  /** Passwords "set on the database" by setSecret. */
  setPasswords: string[];
  /** Optional hook run at the start of every step (e.g. to block it). */
  beforeStep?: (event: RotationEvent) => Promise<void>;
}

/**
 * A single-user rotation function written like the AWS Python template, but against a fake "database":
 * it talks to the local SM only through the real SDK client.
 */
export function createFakeRotator(client: SecretsManagerClient): FakeRotator {
  const fake: FakeRotator = {
    events: [],
    failAt: new Set(),
    pendingProbes: [],
    setPasswords: [],
    handler: async (event) => {
      fake.events.push(event);
      await fake.beforeStep?.(event);
      const { SecretId: arn, ClientRequestToken: token, Step: step } = event;
      // Entry guard, as every template does.
      const meta = await client.send(new DescribeSecretCommand({ SecretId: arn }));
      if (meta.RotationEnabled === false) throw new Error(`Secret ${arn} is not enabled for rotation`);
      const stages = meta.VersionIdsToStages?.[token];
      if (!stages) throw new Error(`Secret version ${token} has no stage for rotation of secret ${arn}.`);
      if (stages.includes('AWSCURRENT')) return;
      if (!stages.includes('AWSPENDING'))
        throw new Error(`Secret version ${token} not set as AWSPENDING for rotation of secret ${arn}.`);
      if (fake.failAt.has(step)) throw new Error(`${step} failed (injected)`);
      if (step === 'createSecret') {
        const current = await client.send(new GetSecretValueCommand({ SecretId: arn, VersionStage: 'AWSCURRENT' }));
        try {
          await client.send(new GetSecretValueCommand({ SecretId: arn, VersionId: token, VersionStage: 'AWSPENDING' }));
          fake.pendingProbes.push('found');
        } catch (err) {
          if ((err as Error).name !== 'ResourceNotFoundException') throw err;
          fake.pendingProbes.push('ResourceNotFoundException');
          const value = JSON.parse(current.SecretString ?? '{}') as Record<string, unknown>;
          value.password = `pw-${token.slice(0, 8)}`;
          await client.send(
            new PutSecretValueCommand({
              SecretId: arn,
              ClientRequestToken: token,
              SecretString: JSON.stringify(value),
              VersionStages: ['AWSPENDING'],
            }),
          );
        }
      } else if (step === 'setSecret') {
        const pending = await client.send(
          new GetSecretValueCommand({ SecretId: arn, VersionId: token, VersionStage: 'AWSPENDING' }),
        );
        fake.setPasswords.push(JSON.parse(pending.SecretString ?? '{}').password);
      } else if (step === 'testSecret') {
        await client.send(new GetSecretValueCommand({ SecretId: arn, VersionId: token, VersionStage: 'AWSPENDING' }));
      } else if (step === 'finishSecret') {
        const current = Object.entries(meta.VersionIdsToStages ?? {}).find(([, s]) => s.includes('AWSCURRENT'))?.[0];
        if (current === token) return;
        await client.send(
          new UpdateSecretVersionStageCommand({
            SecretId: arn,
            VersionStage: 'AWSCURRENT',
            MoveToVersionId: token,
            RemoveFromVersionId: current,
          }),
        );
      }
    },
  };
  return fake;
}

import { createAdmin, dbSecretFor, putDbSecret, startTestSecretsManager, uniqueSecretName } from '@dbcreds/testbed';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { RotationConfigurationError } from '../src/index.js';
import { nastyPassword, putPending, STEPS, valueAt } from './helpers.js';

afterEach(() => {
  vi.unstubAllEnvs();
  vi.restoreAllMocks();
  vi.resetModules();
});

describe('Lambda handler (@dbcreds/rotation/lambda)', () => {
  it('fails the invocation clearly when ROTATION_STRATEGY is missing', async () => {
    vi.stubEnv('ROTATION_STRATEGY', '');
    const { handler } = await import('../src/lambda.js');
    await expect(handler({ Step: 'createSecret', SecretId: 's', ClientRequestToken: 't' })).rejects.toBeInstanceOf(
      RotationConfigurationError,
    );
  });

  it('rotates a PostgreSQL secret configured from env vars; its JSON logs carry no password', async () => {
    const tsm = await startTestSecretsManager();
    const admin = await createAdmin('postgres');
    try {
      vi.stubEnv('ROTATION_STRATEGY', 'single-user');
      vi.stubEnv('SECRETS_MANAGER_ENDPOINT', tsm.endpoint);
      vi.stubEnv('CONNECT_TIMEOUT_MS', '3000');
      vi.stubEnv('AWS_REGION', 'us-east-1');
      vi.stubEnv('AWS_ACCESS_KEY_ID', 'AKIDLOCALTEST');
      vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'local-test-secret');
      const lines: string[] = [];
      const capture = (...args: unknown[]) => void lines.push(args.map(String).join(' '));
      vi.spyOn(console, 'log').mockImplementation(capture);
      vi.spyOn(console, 'warn').mockImplementation(capture);
      const { handler } = await import('../src/lambda.js');

      const user = await admin.createUser({ prefix: 'l' });
      const secretId = uniqueSecretName('lambda');
      await putDbSecret(tsm.client, secretId, dbSecretFor('postgres', user));
      const next = nastyPassword();
      const token = await putPending(tsm.client, secretId, dbSecretFor('postgres', { ...user, password: next }));
      for (const Step of STEPS) await handler({ Step, SecretId: secretId, ClientRequestToken: token });

      await admin.expectLoginRejected(user);
      expect((await valueAt(tsm.client, secretId, 'AWSCURRENT')).versionId).toBe(token);
      expect(lines.length).toBeGreaterThanOrEqual(8);
      expect(JSON.parse(lines.at(-1)!)).toMatchObject({ level: 'info', step: 'finishSecret', token });
      for (const l of lines) {
        expect(l).not.toContain(next);
        expect(l).not.toContain(user.password);
      }
    } finally {
      await admin.close();
      await tsm.close();
    }
  });
});

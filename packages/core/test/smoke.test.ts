import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { createCredentialSource } from '@dbcreds/core';
import { expect, it } from 'vitest';

it('accepts a real SecretsManagerClient as client', () => {
  const client = new SecretsManagerClient({ region: 'us-east-1' });
  const source = createCredentialSource({ secretId: 'x', client });
  expect(source.secretId).toBe('x');
  source.close();
  client.destroy();
});

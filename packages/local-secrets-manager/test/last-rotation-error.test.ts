import { CreateSecretCommand, RotateSecretCommand } from '@aws-sdk/client-secrets-manager';
import { afterEach, describe, expect, it } from 'vitest';
import { LAST_ROTATION_ERROR_TARGET } from '../src/index.js';
import { type Harness, startHarness } from './helpers.js';

const ARN = 'arn:aws:lambda:us-east-1:000000000000:function:fails';
let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

async function lastError(endpoint: string, body: unknown): Promise<{ status: number; json: unknown }> {
  const res = await fetch(endpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': LAST_ROTATION_ERROR_TARGET },
    body: JSON.stringify(body),
  });
  return { status: res.status, json: await res.json() };
}

describe('LocalSecretsManager.GetLastRotationError (local-only operation)', () => {
  it('answers {} before a failure, then the failed step, message and version; unknown secrets are not found', async () => {
    h = await startHarness({ schedulerIntervalMs: 0 });
    h.sm.registerRotator(ARN, async (event) => {
      if (event.Step === 'createSecret') throw new Error('cannot reach the database');
    });
    await h.client.send(new CreateSecretCommand({ Name: 'app/db', SecretString: '{}' }));
    expect(await lastError(h.sm.endpoint, { SecretId: 'app/db' })).toEqual({ status: 200, json: {} });

    const { VersionId } = await h.client.send(new RotateSecretCommand({ SecretId: 'app/db', RotationLambdaARN: ARN }));
    const { status, json } = await lastError(h.sm.endpoint, { SecretId: 'app/db' });
    expect(status).toBe(200);
    expect(json).toEqual({
      Failure: { Step: 'createSecret', Message: 'cannot reach the database', VersionId, At: expect.any(Number) },
    });
    expect(h.sm.lastRotationError('app/db')?.at).toBe((json as { Failure: { At: number } }).Failure.At * 1000);

    expect(await lastError(h.sm.endpoint, { SecretId: 'nope' })).toEqual({
      status: 400,
      json: { __type: 'ResourceNotFoundException', Message: "Secrets Manager can't find the specified secret." },
    });
  });
});

import { CreateSecretCommand, GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { type LocalSecretsManager, startLocalSecretsManager } from '@dbcreds/local-secrets-manager';
import { afterEach, describe, expect, it } from 'vitest';

const MIN = 60_000;
let sm: LocalSecretsManager | undefined;
let skewMs = 0;
afterEach(async () => {
  await sm?.close();
  sm = undefined;
  skewMs = 0;
});

async function start() {
  sm = await startLocalSecretsManager({ signatureClock: () => Date.now() + skewMs });
  const client = new SecretsManagerClient({
    endpoint: sm.endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    maxAttempts: 1,
  });
  await client.send(new CreateSecretCommand({ Name: 'skew', SecretString: '{"username":"u","password":"p"}' }));
  return client;
}

describe('X-Amz-Date skew (signatureClock)', () => {
  it('more than 5 min behind the server: 400 InvalidSignatureException "Signature expired", then the SDK signs with the server time', async () => {
    // Prepare: a client whose offset is learned at 0, then the server's clock 10 min ahead
    const client = await start();
    skewMs = 10 * MIN;

    // Act
    const err = (await client.send(new GetSecretValueCommand({ SecretId: 'skew' })).catch((e: unknown) => e)) as {
      name: string;
      message: string;
      $metadata: { httpStatusCode: number; clockSkewCorrected?: boolean };
    };
    const again = await client.send(new GetSecretValueCommand({ SecretId: 'skew' }));

    // Assess: AWS's shape; the SDK read the Date header and corrected its offset
    expect(err.name).toBe('InvalidSignatureException');
    expect(err.$metadata.httpStatusCode).toBe(400);
    expect(err.message).toMatch(
      /^Signature expired: \d{8}T\d{6}Z is now earlier than \d{8}T\d{6}Z \(\d{8}T\d{6}Z - 5 min\.\)$/,
    );
    expect(err.$metadata.clockSkewCorrected).toBe(true);
    expect(await client.config.systemClockOffset).toBeGreaterThan(9 * MIN);
    expect(again.SecretString).toContain('"username"');
    client.destroy();
  });

  it('more than 5 min ahead: "Signature not yet current"; within 5 min: accepted', async () => {
    const client = await start();
    skewMs = 4 * MIN;
    await expect(client.send(new GetSecretValueCommand({ SecretId: 'skew' }))).resolves.toBeDefined();
    // The SDK follows the Date header of every answer: set its offset back to 0 for the next case.
    client.config.systemClockOffset = 0;
    skewMs = -10 * MIN;

    await expect(client.send(new GetSecretValueCommand({ SecretId: 'skew' }))).rejects.toMatchObject({
      name: 'InvalidSignatureException',
      message: expect.stringMatching(
        /^Signature not yet current: \d{8}T\d{6}Z is still later than \d{8}T\d{6}Z \(\d{8}T\d{6}Z \+ 5 min\.\)$/,
      ),
    });
    client.destroy();
  });

  it('rejects a signatureClock that is not a function', async () => {
    await expect(startLocalSecretsManager({ signatureClock: 5 as unknown as () => number })).rejects.toThrow(
      'signatureClock must be a function',
    );
  });
});

/**
 * After a freeze longer than SigV4's 5-minute window (a Lambda thawed with its clock, or the SDK's
 * learned offset, off), the first GetSecretValue is refused with InvalidSignatureException. The SDK
 * corrects its clock offset from the answer's Date header and marks the error `clockSkewCorrected`;
 * core retries exactly that error within the same fetch. Real SDK over HTTP to the local Secrets
 * Manager, whose signature clock the test skews.
 */
import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { type CredentialSource, createCredentialSource, SecretFetchError } from '@dbcreds/core';
import { type LocalSecretsManager, startLocalSecretsManager } from '@dbcreds/local-secrets-manager';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

const MIN = 60_000;
let sm: LocalSecretsManager;
let skewMs = 0;
const sources: CredentialSource[] = [];
const creds = { accessKeyId: 'test', secretAccessKey: 'test' };

beforeAll(async () => {
  sm = await startLocalSecretsManager({ signatureClock: () => Date.now() + skewMs });
  const admin = new SecretsManagerClient({ endpoint: sm.endpoint, region: 'us-east-1', credentials: creds });
  await admin.send(new CreateSecretCommand({ Name: 'skew/db', SecretString: '{"username":"u","password":"pw-1"}' }));
  admin.destroy();
});
afterAll(() => sm.close());
afterEach(() => {
  for (const s of sources.splice(0)) s.close();
  skewMs = 0;
});

function source(maxAttempts: number, clock = { now: () => Date.now() }) {
  const s = createCredentialSource({
    secretId: 'skew/db',
    clientConfig: { endpoint: sm.endpoint, region: 'us-east-1', credentials: creds },
    retry: { maxAttempts, baseDelayMs: 1, maxDelayMs: 1 },
    ttlMs: 60_000,
    clock,
  });
  sources.push(s);
  return s;
}

describe('clock skew beyond the signing window', () => {
  it('first call after start: refused once, retried with the corrected offset, answered', async () => {
    skewMs = 10 * MIN; // the server's clock 10 min ahead of this host's
    const s = source(3);

    const c = await s.get();

    expect(c.username).toBe('u');
    expect(s.stats()).toMatchObject({ fetches: 2, errors: 0 });
  });

  it('after a freeze: the offset learned before is wrong by > 5 min; the TTL reload recovers within its retries', async () => {
    // Prepare: a value read with the clocks agreeing; then a "freeze": 2 h pass for the source's clock,
    // and the host's clock comes back 7 min behind the server's (skewed after the thaw)
    let t = Date.now();
    const s = source(3, { now: () => t });
    await s.get();
    t += 2 * 60 * MIN;
    skewMs = 7 * MIN;
    const errors: unknown[] = [];
    s.on('error', (e) => errors.push(e.error));

    // Act: past the TTL and maxStaleMs' default (1 h), callers wait for the reload
    const c = await s.get();

    // Assess
    expect(c.username).toBe('u');
    expect(errors).toEqual([]);
    expect(s.stats().fetches).toBe(3); // 1 before, 1 refused + 1 retried after
  });

  it('control: without retries the refusal surfaces (SecretFetchError, cause InvalidSignatureException "Signature expired")', async () => {
    skewMs = 10 * MIN;
    const s = source(1);

    const err = (await s.get().catch((e: unknown) => e)) as SecretFetchError;

    expect(err).toBeInstanceOf(SecretFetchError);
    expect(err.cause).toMatchObject({
      name: 'InvalidSignatureException',
      message: expect.stringMatching(/^Signature expired/),
    });
    // The offset was corrected on that answer: the next fetch (after the error backoff) signs right.
  });
});

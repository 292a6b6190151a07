import {
  type CredentialSource,
  createCredentialSource,
  type DbCredentials,
  getRefreshError,
  SecretFetchError,
  withAuthRetry,
} from '@dbcreds/core';
import { afterEach, describe, expect, it } from 'vitest';
import { connRefused, FakeSecretsManager, manualClock, SECRET_A, SECRET_B } from './helpers/fake-sm.js';

const authError = () =>
  Object.assign(new Error('password authentication failed for user "app"'), { code: '28P01', severity: 'FATAL' });

const sources: CredentialSource[] = [];
afterEach(() => {
  for (const s of sources.splice(0)) s.close();
});

function setup() {
  const sm = new FakeSecretsManager();
  const source = createCredentialSource({ secretId: sm.secretId, client: sm, retry: { maxAttempts: 1 } });
  sources.push(source);
  return { sm, source };
}

/** A fake "server" that accepts one password and rejects others with 28P01. */
function server(accepted: () => string) {
  const seen: string[] = [];
  return {
    seen,
    connect: async (c: DbCredentials) => {
      seen.push(c.versionId);
      if (c.password !== accepted()) throw authError();
      return `connected as ${c.username}`;
    },
  };
}

describe('withAuthRetry', () => {
  it('does not refresh when the first attempt succeeds', async () => {
    const { sm, source } = setup();
    sm.put(SECRET_A);
    const srv = server(() => SECRET_A.password);
    await expect(source.withAuthRetry(srv.connect)).resolves.toBe('connected as app');
    expect(sm.count()).toBe(1);
    expect(source.stats().refreshes).toBe(0);
  });

  it('on an auth error refreshes and retries exactly once with the new credentials', async () => {
    const { sm, source } = setup();
    const v1 = sm.put(SECRET_A);
    await source.get();
    const v2 = sm.put(SECRET_B); // rotated; cache still holds v1
    const srv = server(() => SECRET_B.password);

    await expect(source.withAuthRetry(srv.connect)).resolves.toBe('connected as app');
    expect(srv.seen).toEqual([v1, v2]);
    expect(source.stats()).toMatchObject({ refreshes: 1, fetches: 2 });
  });

  it('bridges the rotation window through AWSPENDING', async () => {
    const { sm, source } = setup();
    sm.put(SECRET_A);
    await source.get();
    const v2 = sm.put(SECRET_B, ['AWSPENDING']); // setSecret done, finishSecret not yet
    const srv = server(() => SECRET_B.password);
    await expect(source.withAuthRetry(srv.connect)).resolves.toBe('connected as app');
    expect(srv.seen.at(-1)).toBe(v2);
  });

  it('rethrows the second auth error unchanged (no third attempt)', async () => {
    const { sm, source } = setup();
    sm.put(SECRET_A);
    const errors: Error[] = [];
    let calls = 0;
    const err = await source
      .withAuthRetry(async () => {
        calls++;
        const e = authError();
        errors.push(e);
        throw e;
      })
      .catch((e: unknown) => e);
    expect(calls).toBe(2);
    expect(err).toBe(errors[1]);
    expect(getRefreshError(err)).toBeUndefined();
  });

  it('rethrows non-auth errors immediately without refreshing', async () => {
    const { sm, source } = setup();
    sm.put(SECRET_A);
    const boom = Object.assign(new Error('relation "x" does not exist'), { code: '42P01' });
    let calls = 0;
    const err = await source
      .withAuthRetry(async () => {
        calls++;
        throw boom;
      })
      .catch((e: unknown) => e);
    expect(err).toBe(boom);
    expect(calls).toBe(1);
    expect(source.stats().refreshes).toBe(0);
  });

  it('when refresh() fails, rethrows the ORIGINAL driver error with the fetch error attached (non-enumerable)', async () => {
    const sm = new FakeSecretsManager();
    sm.put(SECRET_A);
    const clock = manualClock();
    const source = createCredentialSource({
      secretId: sm.secretId,
      client: sm,
      clock,
      retry: { maxAttempts: 1 },
      maxStaleMs: 0,
      ttlMs: 0,
    });
    sources.push(source);
    const driverError = authError();
    let calls = 0;
    // First get() succeeds; SM then goes down and the cached value is past maxStaleMs.
    const err = await source
      .withAuthRetry(async () => {
        calls++;
        sm.down = connRefused();
        clock.advance(1);
        throw driverError;
      })
      .catch((e: unknown) => e);
    expect(err).toBe(driverError);
    expect(calls).toBe(1);
    expect(getRefreshError(err)).toBeInstanceOf(SecretFetchError);
    expect(Object.keys(err as object)).not.toContain('dbcredsRefreshError');
    expect(JSON.stringify(err)).not.toContain('dbcreds');
  });

  it('propagates get() failures (nothing to attempt)', async () => {
    const { sm, source } = setup();
    sm.down = connRefused();
    await expect(source.withAuthRetry(async () => 1)).rejects.toBeInstanceOf(SecretFetchError);
  });

  it('standalone withAuthRetry(source, attempt) delegates', async () => {
    const { sm, source } = setup();
    sm.put(SECRET_A);
    await expect(withAuthRetry(source, async (c) => c.username)).resolves.toBe('app');
  });
});

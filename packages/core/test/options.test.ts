import { ConfigurationError, createCredentialSource, isCredentialSource, resolveCredentialSource } from '@dbcreds/core';
import { describe, expect, it } from 'vitest';
import { FakeSecretsManager } from './helpers/fake-sm.js';

const client = new FakeSecretsManager();

function configError(opts: unknown): ConfigurationError {
  try {
    createCredentialSource(opts as never).close();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigurationError);
    return err as ConfigurationError;
  }
  throw new Error('expected a ConfigurationError');
}

describe('options validation', () => {
  it('accepts the documented options', () => {
    const s = createCredentialSource({
      secretId: 'arn:aws:secretsmanager:us-east-1:000000000000:secret:app-AbCdEf',
      client,
      ttlMs: 0,
      minRefreshIntervalMs: 0,
      maxStaleMs: Number.POSITIVE_INFINITY,
      attemptTimeoutMs: Number.POSITIVE_INFINITY,
      retry: { maxAttempts: 1, baseDelayMs: 10, maxDelayMs: 100 },
      errorBackoff: { baseDelayMs: 10, maxDelayMs: 100 },
      clock: { now: () => 0 },
      versionStage: 'AWSCURRENT',
      logger: {},
    });
    expect(s.secretId).toContain('secret:app');
    s.close();
  });

  it('lists every unknown key, nested ones included', () => {
    const err = configError({ secretId: 'x', client, ttl: 5, refreshMs: 1, retry: { attempts: 2 } });
    expect(err.keys).toEqual(['ttl', 'refreshMs', 'retry.attempts']);
    expect(err.message).toContain('ttl: unknown option');
  });

  it.each([
    [{}, 'secretId'],
    [{ secretId: '' }, 'secretId'],
    [{ secretId: 42 }, 'secretId'],
    [{ secretId: 'x', client: {} }, 'client'],
    [{ secretId: 'x', client: null }, 'client'],
    [{ secretId: 'x', clientConfig: 'us-east-1' }, 'clientConfig'],
    [{ secretId: 'x', client, clientConfig: {} }, 'clientConfig'],
    [{ secretId: 'x', client, ttlMs: -1 }, 'ttlMs'],
    [{ secretId: 'x', client, ttlMs: '60000' }, 'ttlMs'],
    [{ secretId: 'x', client, ttlMs: Number.POSITIVE_INFINITY }, 'ttlMs'],
    [{ secretId: 'x', client, minRefreshIntervalMs: Number.NaN }, 'minRefreshIntervalMs'],
    [{ secretId: 'x', client, maxStaleMs: -5 }, 'maxStaleMs'],
    [{ secretId: 'x', client, attemptTimeoutMs: 0 }, 'attemptTimeoutMs'],
    [{ secretId: 'x', client, attemptTimeoutMs: -1 }, 'attemptTimeoutMs'],
    [{ secretId: 'x', client, attemptTimeoutMs: '3s' }, 'attemptTimeoutMs'],
    [{ secretId: 'x', client, attemptTimeoutMs: Number.NaN }, 'attemptTimeoutMs'],
    [{ secretId: 'x', client, retry: { maxAttempts: 0 } }, 'retry.maxAttempts'],
    [{ secretId: 'x', client, retry: { maxAttempts: 1.5 } }, 'retry.maxAttempts'],
    [{ secretId: 'x', client, retry: 3 }, 'retry'],
    [{ secretId: 'x', client, errorBackoff: { baseDelayMs: -1 } }, 'errorBackoff.baseDelayMs'],
    [{ secretId: 'x', client, clock: { now: 5 } }, 'clock'],
    [{ secretId: 'x', client, versionStage: 'AWSPREVIOUS' }, 'versionStage'],
    [{ secretId: 'x', client, logger: 'console' }, 'logger'],
  ])('rejects %j naming %s', (opts, key) => {
    expect(configError(opts).keys).toContain(key);
  });

  it('rejects non-objects', () => {
    for (const v of [undefined, null, 'secret', ['x']]) expect(configError(v)).toBeInstanceOf(ConfigurationError);
  });
});

describe('resolveCredentialSource / isCredentialSource', () => {
  it('returns a source unchanged and builds one from options', () => {
    const s = createCredentialSource({ secretId: 'x', client });
    expect(resolveCredentialSource(s)).toBe(s);
    const built = resolveCredentialSource({ secretId: 'y', client });
    expect(isCredentialSource(built)).toBe(true);
    expect(built.secretId).toBe('y');
    s.close();
    built.close();
  });

  it('recognises duck-typed sources and rejects options objects', () => {
    const custom = { secretId: 'z', get: async () => 0, refresh: async () => 0, withAuthRetry: async () => 0 };
    expect(isCredentialSource(custom)).toBe(true);
    expect(resolveCredentialSource(custom as never)).toBe(custom);
    expect(isCredentialSource({ secretId: 'x' })).toBe(false);
    expect(isCredentialSource(null)).toBe(false);
    expect(() => resolveCredentialSource({ secretId: 'x', bogus: 1 } as never)).toThrow(ConfigurationError);
  });
});

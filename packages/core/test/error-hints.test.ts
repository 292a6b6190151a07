import { ConfigurationError, createCredentialSource } from '@dbcreds/core';
import { checkOptions } from '@dbcreds/core/adapter';
import { afterEach, describe, expect, it, vi } from 'vitest';

const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };

function configError(run: () => unknown): ConfigurationError {
  try {
    run();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigurationError);
    return err as ConfigurationError;
  }
  throw new Error('expected a ConfigurationError');
}

afterEach(() => {
  vi.unstubAllEnvs();
});

describe('Unknown option keys say how to fix them', () => {
  it('an AWS SDK client setting at the top level points to clientConfig', () => {
    // Act
    const err = configError(() => createCredentialSource({ secretId: 'app', region: 'us-east-1' } as never));

    // Assess
    expect(err.keys).toEqual(['region']);
    expect(err.message).toBe(
      'dbcreds: invalid credential source options: region: unknown option (an AWS SDK client setting: use clientConfig: { region })',
    );
  });

  it('a key that differs in case, by a typo or by a left-off unit gets "did you mean"', () => {
    const err = configError(() =>
      createCredentialSource({ secretID: 'app', ttl: 5, retry: { maxAttempt: 2 }, agent: { endPoint: 'x' } } as never),
    );
    expect(err.message).toContain("secretID: unknown option (did you mean 'secretId'?)");
    expect(err.message).toContain("ttl: unknown option (did you mean 'ttlMs'?)");
    expect(err.message).toContain("retry.maxAttempt: unknown option (did you mean 'maxAttempts'?)");
    expect(err.message).toContain("agent.endPoint: unknown option (did you mean 'endpoint'?)");
  });

  it('a key near nothing allowed gets no guess', () => {
    const err = configError(() => createCredentialSource({ secretId: 'app', colour: 'red' } as never));
    expect(err.message).toBe('dbcreds: invalid credential source options: colour: unknown option');
  });

  it("every adapter's option check (checkOptions) suggests too", () => {
    const err = configError(() =>
      checkOptions('pg', { closeSorce: true, x: 1 }, 'the adapter options', {
        allowed: ['closeSource', 'readerSource'],
      }),
    );
    expect(err.keys).toEqual(['closeSorce', 'x']);
    expect(err.message).toBe(
      "@dbcreds/pg: closeSorce, x are not options of the adapter options (allowed: closeSource, readerSource); closeSorce (did you mean 'closeSource'?)",
    );
  });
});

describe('SDK setup mistakes say where and how', () => {
  it('an endpoint variable that is not a URL is named, with the expected form', () => {
    // Prepare
    vi.stubEnv('AWS_ENDPOINT_URL_SECRETS_MANAGER', '127.0.0.1:4566');

    // Act
    const err = configError(() => createCredentialSource({ secretId: 'app', clientConfig: { region: 'us-east-1' } }));

    // Assess
    expect(err.message).toBe(
      "dbcreds: the environment variable AWS_ENDPOINT_URL_SECRETS_MANAGER='127.0.0.1:4566' is not a URL: use the form http://host:port (e.g. http://127.0.0.1:4566)",
    );
  });

  it('the global AWS_ENDPOINT_URL is checked too, and clientConfig.endpoint', () => {
    vi.stubEnv('AWS_ENDPOINT_URL_SECRETS_MANAGER', undefined);
    vi.stubEnv('AWS_ENDPOINT_URL', 'localhost:4566'); // parses as a URL of scheme "localhost:"
    expect(configError(() => createCredentialSource({ secretId: 'app' })).message).toContain(
      "AWS_ENDPOINT_URL='localhost:4566' is not a URL: use the form http://host:port",
    );
    const err = configError(() => createCredentialSource({ secretId: 'app', clientConfig: { endpoint: 'sm:4566' } }));
    expect(err.keys).toEqual(['clientConfig.endpoint']);
    expect(err.message).toContain("clientConfig.endpoint 'sm:4566' is not a URL: use the form http://host:port");
  });

  it('no region anywhere: a ConfigurationError saying how to set one, the SDK error as cause, nothing sent', async () => {
    // Prepare: no region in the environment or a shared config file.
    vi.stubEnv('AWS_REGION', undefined);
    vi.stubEnv('AWS_DEFAULT_REGION', undefined);
    vi.stubEnv('AWS_PROFILE', undefined);
    vi.stubEnv('AWS_CONFIG_FILE', '/nonexistent/dbcreds-test/config');
    vi.stubEnv('AWS_ENDPOINT_URL_SECRETS_MANAGER', undefined);
    vi.stubEnv('AWS_ENDPOINT_URL', undefined);
    const source = createCredentialSource({
      secretId: 'app',
      // A closed port: a request that went out would fail as SecretFetchError, not ConfigurationError.
      clientConfig: { endpoint: 'http://127.0.0.1:9', credentials },
      retry: { maxAttempts: 1 },
    });

    // Act
    const err = await source.get().catch((e: unknown) => e);
    source.close();

    // Assess
    expect(err).toBeInstanceOf(ConfigurationError);
    expect(err).toMatchObject({
      keys: ['clientConfig.region'],
      message:
        'dbcreds: no AWS region for Secrets Manager: set the AWS_REGION environment variable, or clientConfig: { region: "us-east-1" }',
      cause: { message: 'Region is missing' },
    });
    expect(source.stats().fetches).toBe(1);
  });
});

/**
 * Lambda cold starts: an app that reads through the Secrets Manager Agent / Lambda extension must not
 * load the AWS SDK (`@aws-sdk/*`, `@smithy/*`) at all; one using the SDK backend loads it (the control
 * that proves the detector sees it). Each case is a child process (tsx, sources through tsconfig paths)
 * that requires / imports @dbcreds/pg, creates the source and reads the secret once, against the local
 * Secrets Manager's agent endpoint; a preloaded hook (record-loads.mjs) lists every module Node loaded.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { type LocalSecretsManager, startLocalSecretsManager } from '@dbcreds/local-secrets-manager';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const TOKEN = 'lazy-sdk-test-token';
const SECRET = 'lazy-sdk/db';
/** Hang detection only. */
const DEADLINE_MS = 120_000;

let sm: LocalSecretsManager;
beforeAll(async () => {
  sm = await startLocalSecretsManager({ agent: { token: TOKEN } });
  const client = new SecretsManagerClient({
    endpoint: sm.endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
  const value = { engine: 'postgres', host: '127.0.0.1', port: 5432, username: 'lazy', password: 'pw-lazy-1' };
  await client.send(new CreateSecretCommand({ Name: SECRET, SecretString: JSON.stringify(value) }));
  client.destroy();
});
afterAll(() => sm?.close());

async function run(format: 'cts' | 'mts', source: Record<string, unknown>) {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ['--import', './test/lazy-sdk/record-loads.mjs', '--import', 'tsx', `./test/lazy-sdk/child.${format}`],
    {
      cwd: ROOT,
      timeout: DEADLINE_MS,
      env: {
        ...process.env,
        NODE_OPTIONS: '',
        LAZY_SDK_SOURCE: JSON.stringify(source),
        AWS_ACCESS_KEY_ID: 'test',
        AWS_SECRET_ACCESS_KEY: 'test',
      },
    },
  );
  const lines = stdout.split('\n').filter((l) => l.trim() !== '');
  const result = JSON.parse(lines.at(-2)!) as { username?: string; error?: string; sdkCause?: boolean };
  const loads = JSON.parse(lines.at(-1)!) as { total: number; dbcreds: number; aws: string[] };
  return { result, loads };
}

describe.each(['cts', 'mts'] as const)('module loads of an app using @dbcreds/pg (%s)', (format) => {
  it('through the agent: reads the secret with no @aws-sdk or @smithy module loaded', async () => {
    const { result, loads } = await run(format, {
      secretId: SECRET,
      agent: { endpoint: sm.agent!.endpoint, token: TOKEN },
    });

    expect(result).toEqual({ username: 'lazy' });
    expect(loads.dbcreds).toBeGreaterThan(10); // the detector saw the app's modules (core's and pg's sources)
    expect(loads.aws).toEqual([]);
  });

  it('control, the SDK backend: @aws-sdk/client-secrets-manager is loaded', async () => {
    const { result, loads } = await run(format, {
      secretId: SECRET,
      clientConfig: { endpoint: sm.endpoint, region: 'us-east-1' },
    });

    expect(result).toEqual({ username: 'lazy' });
    expect(loads.aws.some((u) => u.includes('@aws-sdk/client-secrets-manager/'))).toBe(true);
  });
});

describe("the lazily loaded SDK is the app's SDK", () => {
  it('an ES module app importing @aws-sdk/client-secrets-manager itself: instanceof holds for the cause core reports', async () => {
    const { result } = await run('mts', {
      secretId: 'lazy-sdk/missing',
      clientConfig: { endpoint: sm.endpoint, region: 'us-east-1' },
    });

    expect(result).toEqual({ error: 'SecretNotFoundError', sdkCause: true });
  });
});

import { createServer } from 'node:net';
import {
  CreateSecretCommand,
  ReplicateSecretToRegionsCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import {
  ConfigurationError,
  createCredentialSource,
  type RefreshedEvent,
  SecretFetchError,
  SecretFormatError,
  SecretNotFoundError,
} from '@dbcreds/core';
import { type LocalSecretsManager, startLocalSecretsManager } from '@dbcreds/local-secrets-manager';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const PRIMARY = 'us-east-1';
const REPLICA = 'eu-west-1';
const credentials = { accessKeyId: 'AKIDLOCAL', secretAccessKey: 'local' };
const SECRET = JSON.stringify({ engine: 'postgres', host: 'db', username: 'app', password: 'p1' });

let sm: LocalSecretsManager;
let admin: SecretsManagerClient;
let closedPort: number;

beforeAll(async () => {
  sm = await startLocalSecretsManager({ regions: [REPLICA], schedulerIntervalMs: 0 });
  admin = new SecretsManagerClient({ region: PRIMARY, endpoint: sm.endpoint, credentials, maxAttempts: 1 });
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  closedPort = (server.address() as { port: number }).port;
  await new Promise<void>((r) => server.close(() => r()));
});
afterAll(async () => {
  admin.destroy();
  await sm.close();
});

let n = 0;
async function replicated(value = SECRET): Promise<string> {
  const name = `regions-${process.pid}-${++n}`;
  await admin.send(new CreateSecretCommand({ Name: name, SecretString: value }));
  await admin.send(new ReplicateSecretToRegionsCommand({ SecretId: name, AddReplicaRegions: [{ Region: REPLICA }] }));
  return name;
}

const base = () => ({
  clientConfig: { endpoint: sm.endpoint, credentials },
  attemptTimeoutMs: 2_000,
  retry: { maxAttempts: 2, baseDelayMs: 1, maxDelayMs: 5 },
});
const refusedPrimary = () => ({ region: PRIMARY, clientConfig: { endpoint: `http://127.0.0.1:${closedPort}` } });
/** A client that fails every call with `error` (an AWS-shaped service error). */
const failing = (name: string, status: number) => ({
  calls: 0,
  async send(): Promise<never> {
    this.calls++;
    throw Object.assign(new Error(`${name} from the primary`), { name, $metadata: { httpStatusCode: status } });
  },
});

describe('regions option: validation', () => {
  const bad = (opts: Record<string, unknown>): ConfigurationError => {
    try {
      createCredentialSource({ secretId: 's', ...opts } as never).close();
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigurationError);
      return err as ConfigurationError;
    }
    throw new Error('expected a ConfigurationError');
  };

  it('rejects unknown keys, bad names, duplicates, and clashes with agent and client', () => {
    expect(bad({ regions: [{ region: PRIMARY, endpoint: 'x' }] }).keys).toEqual(['regions[0].endpoint']);
    expect(bad({ regions: [] }).keys).toEqual(['regions']);
    expect(bad({ regions: ['Not a region'] }).keys).toEqual(['regions[0].region']);
    expect(bad({ regions: [PRIMARY, PRIMARY] }).keys).toEqual(['regions[1]']);
    expect(bad({ regions: [PRIMARY], agent: true }).keys).toEqual(['regions', 'agent']);
    expect(bad({ regions: [PRIMARY], client: failing('x', 500) }).keys).toEqual(['regions', 'client']);
    expect(bad({ regions: [{ region: PRIMARY, client: failing('x', 500), clientConfig: {} }] }).keys).toEqual([
      'regions[0].clientConfig',
    ]);
    expect(bad({ regions: [{ region: PRIMARY, clientConfig: { region: REPLICA } }] }).keys).toEqual([
      'regions[0].clientConfig.region',
    ]);
    expect(bad({ primaryRetryMs: 1 }).keys).toEqual(['primaryRetryMs']);
    expect(bad({ regions: [PRIMARY], primaryRetryMs: -1 }).keys).toEqual(['primaryRetryMs']);
  });

  it('accepts names, { region, client } and { region, clientConfig } over a top-level clientConfig', () => {
    const s = createCredentialSource({
      secretId: 's',
      clientConfig: { credentials },
      regions: [
        PRIMARY,
        { region: REPLICA, clientConfig: { endpoint: sm.endpoint } },
        { region: 'ap-south-1', client: failing('x', 500) },
      ],
      primaryRetryMs: 1_000,
    });
    s.close();
  });
});

describe('regions option: failover (real SDK over HTTP)', () => {
  it('a refused connection to the primary reads the replica; credentials, event and stats name it', async () => {
    // Prepare
    const secretId = await replicated();
    const source = createCredentialSource({ secretId, ...base(), regions: [refusedPrimary(), REPLICA] });
    const events: RefreshedEvent[] = [];
    source.on('refreshed', (e) => events.push(e));
    sm.resetCounters();
    // Act
    const creds = await source.get();
    // Assess
    expect(creds).toMatchObject({ username: 'app', password: 'p1', region: REPLICA });
    expect(events.map((e) => e.region)).toEqual([REPLICA]);
    expect(source.stats()).toMatchObject({ region: REPLICA, fetches: 2, errors: 0 });
    expect(sm.callCount('GetSecretValue', REPLICA)).toBe(1);
    source.close();
  });

  it('the primary answering: the replica is never read', async () => {
    const secretId = await replicated();
    const source = createCredentialSource({ secretId, ...base(), regions: [PRIMARY, REPLICA] });
    sm.resetCounters();
    expect((await source.get()).region).toBe(PRIMARY);
    expect(sm.counters(REPLICA)).toEqual({});
    source.close();
  });

  it('throttling on the primary fails over; AccessDenied, not-found and a bad secret do not', async () => {
    const secretId = await replicated();
    const throttled = failing('ThrottlingException', 400);
    const s1 = createCredentialSource({
      secretId,
      ...base(),
      regions: [{ region: PRIMARY, client: throttled }, REPLICA],
    });
    expect((await s1.get()).region).toBe(REPLICA);
    expect(throttled.calls).toBe(1);
    s1.close();

    const denied = failing('AccessDeniedException', 400);
    sm.resetCounters();
    const s2 = createCredentialSource({ secretId, ...base(), regions: [{ region: PRIMARY, client: denied }, REPLICA] });
    await expect(s2.get()).rejects.toBeInstanceOf(SecretFetchError);
    s2.close();

    // The secret exists only in the replica region's own namespace: not found in the primary is final.
    const s3 = createCredentialSource({ secretId: 'nowhere', ...base(), regions: [PRIMARY, REPLICA] });
    await expect(s3.get()).rejects.toBeInstanceOf(SecretNotFoundError);
    s3.close();

    const malformed = await replicated('not json');
    const s4 = createCredentialSource({ secretId: malformed, ...base(), regions: [PRIMARY, REPLICA] });
    await expect(s4.get()).rejects.toBeInstanceOf(SecretFormatError);
    s4.close();
    expect(sm.counters(REPLICA), 'no failover for those').toEqual({});
  });

  it('every region down: a typed error naming the last region tried, with cause', async () => {
    const secretId = await replicated();
    const source = createCredentialSource({
      secretId,
      ...base(),
      regions: [refusedPrimary(), { region: REPLICA, clientConfig: { endpoint: `http://127.0.0.1:${closedPort}` } }],
    });
    const err = await source.get().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SecretFetchError);
    expect((err as Error).message).toContain(`AWS Secrets Manager in ${REPLICA}`);
    expect((err as Error).cause).toBeDefined();
    source.close();
  });
});

/**
 * The real @aws-sdk/client-secrets-manager over HTTP against the project's local Secrets Manager,
 * and real scram PostgreSQL / MariaDB servers for the auth-retry path.
 */
import { CreateSecretCommand, PutSecretValueCommand, RotateSecretCommand } from '@aws-sdk/client-secrets-manager';
import {
  type CredentialSource,
  createCredentialSource,
  type DbCredentials,
  type ErrorEvent,
  isAuthError,
  SecretFetchError,
  SecretFormatError,
  SecretNotFoundError,
} from '@dbcreds/core';
import { startLocalSecretsManager } from '@dbcreds/local-secrets-manager';
import {
  createAdmin,
  dbSecretFor,
  ENGINES,
  type EngineName,
  moveCurrent,
  putDbSecret,
  randomPassword,
  serverFor,
  startTestSecretsManager,
  type TestSecretsManager,
  uniqueSecretName,
} from '@dbcreds/testbed';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { manualClock } from './helpers/fake-sm.js';

let tsm: TestSecretsManager;
const sources: CredentialSource[] = [];

beforeAll(async () => {
  tsm = await startTestSecretsManager();
});
afterAll(async () => {
  await tsm?.close();
});
afterEach(() => {
  for (const s of sources.splice(0)) s.close();
});

function source(secretId: string, extra: Partial<Parameters<typeof createCredentialSource>[0]> = {}) {
  const s = createCredentialSource({ secretId, client: tsm.client, ...extra });
  sources.push(s);
  return s;
}

const gets = () => tsm.sm.callCount('GetSecretValue');
const value = (username: string, password: string) => dbSecretFor('postgres', { username, password });

describe('real SDK + local Secrets Manager', () => {
  it('parses the secret and serves 100 get() calls from one GetSecretValue', async () => {
    const id = uniqueSecretName('core');
    const v1 = await putDbSecret(tsm.client, id, value('app', 'pw-1'));
    const s = source(id);
    const before = gets();

    const all = await Promise.all(Array.from({ length: 100 }, () => s.get()));

    expect(gets() - before).toBe(1);
    expect(all[0]).toMatchObject({
      username: 'app',
      password: 'pw-1',
      versionId: v1,
      stage: 'AWSCURRENT',
      engine: 'postgres',
    });
    expect(all[0]?.port).toBe(serverFor('postgres').port);
  });

  it('1,000 concurrent refresh(rejected) → exactly 1 GetSecretValue after AWSCURRENT moved', async () => {
    const id = uniqueSecretName('core');
    await putDbSecret(tsm.client, id, value('app', 'pw-1'));
    const s = source(id);
    const old = await s.get();
    const v2 = await putDbSecret(tsm.client, id, value('app', 'pw-2'));
    const before = gets();

    const results = await Promise.all(Array.from({ length: 1000 }, () => s.refresh(old)));

    expect(gets() - before).toBe(1);
    expect(results.every((c) => c.versionId === v2 && c.password === 'pw-2')).toBe(true);
  });

  it('1,000 concurrent refresh(rejected) → exactly 2 calls in the rotation window, then follows AWSCURRENT', async () => {
    const id = uniqueSecretName('core');
    const clock = manualClock();
    await putDbSecret(tsm.client, id, value('app', 'pw-1'));
    const s = source(id, { clock, ttlMs: 60_000 });
    const rotated: unknown[] = [];
    s.on('rotated', (e) => rotated.push(e));
    const old = await s.get();
    const v2 = await putDbSecret(tsm.client, id, value('app', 'pw-2'), ['AWSPENDING']);
    const before = gets();

    const results = await Promise.all(Array.from({ length: 1000 }, () => s.refresh(old)));

    expect(gets() - before).toBe(2);
    expect(results.every((c) => c.versionId === v2 && c.stage === 'AWSPENDING')).toBe(true);
    expect((await s.get()).stage).toBe('AWSPENDING'); // new connections use it directly
    expect(s.stats()).toMatchObject({ fallbacks: 1, rotations: 1 });

    await moveCurrent(tsm.client, id, v2); // finishSecret
    clock.advance(60_000);
    const reloaded = new Promise((r) => s.once('refreshed', r));
    expect(await s.get()).toMatchObject({ versionId: v2, stage: 'AWSPENDING' }); // stale at once, reloading
    await reloaded;
    const after = await s.get();
    expect(after).toMatchObject({ versionId: v2, stage: 'AWSCURRENT', password: 'pw-2' });
    expect(rotated).toHaveLength(1); // same version, only its label moved
  });

  it('back-to-back rotations inside one TTL: a promoted fallback version is rotated away from via AWSPENDING', async () => {
    // Regression (found by the e2e test and the drill): after rotation 1 the cache holds v2 labelled
    // AWSPENDING; finishSecret promotes v2; rotation 2's setSecret rejects v2 while AWSCURRENT is still v2.
    const id = uniqueSecretName('core');
    await putDbSecret(tsm.client, id, value('app', 'pw-1'));
    const s = source(id, { ttlMs: 3_600_000, minRefreshIntervalMs: 60_000 });
    const v1creds = await s.get();
    for (const [n, pw] of [
      [2, 'pw-2'],
      [3, 'pw-3'],
      [4, 'pw-4'],
    ] as const) {
      const rejected = await s.get();
      const next = await putDbSecret(tsm.client, id, value('app', pw), ['AWSPENDING']); // createSecret
      const before = gets();
      const got = await s.refresh(rejected); // setSecret done: the server rejects `rejected`
      expect(got, `rotation ${n}`).toMatchObject({ versionId: next, stage: 'AWSPENDING', password: pw });
      expect(gets() - before).toBe(2); // AWSCURRENT (still the rejected version) + AWSPENDING
      await moveCurrent(tsm.client, id, next); // finishSecret
    }
    expect(v1creds.password).toBe('pw-1');
    expect(s.stats()).toMatchObject({ fallbacks: 3, rotations: 3 });
  });

  it('RotateSecret placeholder: an AWSPENDING version without a value is treated as absent', async () => {
    const id = uniqueSecretName('core-rot');
    const v1 = await putDbSecret(tsm.client, id, value('app', 'pw-1'));
    const s = source(id, { minRefreshIntervalMs: 0 });
    const errors: ErrorEvent[] = [];
    s.on('error', (e) => errors.push(e));
    const old = await s.get();
    const lambdaArn = `arn:aws:lambda:us-east-1:000000000000:function:${id.replace(/\W/g, '-')}`;
    const seen: Array<{ step: string; versionId: string; stage: string }> = [];
    tsm.sm.registerRotator(lambdaArn, async (event) => {
      if (event.Step === 'createSecret') {
        // RotateSecret has registered the token as AWSPENDING with no value yet.
        const c = await s.refresh(old);
        seen.push({ step: event.Step, versionId: c.versionId, stage: c.stage });
        await tsm.client.send(
          new PutSecretValueCommand({
            SecretId: event.SecretId,
            ClientRequestToken: event.ClientRequestToken,
            SecretString: JSON.stringify(value('app', 'pw-2')),
            VersionStages: ['AWSPENDING'],
          }),
        );
      } else if (event.Step === 'setSecret') {
        const c = await s.refresh(old); // now AWSPENDING has a value: rotation-window fallback
        seen.push({ step: event.Step, versionId: c.versionId, stage: c.stage });
      } else if (event.Step === 'finishSecret') {
        await moveCurrent(tsm.client, event.SecretId, event.ClientRequestToken);
      }
    });

    await tsm.client.send(
      new RotateSecretCommand({ SecretId: id, RotationLambdaARN: lambdaArn, RotateImmediately: true }),
    );

    expect(seen[0]).toEqual({ step: 'createSecret', versionId: v1, stage: 'AWSCURRENT' });
    expect(seen[1]?.stage).toBe('AWSPENDING');
    expect(seen[1]?.versionId).not.toBe(v1);
    expect(errors).toEqual([]);
    expect(s.stats()).toMatchObject({ errors: 0, fallbacks: 1 });
  });

  it('missing secret → SecretNotFoundError after one call (no retries)', async () => {
    const s = source(uniqueSecretName('missing'));
    const before = gets();
    const err = await s.get().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SecretNotFoundError);
    // The same AWS error covers a missing secret and a missing stage: the message must not claim either.
    expect((err as Error).message).toMatch(/not found, or it has no value at stage AWSCURRENT/);
    expect((err as Error & { cause: { name: string } }).cause.name).toBe('ResourceNotFoundException');
    expect(gets() - before).toBe(1);
  });

  it('SecretBinary → SecretFormatError', async () => {
    const id = uniqueSecretName('bin');
    await tsm.client.send(new CreateSecretCommand({ Name: id, SecretBinary: new Uint8Array([1, 2, 3]) }));
    await expect(source(id).get()).rejects.toBeInstanceOf(SecretFormatError);
  });

  it('unreachable endpoint → SecretFetchError naming the secret, wrapping ECONNREFUSED, after retry.maxAttempts', async () => {
    const dead = await startLocalSecretsManager({ port: 0 });
    const endpoint = dead.endpoint;
    await dead.close();
    const s = createCredentialSource({
      secretId: 'app/db',
      clientConfig: { endpoint, region: 'us-east-1', credentials: { accessKeyId: 'a', secretAccessKey: 'b' } },
      retry: { maxAttempts: 3, baseDelayMs: 5, maxDelayMs: 10 },
    });
    sources.push(s);
    const err = await s.get().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SecretFetchError);
    expect(err).toMatchObject({ secretId: 'app/db', attempts: 3 });
    expect(JSON.stringify((err as Error).cause) + String((err as Error).cause)).toMatch(/ECONNREFUSED/);
    expect(s.stats().fetches).toBe(3);
  });

  it('stale-on-error: keeps serving the cached value while Secrets Manager is down', async () => {
    const own = await startLocalSecretsManager({ port: 0 });
    const clock = manualClock();
    const cfg = {
      endpoint: own.endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'a', secretAccessKey: 'b' },
    };
    const s = createCredentialSource({
      secretId: 'stale/db',
      clientConfig: cfg,
      clock,
      ttlMs: 1000,
      maxStaleMs: 10_000,
      retry: { maxAttempts: 1 },
    });
    sources.push(s);
    const errors: ErrorEvent[] = [];
    s.on('error', (e) => errors.push(e));
    const { SecretsManagerClient } = await import('@aws-sdk/client-secrets-manager');
    const admin = new SecretsManagerClient({ ...cfg, maxAttempts: 1 });
    await putDbSecret(admin, 'stale/db', value('app', 'pw-1'));
    admin.destroy();
    const cached = await s.get();
    await own.close();

    clock.advance(1000);
    const failed = new Promise((r) => s.once('error', r));
    expect(await s.get()).toBe(cached); // at once; the background fetch fails
    await failed;
    await new Promise((r) => setImmediate(r)); // the flight settles right after its error event
    expect(errors[0]).toMatchObject({ servingStale: true });
    expect(errors[0]?.error).toBeInstanceOf(SecretFetchError);

    clock.advance(11_000);
    await expect(s.get()).rejects.toBeInstanceOf(SecretFetchError);
  });
});

// ---- real databases: withAuthRetry recovers from a rotation window with zero failed attempts ----

async function login(engine: EngineName, c: DbCredentials): Promise<string> {
  const srv = serverFor(engine);
  if (engine === 'postgres') {
    const client = new pg.Client({
      host: srv.host,
      port: srv.port,
      user: c.username,
      password: c.password,
      database: srv.database,
    });
    client.on('error', () => {});
    try {
      await client.connect();
      return (await client.query('SELECT current_user AS u')).rows[0].u;
    } finally {
      await client.end().catch(() => {});
    }
  }
  const conn = await mysql.createConnection({
    host: srv.host,
    port: srv.port,
    user: c.username,
    password: c.password,
    database: srv.database,
  });
  try {
    const [rows] = await conn.query('SELECT CURRENT_USER() AS u');
    return String((rows as Array<{ u: string }>)[0]?.u).split('@')[0]!;
  } finally {
    await conn.end().catch(() => {});
  }
}

describe.each(ENGINES)('withAuthRetry against real %s', (engine) => {
  it('bridges setSecret→finishSecret via AWSPENDING: 20 concurrent logins, 0 failures, 2 GetSecretValue', async () => {
    const admin = await createAdmin(engine);
    try {
      const user = await admin.createUser({ prefix: 'core' });
      const id = uniqueSecretName('core-db');
      await putDbSecret(tsm.client, id, dbSecretFor(engine, user));
      const s = source(id);
      const first = await s.get();
      expect(await login(engine, first)).toBe(user.username);

      // setSecret: the server takes the new password; AWSCURRENT still holds the old one.
      const newPassword = randomPassword();
      const v2 = await putDbSecret(
        tsm.client,
        id,
        dbSecretFor(engine, { username: user.username, password: newPassword }),
        ['AWSPENDING'],
      );
      await admin.setPassword(user.username, newPassword);
      const rejected = await admin.expectLoginRejected(user); // proves the cached password is now refused
      expect(isAuthError(rejected)).toBe(true);
      const before = gets();

      let authFailures = 0;
      const results = await Promise.all(
        Array.from({ length: 20 }, () =>
          s.withAuthRetry(async (c) => {
            try {
              return await login(engine, c);
            } catch (err) {
              if (isAuthError(err)) authFailures++;
              throw err;
            }
          }),
        ),
      );

      expect(results).toEqual(Array(20).fill(user.username)); // zero failed calls
      expect(authFailures).toBeGreaterThan(0); // the stale password really was tried and refused
      expect(gets() - before).toBe(2); // AWSCURRENT + AWSPENDING, once for the whole burst
      expect(await s.get()).toMatchObject({ versionId: v2, stage: 'AWSPENDING' });
    } finally {
      await admin.close();
    }
  });
});

/**
 * Replica-region failover (`regions` option) against the multi-region local Secrets Manager, through a
 * real @dbcreds/pg pool on the private scram-sha-256 PostgreSQL. The primary region (us-east-1) is
 * reached through a fault proxy; the replica (us-west-2) directly. Every query opens a new login
 * (the connection is destroyed after it), so each one goes through the source.
 *
 * - primary blackholed, cold cache: a new source and pool serve every query through the replica.
 * - a rotation while the replica lags (lag > the rotation's duration), the process preferring the
 *   replica after an earlier failover: 0 failed (the refused login asks the primary), bounded calls,
 *   and neither a TTL reload nor a refresh() takes the cache back to the replica's older version.
 * - primary recovery: after primaryRetryMs, reads go back to the primary.
 * Time is driven by an injected clock offset, never by the wall clock (deadlines only catch hangs).
 */
import {
  GetSecretValueCommand,
  ReplicateSecretToRegionsCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { type CredentialSource, createCredentialSource, type RefreshedEvent } from '@dbcreds/core';
import { type LocalSecretsManager, startLocalSecretsManager } from '@dbcreds/local-secrets-manager';
import { createPool } from '@dbcreds/pg';
import {
  type Admin,
  createAdmin,
  dbSecretFor,
  type FaultProxy,
  moveCurrent,
  putDbSecret,
  randomPassword,
  startFaultProxy,
  type UserCreds,
  uniqueSecretName,
} from '@dbcreds/testbed';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const PRIMARY = 'us-east-1';
const REPLICA = 'us-west-2';
const QUERIES = 40;
const credentials = { accessKeyId: 'AKIDLOCALTEST', secretAccessKey: 'local-test-secret' };

let sm: LocalSecretsManager;
let proxy: FaultProxy;
let admin: Admin;
let primary: SecretsManagerClient;
let replica: SecretsManagerClient;

beforeAll(async () => {
  sm = await startLocalSecretsManager({ regions: [REPLICA], schedulerIntervalMs: 0 });
  [proxy, admin] = await Promise.all([startFaultProxy({ target: sm.endpoint }), createAdmin('postgres')]);
  primary = new SecretsManagerClient({ region: PRIMARY, endpoint: sm.endpoint, credentials, maxAttempts: 1 });
  replica = new SecretsManagerClient({ region: REPLICA, endpoint: sm.endpoint, credentials, maxAttempts: 1 });
}, 120_000);

afterAll(async () => {
  primary?.destroy();
  replica?.destroy();
  await Promise.all([proxy?.close(), admin?.close()]);
  await sm?.close();
});

/** A database user and its secret in the primary region, replicated (in sync) to the replica. */
async function replicatedSecret(): Promise<{ secretId: string; user: UserCreds; versionId: string }> {
  const user = await admin.createUser({ prefix: 'region' });
  const secretId = uniqueSecretName('region');
  const versionId = await putDbSecret(primary, secretId, dbSecretFor('postgres', user));
  await primary.send(
    new ReplicateSecretToRegionsCommand({ SecretId: secretId, AddReplicaRegions: [{ Region: REPLICA }] }),
  );
  return { secretId, user, versionId };
}

/** The source under test: primary through the proxy, replica direct; a clock the test can move forward. */
function regionSource(secretId: string, clockOffset: { ms: number }, extra: Record<string, unknown> = {}) {
  return createCredentialSource({
    secretId,
    clientConfig: { endpoint: sm.endpoint, credentials },
    regions: [{ region: PRIMARY, clientConfig: { endpoint: proxy.endpoint } }, REPLICA],
    attemptTimeoutMs: 500,
    retry: { maxAttempts: 2, baseDelayMs: 10, maxDelayMs: 50 },
    clock: { now: () => Date.now() + clockOffset.ms },
    ...extra,
  });
}

/** Runs `n` queries, 4 at a time, each on a new login; resolves to the number that failed. */
async function queries(source: CredentialSource, n: number): Promise<{ failed: number; errors: unknown[] }> {
  const pool = createPool(source, { max: 4, connectionTimeoutMillis: 10_000 });
  const errors: unknown[] = [];
  let next = 0;
  const worker = async () => {
    while (next < n) {
      next++;
      try {
        const c = await pool.connect();
        try {
          await c.query('SELECT 1');
        } finally {
          c.release(true); // destroyed: the next query logs in again
        }
      } catch (err) {
        errors.push(err);
      }
    }
  };
  await Promise.all([worker(), worker(), worker(), worker()]);
  await pool.end();
  return { failed: errors.length, errors };
}

const gsv = (region: string) => sm.callCount('GetSecretValue', region);

describe('replica-region failover through @dbcreds/pg', { timeout: 120_000 }, () => {
  it('primary blackholed: a cold source serves every query through the replica (0 failed)', async () => {
    // Prepare
    const { secretId } = await replicatedSecret();
    await proxy.setMode('blackhole');
    const directFailed = await primary
      .send(new GetSecretValueCommand({ SecretId: secretId }), { abortSignal: AbortSignal.timeout(500) })
      .then(() => false)
      .catch(() => true);
    const viaProxy = new SecretsManagerClient({
      region: PRIMARY,
      endpoint: proxy.endpoint,
      credentials,
      maxAttempts: 1,
    });
    const blackholed = await viaProxy
      .send(new GetSecretValueCommand({ SecretId: secretId }), { abortSignal: AbortSignal.timeout(500) })
      .then(() => false)
      .catch(() => true);
    viaProxy.destroy();
    sm.resetCounters();
    const blackholedBefore = proxy.counts.blackhole;
    const source = regionSource(secretId, { ms: 0 });
    const refreshed: RefreshedEvent[] = [];
    source.on('refreshed', (e) => refreshed.push(e));
    try {
      // Act
      const run = await queries(source, QUERIES);
      // Assess
      expect(directFailed, 'the primary itself answers (only the path through the proxy is cut)').toBe(false);
      expect(blackholed, 'the proxy blackholes the primary').toBe(true);
      expect(run.errors).toEqual([]);
      expect(source.stats()).toMatchObject({ region: REPLICA, errors: 0 });
      expect(refreshed.map((e) => e.region)).toEqual([REPLICA]);
      expect(gsv(REPLICA), 'one read for all the logins').toBe(1);
      expect(proxy.counts.blackhole - blackholedBefore, 'the primary was tried once, then left alone').toBe(1);
    } finally {
      source.close();
      await proxy.setMode('pass');
    }
  });

  it('a rotation while the replica lags behind it: 0 failed, bounded calls, never back to the older version', async () => {
    // Prepare: the source failed over earlier (it prefers the replica now), the primary is back.
    const { secretId, user, versionId: v1 } = await replicatedSecret();
    const clock = { ms: 0 };
    const source = regionSource(secretId, clock, { primaryRetryMs: 600_000, ttlMs: 60_000 });
    await proxy.setMode('blackhole');
    expect((await source.get()).region).toBe(REPLICA);
    await proxy.setMode('pass');
    sm.setReplicationLag(3_600_000); // far longer than the rotation
    sm.resetCounters();
    const fallbacks: string[] = [];
    source.on('fallback', (e) => fallbacks.push(`${e.stage}@${e.region}`));
    try {
      // Act: single-user rotation on the primary, as the rotation function runs it.
      const password = randomPassword();
      const v2 = await putDbSecret(primary, secretId, dbSecretFor('postgres', { ...user, password }), ['AWSPENDING']);
      await admin.setPassword(user.username, password); // setSecret
      await admin.expectLoginRejected(user); // the old password is refused from now on
      const during = await queries(source, QUERIES);
      await moveCurrent(primary, secretId, v2); // finishSecret
      const after = await queries(source, QUERIES);
      // TTL expiry (stale-while-revalidate) and a plain refresh() while the replica still holds v1.
      clock.ms += 120_000;
      const revalidated = new Promise<void>((resolve) => source.once('refreshed', () => resolve()));
      const staleServed = await source.get();
      await revalidated;
      const refreshed = await source.refresh();
      const last = await queries(source, QUERIES);
      const replicaCurrent = await replica.send(new GetSecretValueCommand({ SecretId: secretId }));
      // Assess
      expect(replicaCurrent.VersionId, 'the replica lagged throughout').toBe(v1);
      expect(during.errors).toEqual([]);
      expect(after.errors).toEqual([]);
      expect(last.errors).toEqual([]);
      expect(fallbacks, 'AWSPENDING came from the primary').toEqual([`AWSPENDING@${PRIMARY}`]);
      expect(staleServed.versionId).toBe(v2);
      expect(refreshed.versionId, "refresh() kept v2 over the replica's v1").toBe(v2);
      expect((await source.get()).versionId).toBe(v2);
      // Initial lookup: replica AWSCURRENT + AWSPENDING (+ recheck), primary AWSCURRENT + AWSPENDING;
      // then a TTL reload and a refresh(), each one replica read. None per failed login.
      expect(gsv(REPLICA) + gsv(PRIMARY)).toBeLessThanOrEqual(8);
      expect(gsv(PRIMARY)).toBeGreaterThanOrEqual(2);
    } finally {
      sm.flushReplication();
      sm.setReplicationLag(0);
      source.close();
    }
  });

  it('primary recovery: after primaryRetryMs, reads go back to the primary', async () => {
    // Prepare
    const { secretId } = await replicatedSecret();
    const clock = { ms: 0 };
    const source = regionSource(secretId, clock, { primaryRetryMs: 30_000, ttlMs: 60_000 });
    const regions: Array<string | undefined> = [];
    source.on('refreshed', (e) => regions.push(e.region));
    await proxy.setMode('blackhole');
    try {
      await source.get();
      await proxy.setMode('pass');
      // Act
      clock.ms += 10_000; // within primaryRetryMs: the replica first
      await source.refresh();
      const passedBefore = proxy.counts.pass;
      clock.ms += 30_000; // past it: the primary first again
      await source.refresh();
      const run = await queries(source, QUERIES);
      // Assess
      expect(regions).toEqual([REPLICA, REPLICA, PRIMARY]);
      expect(proxy.counts.pass - passedBefore).toBe(1);
      expect(source.stats().region).toBe(PRIMARY);
      expect(run.errors).toEqual([]);
    } finally {
      source.close();
      await proxy.setMode('pass');
    }
  });
});

import { type CredentialSource, createCredentialSource } from '@dbcreds/core';
import {
  type Admin,
  createAdmin,
  dbSecretFor,
  putDbSecret,
  randomPassword,
  startTestSecretsManager,
  type TestSecretsManager,
  type UserCreds,
  uniqueSecretName,
} from '@dbcreds/testbed';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { withRotatingCredentials } from '../src/index.js';
import { createSchema, MysqlPrismaClient, whoami } from './fixtures.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Polls the server's session count (closing sockets are not gone from PROCESSLIST at once). The deadline is a
 * hang guard: draining takes well under a second, 2 s was too close on a loaded machine.
 */
async function sessionsDrainTo0(admin: Admin, username: string, timeoutMs = 20_000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  let n = await admin.countSessions(username);
  while (n > 0 && Date.now() < deadline) {
    await sleep(50);
    n = await admin.countSessions(username);
  }
  return n;
}

/** What the conformance suite cannot check on MariaDB (see conformance.test.ts), plus the pool swap. */
describe('@dbcreds/prisma on MariaDB (PrismaMariaDb over RotatingMariaDbPool)', () => {
  let sm: TestSecretsManager;
  let admin: Admin;
  let user: UserCreds;
  let source: CredentialSource;
  let prisma: InstanceType<typeof MysqlPrismaClient>;

  beforeAll(async () => {
    sm = await startTestSecretsManager();
    admin = await createAdmin('mysql');
    await createSchema(admin);
  });
  afterEach(async () => {
    await prisma?.$disconnect();
    source?.close();
    if (user) await admin.dropUser(user.username);
  });
  afterAll(async () => {
    await admin?.close();
    await sm?.close();
  });

  async function setup(sourceOptions = {}) {
    user = await admin.createUser({ prefix: 'prisma' });
    const secretId = uniqueSecretName('prisma');
    await putDbSecret(sm.client, secretId, dbSecretFor('mysql', user));
    source = createCredentialSource({ secretId, client: sm.client, minRefreshIntervalMs: 500, ...sourceOptions });
    prisma = new MysqlPrismaClient(withRotatingCredentials({}, source, { provider: 'mysql' }));
    sm.sm.resetCounters();
    return secretId;
  }

  it('steady state: new connections after kills re-read nothing (one GetSecretValue)', async () => {
    await setup();
    for (let round = 0; round < 3; round++) {
      const users = await Promise.all(Array.from({ length: 6 }, (_, i) => whoami(prisma, i % 2 ? 'raw' : 'model')));
      expect(users.map((u) => u.split('@')[0])).toEqual(Array(6).fill(user.username));
      expect(await admin.killSessions(user.username)).toBeGreaterThanOrEqual(1);
      await sleep(50);
    }
    expect(sm.sm.callCount('GetSecretValue')).toBe(1);
  });

  it('wrong everywhere: P1000 (1045) after one refresh, fast, without hammering Secrets Manager', async () => {
    // The first refusal waits for an out-of-band change once (1 s here, default 10 s), then all fail fast.
    await setup({ awaitRotationMs: 1_000 });
    await whoami(prisma, 'raw');
    await admin.setPassword(user.username, randomPassword()); // in no secret version
    await admin.expectLoginRejected(user);
    await admin.killSessions(user.username);
    await sleep(50);
    sm.sm.resetCounters();
    const started = Date.now();
    const errors: unknown[] = [];
    for (let i = 0; i < 20; i++) errors.push(await whoami(prisma, i % 2 ? 'raw' : 'model').catch((e: unknown) => e));
    const elapsed = Date.now() - started;
    expect(errors.every((e) => (e as { meta?: any }).meta?.driverAdapterError?.cause?.originalCode === '1045')).toBe(
      true,
    );
    expect(errors.filter((e) => (e as { code?: string }).code === 'P1000').length).toBe(10); // model calls
    // A hang guard: 20 waits of acquireTimeout (5 s) would take 100 s; this takes about 1 s.
    expect(elapsed).toBeLessThan(50_000);
    // a fruitless refresh costs 3 reads (AWSCURRENT, AWSPENDING, AWSCURRENT again), at most one per
    // minRefreshIntervalMs, plus the one wait's polls (at 250, 750 and 1000 ms, 2 reads each)
    expect(sm.sm.callCount('GetSecretValue')).toBeLessThanOrEqual(3 * (1 + Math.ceil(elapsed / 500)) + 6);
  });

  it('alternating users: the old pool is drained and $disconnect/reconnect works', async () => {
    const secretId = await setup({ ttlMs: 300 });
    await Promise.all(Array.from({ length: 4 }, () => whoami(prisma, 'raw')));
    expect(await admin.countSessions(user.username)).toBeGreaterThanOrEqual(1);
    const b = { username: `${user.username}_b`, password: randomPassword() };
    await admin.cloneUser(user.username, b.username, b.password);
    await putDbSecret(sm.client, secretId, dbSecretFor('mysql', b));
    await admin.expectLoginAccepted(user); // the old user still works: no auth error, a proactive swap
    await sleep(350); // cache TTL elapsed
    // Stale-while-revalidate: the expired value is served while one background refresh reads the new one.
    const stale = await source.get();
    // The background refresh takes milliseconds; the deadline only catches a hang.
    const deadline = Date.now() + 10_000;
    while (source.stats().versionId === stale.versionId && Date.now() < deadline) await sleep(20);
    expect(source.stats().versionId).not.toBe(stale.versionId);
    const users = await Promise.all(Array.from({ length: 4 }, () => whoami(prisma, 'model')));
    expect(users.map((u) => u.split('@')[0])).toEqual(Array(4).fill(b.username));
    expect(await sessionsDrainTo0(admin, user.username)).toBe(0); // old pool ended, idle connections closed
    await prisma.$disconnect();
    expect(await sessionsDrainTo0(admin, b.username)).toBe(0);
    expect((await whoami(prisma, 'raw')).split('@')[0]).toBe(b.username); // reconnects with a fresh pool
    await admin.dropUser(b.username);
  });
});

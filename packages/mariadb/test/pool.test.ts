import { once } from 'node:events';
import { createServer, type Server, connect as tcpConnect } from 'node:net';
import { ConfigurationError, type CredentialSource, createCredentialSource } from '@dbcreds/core';
import {
  type Admin,
  createAdmin,
  dbSecretFor,
  putDbSecret,
  randomPassword,
  rdsManagedSecretName,
  secretStringFor,
  serverFor,
  startConnectionWitness,
  startTestSecretsManager,
  type TestSecretsManager,
  type UserCreds,
  uniqueSecretName,
} from '@dbcreds/testbed';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { RotatingMariaDbPool } from '../src/index.js';

/**
 * A TCP proxy in front of MariaDB whose next `stall` connections are accepted and never answered
 * (the connector's connect timeout fires), the rest piped through. Minimal on purpose: the test bed's
 * fault proxy (test/src/fault-proxy.ts) covers the general case.
 */
async function stallingProxy(target: { host: string; port: number }) {
  let stall = 0;
  const sockets = new Set<import('node:net').Socket>();
  const pairs: Array<[import('node:net').Socket, import('node:net').Socket]> = [];
  const server: Server = createServer((client) => {
    sockets.add(client);
    client.on('close', () => sockets.delete(client));
    client.on('error', () => undefined);
    if (stall > 0) {
      stall--;
      return;
    }
    const upstream = tcpConnect(target.port, target.host);
    sockets.add(upstream);
    upstream.on('close', () => sockets.delete(upstream));
    upstream.on('error', () => client.destroy());
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
    client.pipe(upstream).pipe(client);
    pairs.push([client, upstream]);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    port: (server.address() as { port: number }).port,
    stallNext(n: number) {
      stall = n;
    },
    /** The connections open now stop forwarding, both ways, without closing (a silently dead socket). */
    freezeOpen() {
      for (const [client, upstream] of pairs.splice(0)) {
        client.unpipe(upstream);
        upstream.unpipe(client);
        client.pause();
        upstream.pause();
      }
    },
    async close() {
      for (const s of sockets) s.destroy();
      server.close();
      await once(server, 'close');
    },
  };
}

describe('RotatingMariaDbPool: refused logins', () => {
  let sm: TestSecretsManager;
  let admin: Admin;
  let user: UserCreds;
  let source: CredentialSource;
  let proxy: Awaited<ReturnType<typeof stallingProxy>>;
  let pool: RotatingMariaDbPool | undefined;

  beforeAll(async () => {
    sm = await startTestSecretsManager();
    admin = await createAdmin('mysql');
    proxy = await stallingProxy(serverFor('mysql'));
  });
  afterEach(async () => {
    await pool?.end();
    source?.close();
    if (user) await admin.dropUser(user.username);
  });
  afterAll(async () => {
    await proxy?.close();
    await admin?.close();
    await sm?.close();
  });

  // mariadb's pool reports only the *first* error since its last successful connection, on its 'error'
  // event and as the cause of its acquire timeout (45028). When that first error is a connect timeout
  // (a slow or busy machine: initializationTimeout bounds each attempt), the 1045 refusals that follow are
  // invisible there: the waiters used to sit out acquireTimeout and fail with 45028 ← 45012 (no auth
  // error, so no refresh). The facade now reads each connection's own error (the connector's logger).
  it('a connect timeout before the refusal: the refusal still fails the waiters at once and the retry succeeds', async () => {
    user = await admin.createUser({ prefix: 'prpool' });
    const secretId = uniqueSecretName('prisma-pool');
    await putDbSecret(sm.client, secretId, dbSecretFor('mysql', user));
    source = createCredentialSource({ secretId, client: sm.client });
    await source.get(); // v1 cached
    const next = { username: user.username, password: randomPassword() };
    await admin.setPassword(next.username, next.password);
    await putDbSecret(sm.client, secretId, dbSecretFor('mysql', next)); // v2 AWSCURRENT
    await admin.expectLoginRejected(user);
    const errors: unknown[] = [];
    pool = new RotatingMariaDbPool(source, {
      host: '127.0.0.1',
      port: proxy.port,
      initializationTimeout: 300,
      acquireTimeout: 60_000, // a timed-out wait would end the test: nothing near it is ever legitimate
      logger: { error: (e: unknown) => errors.push(e) }, // the user's logger still sees every error
    });
    proxy.stallNext(1); // the v1 pool's first attempt times out, its second is refused (1045)
    sm.sm.resetCounters();
    const started = Date.now();
    const rows = await Promise.all(Array.from({ length: 4 }, () => pool!.query('SELECT CURRENT_USER() AS u')));
    const elapsed = Date.now() - started;
    expect(rows.map((r: any) => String(r[0].u).split('@')[0])).toEqual(Array(4).fill(user.username));
    expect(elapsed).toBeLessThan(30_000); // not a timed-out wait (acquireTimeout 60 s; this takes about 1 s)
    expect(errors.map((e: any) => e.errno)).toEqual(expect.arrayContaining([45012, 1045]));
    expect(sm.sm.callCount('GetSecretValue')).toBeLessThanOrEqual(2);
  });

  it('a login the server refuses for another reason (account locked) fails at once with its own error', async () => {
    user = await admin.createUser({ prefix: 'prpool' });
    const secretId = uniqueSecretName('prisma-pool');
    await putDbSecret(sm.client, secretId, dbSecretFor('mysql', user));
    source = createCredentialSource({ secretId, client: sm.client });
    pool = new RotatingMariaDbPool(source, {
      host: '127.0.0.1',
      port: proxy.port,
      initializationTimeout: 300,
      acquireTimeout: 60_000, // failing "at once" is then unmistakable
    });
    await admin.setLogin(user.username, false);
    proxy.stallNext(1);
    const started = Date.now();
    const err: any = await pool.query('SELECT 1').catch((e: unknown) => e);
    expect(err.errno).toBe(4151);
    expect(Date.now() - started).toBeLessThan(30_000); // not a wait for acquireTimeout (60 s); about 0.5 s
  });
  // The fast path counted on an idle connection that turns out dead (its validation ping times out)
  // while the password has changed: mariadb's replacement login is refused and the call would fail at
  // acquireTimeout. The statement never ran, so the facade runs it again through the credential path.
  it('fast path: a dead idle connection and a refused replacement login still end in success', async () => {
    user = await admin.createUser({ prefix: 'prpool' });
    const secretId = uniqueSecretName('mariadb-dead-idle');
    await putDbSecret(sm.client, secretId, dbSecretFor('mysql', user));
    source = createCredentialSource({ secretId, client: sm.client });
    pool = new RotatingMariaDbPool(source, {
      host: '127.0.0.1',
      port: proxy.port,
      connectionLimit: 1,
      minDelayValidation: 0, // ping every idle connection on checkout
      acquireTimeout: 1_500,
    });
    const who = async () => String((await pool!.query('SELECT CURRENT_USER() AS u'))[0].u).split('@')[0];
    expect(await who()).toBe(user.username);
    expect(await who()).toBe(user.username); // the idle connection, fast path
    const next = { username: user.username, password: randomPassword() };
    await admin.setPassword(next.username, next.password);
    await putDbSecret(sm.client, secretId, dbSecretFor('mysql', next)); // the source still caches v1
    await admin.expectLoginRejected(user);
    proxy.freezeOpen();
    sm.sm.resetCounters();
    const started = Date.now();
    expect(await who()).toBe(user.username);
    expect(Date.now() - started).toBeLessThan(20_000); // a hang guard: acquireTimeout (1.5 s) and one retry
    expect(sm.sm.callCount('GetSecretValue')).toBeLessThanOrEqual(3);
    expect(source.stats().refreshes).toBeGreaterThanOrEqual(1);
  });
});

describe('RotatingMariaDbPool: the idle fast path', () => {
  let sm: TestSecretsManager;
  let admin: Admin;
  const users: string[] = [];

  beforeAll(async () => {
    sm = await startTestSecretsManager();
    admin = await createAdmin('mysql');
  });
  afterAll(async () => {
    for (const u of users) await admin.dropUser(u);
    await admin?.close();
    await sm?.close();
  });

  // A call served by an idle connection of the current version skips withAuthRetry (the overhead
  // benchmark's Prisma/MariaDB pair); a version the source learned since takes the credential path
  // again, which swaps to the new version's pool.
  it('idle connections serve calls without the credential path; a new version in the source swaps the pool', async () => {
    const a = await admin.createUser({ prefix: 'mdbfast' });
    users.push(a.username);
    const secretId = uniqueSecretName('mariadb-fast');
    await putDbSecret(sm.client, secretId, dbSecretFor('mysql', a));
    const source = createCredentialSource({ secretId, client: sm.client });
    const pool = new RotatingMariaDbPool(source, { ...serverFor('mysql'), connectionLimit: 2 });
    let credentialPath = 0;
    const withAuthRetry = source.withAuthRetry.bind(source);
    source.withAuthRetry = (attempt) => {
      credentialPath++;
      return withAuthRetry(attempt);
    };
    try {
      const who = async (run: () => Promise<any>) => String((await run())[0].u).split('@')[0];
      expect(await who(() => pool.query('SELECT CURRENT_USER() AS u'))).toBe(a.username);
      expect(credentialPath).toBe(1);
      for (let i = 0; i < 20; i++) {
        expect(await who(() => (i % 2 ? pool.execute : pool.query)('SELECT CURRENT_USER() AS u'))).toBe(a.username);
      }
      const conn = await pool.getConnection();
      await conn.release();
      expect(credentialPath).toBe(1);

      const b = { username: `${a.username}_b`, password: randomPassword() };
      await admin.cloneUser(a.username, b.username, b.password);
      users.push(b.username);
      await putDbSecret(sm.client, secretId, dbSecretFor('mysql', b));
      await source.refresh(); // the source learns B (as a TTL reload or another pool's refresh would)
      expect(await who(() => pool.query('SELECT CURRENT_USER() AS u'))).toBe(b.username);
      expect(credentialPath).toBe(2);
      expect(await who(() => pool.query('SELECT CURRENT_USER() AS u'))).toBe(b.username);
      expect(credentialPath).toBe(2);
    } finally {
      await pool.end();
      source.close();
    }
  });
});

describe('RotatingMariaDbPool: a secret without a host', () => {
  it('RDS-managed shape and no host option: ConfigurationError at the first connection, nothing sent to localhost', async () => {
    const sm = await startTestSecretsManager();
    const admin = await createAdmin('mysql');
    const witness = await startConnectionWitness();
    const user = await admin.createUser({ prefix: 'nohost' });
    const secretId = rdsManagedSecretName();
    await putDbSecret(sm.client, secretId, secretStringFor('rds-managed', 'mysql', user));
    const source = createCredentialSource({ secretId, client: sm.client });
    const pool = new RotatingMariaDbPool(source, { port: witness.port, database: serverFor('mysql').database });
    try {
      await witness.selfCheck(); // a pool defaulting to localhost:<port> would be counted
      const baseline = witness.connections;
      const err = await pool.getConnection().then(
        (conn: { release(): unknown }) => void conn.release(),
        (e: unknown) => e,
      );
      expect(witness.connections).toBe(baseline);
      expect(err).toBeInstanceOf(ConfigurationError);
      expect((err as Error).message).toMatch(/has no host.*set `host`/s);
      expect((err as Error).message).not.toContain(user.password);
    } finally {
      await pool.end();
      source.close();
      await witness.close();
      await admin.dropUser(user.username);
      await admin.close();
      await sm.close();
    }
  });
});

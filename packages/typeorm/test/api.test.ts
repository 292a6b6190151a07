import { inspect } from 'node:util';
import { ConfigurationError, type CredentialSource, createCredentialSource } from '@dbcreds/core';
import {
  type Admin,
  createAdmin,
  dbSecretFor,
  ENGINES,
  putDbSecret,
  randomPassword,
  startTestSecretsManager,
  type TestSecretsManager,
  type UserCreds,
  uniqueSecretName,
} from '@dbcreds/testbed';
import pg from 'pg';
import { DataSource } from 'typeorm';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { withRotatingCredentials } from '../src/index.js';
import { createSchema, Item, Whoami } from './fixtures.js';

const SOURCE = { secretId: 'unused', clientConfig: { region: 'us-east-1' } };

describe('withRotatingCredentials (options)', () => {
  it.each([
    [{ type: 'postgres', username: 'app' }, ['username']],
    [{ type: 'mysql', password: 'x', url: 'mysql://a@b/c' }, ['password', 'url']],
    [
      { type: 'postgres', extra: { password: 'x', connectionString: 'postgres://' } },
      ['extra.password', 'extra.connectionString'],
    ],
    [
      { type: 'mariadb', replication: { master: { username: 'a' }, slaves: [{ host: 'r' }, { password: 'x' }] } },
      ['replication.master.username', 'replication.slaves[1].password'],
    ],
    [{ type: 'postgres', driver: pg }, ['driver']],
    [{ type: 'sqlite', database: ':memory:' }, ['type']],
  ])('rejects %j', (options, keys) => {
    const call = () => withRotatingCredentials(options as never, SOURCE);
    expect(call).toThrow(ConfigurationError);
    try {
      call();
    } catch (err) {
      expect((err as ConfigurationError).keys).toEqual(keys);
    }
  });

  it('rejects unknown adapter options', () => {
    expect(() => withRotatingCredentials({ type: 'postgres' }, SOURCE, { ttl: 1 } as never)).toThrow(
      /ttl is not an option/,
    );
  });

  it("returns TypeORM's own options plus a driver: pg whose Pool is the retrying pool, pg-native disabled", () => {
    const opts = withRotatingCredentials({ type: 'postgres', database: 'app', entities: [Item] }, SOURCE);
    expect(opts).toMatchObject({ type: 'postgres', database: 'app', entities: [Item] });
    const driver = (opts as unknown as { driver: typeof pg }).driver;
    expect(driver.native).toBeUndefined();
    expect(driver.defaults).toBe(pg.defaults);
    const pool = new driver.Pool({ user: 'ignored', password: undefined, max: 2 } as never);
    expect(pool).toBeInstanceOf(pg.Pool);
    expect(pool.options.user).toBeUndefined(); // TypeORM's user is dropped: the secret's is written per connection
    void pool.end();
  });
});

describe.each(ENGINES)('@dbcreds/typeorm on %s', (engine) => {
  let sm: TestSecretsManager;
  let admin: Admin;
  let user: UserCreds;
  let secretId: string;
  let source: CredentialSource;
  let dataSource: DataSource | undefined;
  const type = engine === 'postgres' ? 'postgres' : 'mysql'; // the conformance suite uses 'mariadb'

  beforeAll(async () => {
    sm = await startTestSecretsManager();
    admin = await createAdmin(engine);
    await createSchema(admin);
  });
  afterEach(async () => {
    if (dataSource?.isInitialized) await dataSource.destroy();
    dataSource = undefined;
    source?.close();
    if (user) await admin.dropUser(user.username);
  });
  afterAll(async () => {
    await admin?.close();
    await sm?.close();
  });

  async function setup(secretPassword?: string) {
    user = await admin.createUser({ prefix: 'typeorm' });
    secretId = uniqueSecretName('typeorm');
    await putDbSecret(sm.client, secretId, dbSecretFor(engine, { ...user, password: secretPassword ?? user.password }));
    source = createCredentialSource({ secretId, client: sm.client, minRefreshIntervalMs: 200 });
    sm.sm.resetCounters();
    // host, port and database come from the secret.
    dataSource = new DataSource(withRotatingCredentials({ type, entities: [Whoami, Item] }, source));
  }

  it('initialize() fails fast with the driver error when the credentials are wrong everywhere', async () => {
    await setup('not-the-password');
    await admin.expectLoginRejected({ username: user.username, password: 'not-the-password' });
    const started = Date.now();
    const err = await dataSource!.initialize().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(Date.now() - started).toBeLessThan(30_000); // a hang guard (about 0.3 s): no wait for a timeout
    expect(err).toMatchObject(engine === 'postgres' ? { code: '28P01' } : { errno: 1045 });
    expect(dataSource!.isInitialized).toBe(false);
    expect(sm.sm.callCount('GetSecretValue')).toBeLessThanOrEqual(4); // initial + one refresh (AWSCURRENT, AWSPENDING, AWSCURRENT)
  });

  it('repositories, DataSource.transaction and QueryRunner work across a single-user rotation; no password leaks', async () => {
    await setup();
    await dataSource!.initialize();
    const items = dataSource!.getRepository(Item);
    await items.save({ name: 'before' });

    const next = { username: user.username, password: randomPassword() };
    await admin.setPassword(next.username, next.password);
    await putDbSecret(sm.client, secretId, dbSecretFor(engine, next));
    await admin.expectLoginRejected(user);
    await admin.killSessions(user.username);
    await new Promise((r) => setTimeout(r, 50)); // let the pool see the kill (a killed session mid-query fails by design)
    sm.sm.resetCounters();

    const runner = dataSource!.createQueryRunner();
    const results = await Promise.allSettled([
      items.save({ name: 'after' }),
      items.count(),
      dataSource!.transaction(async (m) => m.getRepository(Whoami).find()),
      (async () => {
        await runner.connect();
        await runner.startTransaction();
        await runner.manager.getRepository(Item).save({ name: 'in-runner' });
        await runner.commitTransaction();
        await runner.release();
      })(),
    ]);
    expect(results.filter((r) => r.status === 'rejected')).toEqual([]);
    expect(sm.sm.callCount('GetSecretValue')).toBe(1);
    expect(await items.countBy({ name: 'in-runner' })).toBeGreaterThanOrEqual(1);

    const driver = dataSource!.driver as unknown as { master?: unknown; pool?: unknown };
    const dump =
      inspect([dataSource!.options, driver.master ?? driver.pool], { depth: 6 }) + JSON.stringify(dataSource!.options);
    expect(dump).not.toContain(next.password);
    expect(dump).not.toContain(user.password);
  });

  it('accepts source options: the pool owns that source, and destroy() then initialize() works', async () => {
    await setup();
    const ds = new DataSource(withRotatingCredentials({ type, entities: [Whoami] }, { secretId, client: sm.client }));
    for (let round = 0; round < 2; round++) {
      await ds.initialize();
      const [row] = await ds.getRepository(Whoami).find();
      expect(row?.u.split('@')[0]).toBe(user.username);
      await ds.destroy();
    }
  });
});

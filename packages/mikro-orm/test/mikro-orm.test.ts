import { inspect } from 'node:util';
import { ConfigurationError, type CredentialSource, createCredentialSource } from '@dbcreds/core';
import { withRotatingCredentials } from '@dbcreds/mikro-orm';
import {
  type Admin,
  createAdmin,
  dbSecretFor,
  ENGINES,
  moveCurrent,
  putDbSecret,
  randomPassword,
  startTestSecretsManager,
  type TestSecretsManager,
  type UserCreds,
  uniqueName,
  uniqueSecretName,
} from '@dbcreds/testbed';
import type { EntitySchema, MikroORM } from '@mikro-orm/core';
import { PostgreSqlDriver } from '@mikro-orm/postgresql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { currentUser, expectedMajor, initOrm, type Note, nativeClient, noteSchema, ormMajor, schema } from './orm.js';

type NoteEntity = EntitySchema<Note>;

const bare = (u: string): string => u.split('@')[0]!;

it(`runs against MikroORM ${expectedMajor}`, () => {
  expect(ormMajor()).toBe(expectedMajor);
});

describe.each(ENGINES)('@dbcreds/mikro-orm on %s', (engine) => {
  let sm: TestSecretsManager;
  let admin: Admin;
  const cleanups: Array<() => Promise<unknown> | unknown> = [];

  beforeAll(async () => {
    sm = await startTestSecretsManager();
    admin = await createAdmin(engine);
  });
  afterAll(async () => {
    for (const fn of cleanups.reverse()) await fn();
    await admin?.close();
    await sm?.close();
  });

  async function fixture(): Promise<{ user: UserCreds; secretId: string; source: CredentialSource }> {
    const user = await admin.createUser({ prefix: 'mo' });
    const secretId = uniqueSecretName('mikro-orm');
    await putDbSecret(sm.client, secretId, dbSecretFor(engine, user));
    const source = createCredentialSource({ secretId, client: sm.client, minRefreshIntervalMs: 0 });
    cleanups.push(() => source.close());
    return { user, secretId, source };
  }

  /** An ORM on its own table; `Note` is that table's entity schema. */
  async function orm(source: CredentialSource, explicitHostPort = true): Promise<{ db: MikroORM; Note: NoteEntity }> {
    const { server } = admin;
    const Note = noteSchema(uniqueName('mo_note'));
    const o = await initOrm(engine, source, {
      dbName: server.database,
      ...(explicitHostPort ? { host: server.host, port: server.port } : {}),
      entity: Note,
      pool: { min: 0, max: 4, idleTimeoutMillis: 100 },
    });
    cleanups.push(async () => {
      await schema(o).drop();
      await o.close(true);
    });
    return { db: o, Note };
  }

  it('reads and writes entities across a single-user rotation: zero failures, one refresh', async () => {
    const { user, secretId, source } = await fixture();
    const { db, Note } = await orm(source);
    await schema(db).create();
    const seed = db.em.fork();
    seed.create(Note, { body: 'before' });
    await seed.flush();

    // The four rotation steps, by the book; the old password stops working.
    const next = { username: user.username, password: randomPassword() };
    const pendingId = await putDbSecret(sm.client, secretId, dbSecretFor(engine, next), ['AWSPENDING']);
    await admin.setPassword(user.username, next.password);
    await admin.expectLoginRejected(user);
    await moveCurrent(sm.client, secretId, pendingId);
    await expect.poll(() => admin.countSessions(user.username), { timeout: 5_000, interval: 50 }).toBe(0);
    const before = sm.sm.callCount('GetSecretValue');

    const results = await Promise.allSettled([
      db.em.fork().findAll(Note),
      db.em.fork().transactional(async (em) => {
        em.create(Note, { body: 'after' });
      }),
      currentUser(db, engine),
    ]);
    const bodies = (await db.em.fork().findAll(Note, { orderBy: { id: 'asc' } })).map((n) => n.body);

    expect(results.filter((r) => r.status === 'rejected')).toEqual([]);
    expect(bodies).toEqual(['before', 'after']);
    // AWSCURRENT re-read (and AWSPENDING only if the refresh raced the window): bounded, not per connection.
    expect(sm.sm.callCount('GetSecretValue') - before).toBeGreaterThanOrEqual(1);
    expect(sm.sm.callCount('GetSecretValue') - before).toBeLessThanOrEqual(2);
    expect(inspect(await nativeClient(db), { depth: 6 })).not.toContain(next.password);
  });

  it('follows an alternating-users rotation from a stale cache at startup (host/port from the secret)', async () => {
    const { user: a, secretId, source } = await fixture();
    await source.get(); // the cache holds user A
    const b = { username: `${a.username}_b`, password: randomPassword() };
    await admin.cloneUser(a.username, b.username, b.password);
    cleanups.push(() => admin.dropUser(b.username));
    await putDbSecret(sm.client, secretId, dbSecretFor(engine, b));
    const aNext = { username: a.username, password: randomPassword() };
    await admin.setPassword(a.username, aNext.password); // A's cached password is dead
    await admin.expectLoginRejected(a);

    const before = sm.sm.callCount('GetSecretValue');
    // No host/port in the ORM options: both come from the secret (PG runs on a random port).
    const { db, Note } = await orm(source, false);
    await schema(db).create(); // first connection: ensureDatabase + DDL through the hook
    const em = db.em.fork();
    em.create(Note, { body: 'as B' });
    await em.flush();

    expect(bare(await currentUser(db, engine))).toBe(b.username);
    expect((await db.em.fork().findAll(Note)).map((n) => n.body)).toEqual(['as B']);
    expect(sm.sm.callCount('GetSecretValue') - before).toBe(1); // one refresh for the whole startup
    expect(await admin.countSessions(a.username)).toBe(0);
  });
});

describe('withRotatingCredentials(MikroORM options) validation', () => {
  const source = { secretId: 'unused' };
  const base = { driver: PostgreSqlDriver, dbName: 'app' };
  const cases: Array<[string, object]> = [
    ['user', { ...base, user: 'x' }],
    ['password', { ...base, password: 'x' }],
    ['clientUrl', { ...base, clientUrl: 'postgresql://a:b@h/app' }],
    ['a replica user', { ...base, replicas: [{ host: 'r', user: 'x' }] }],
    ['a missing driver', { dbName: 'app' }],
    ['a ready-made dialect', { ...base, driverOptions: { createDriver() {} } }],
    ['a driverOptions function', { ...base, driverOptions: () => ({}) }],
    ['a knex client in driverOptions (v6)', { ...base, driverOptions: { client: 'pg' } }],
    ['knex connection settings in driverOptions (v6)', { ...base, driverOptions: { connection: { user: 'x' } } }],
    [
      'a pool connectionString in driverOptions',
      { ...base, driverOptions: { connectionString: 'postgresql://a:b@h/app' } },
    ],
  ];
  it.each(cases)('rejects %s with ConfigurationError', (_label, options) => {
    expect(() => withRotatingCredentials(options as never, source)).toThrow(ConfigurationError);
  });

  it('rejects unknown adapter options', () => {
    expect(() => withRotatingCredentials(base, source, { nope: 1 } as never)).toThrow(/nope/);
  });

  it('returns the same options with the driver subclassed', () => {
    const owned = createCredentialSource(source);
    const out = withRotatingCredentials({ ...base, debug: false }, owned);
    owned.close();
    expect(out.dbName).toBe('app');
    expect(out.debug).toBe(false);
    expect(out.driver.prototype).toBeInstanceOf(PostgreSqlDriver);
  });
});

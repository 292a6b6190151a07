import { EventEmitter } from 'node:events';
import { inspect } from 'node:util';
import { ConfigurationError, createCredentialSource } from '@dbcreds/core';
import {
  type Admin,
  createAdmin,
  dbSecretFor,
  putDbSecret,
  randomPassword,
  serverFor,
  startTestSecretsManager,
  type TestSecretsManager,
  uniqueSecretName,
} from '@dbcreds/testbed';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPool, installRetry, RetryingPool } from '../src/index.js';

describe('@dbcreds/pg', () => {
  let admin: Admin;
  let tsm: TestSecretsManager;
  let user: { username: string; password: string };
  let secretId: string;
  beforeAll(async () => {
    admin = await createAdmin('postgres');
    tsm = await startTestSecretsManager();
    user = await admin.createUser({ prefix: 'pgunit' });
    secretId = uniqueSecretName('pg');
    await putDbSecret(tsm.client, secretId, dbSecretFor('postgres', user));
  });
  afterAll(async () => {
    await tsm?.close();
    await admin?.close();
  });

  it('rejects user, password and connectionString with a ConfigurationError naming the keys', () => {
    const source = { secretId, client: tsm.client };
    for (const key of ['user', 'password', 'connectionString']) {
      const err = (() => {
        try {
          createPool(source, { [key]: 'x' } as never);
        } catch (e) {
          return e;
        }
      })();
      expect(err).toBeInstanceOf(ConfigurationError);
      expect((err as ConfigurationError).keys).toEqual([key]);
    }
  });

  it('is a pg.Pool; host/port/database come from the secret; promise and callback connect work', async () => {
    // Prepare: only source options: the pool owns the source.
    const pool = createPool({ secretId, client: tsm.client });
    expect(pool).toBeInstanceOf(pg.Pool);
    expect(pool).toBeInstanceOf(RetryingPool);
    // Act
    const { rows } = await pool.query<{ u: string; db: string }>('SELECT current_user AS u, current_database() AS db');
    const viaCallback = await new Promise<string>((resolve, reject) => {
      pool.connect((err, client, release) => {
        if (err || !client) return reject(err);
        client.query('SELECT 1 AS one', (qerr, res) => {
          release();
          if (qerr) reject(qerr);
          else resolve(String(res.rows[0].one));
        });
      });
    });
    // Assess
    expect(rows[0]).toEqual({ u: user.username, db: serverFor('postgres').database });
    expect(viaCallback).toBe('1');
    expect(inspect(pool.options)).not.toContain(user.password);
    expect(JSON.stringify(pool.options)).not.toContain(user.password);
    await pool.end();
    await expect(pool.source.get()).rejects.toThrow(); // owned source closed with the pool
  });

  it('does not close a source it was given', async () => {
    const source = createCredentialSource({ secretId, client: tsm.client });
    const pool = createPool(source, { database: serverFor('postgres').database });
    await pool.query('SELECT 1');
    await pool.end();
    await expect(source.get()).resolves.toMatchObject({ username: user.username });
    source.close();
  });

  it('closeSource: true closes a source it was given; closeSource: false keeps one it created', async () => {
    // Prepare
    const given = createCredentialSource({ secretId, client: tsm.client });
    const closing = createPool(given, { database: serverFor('postgres').database, closeSource: true });
    const keeping = createPool({ secretId, client: tsm.client }, { closeSource: false });
    // Act
    await Promise.all([closing.query('SELECT 1'), keeping.query('SELECT 1')]);
    await Promise.all([closing.end(), keeping.end()]);
    // Assess
    await expect(given.get()).rejects.toThrow(/closed/);
    await expect(keeping.source.get()).resolves.toMatchObject({ username: user.username });
    keeping.source.close();
  });

  it('the callback form delivers the auth error when credentials are wrong everywhere', async () => {
    const other = await admin.createUser({ prefix: 'pgcb' });
    const id = uniqueSecretName('pgcb');
    await putDbSecret(tsm.client, id, dbSecretFor('postgres', { ...other, password: randomPassword() }));
    const pool = createPool({ secretId: id, client: tsm.client, minRefreshIntervalMs: 0 });
    const err = await new Promise<Error | undefined>((resolve) => pool.connect((e) => resolve(e)));
    expect(err, String(err)).toMatchObject({ code: '28P01' });
    await pool.end();
  });

  it('a checkout served by an idle client skips the source; a new physical connection reads it', async () => {
    // Prepare: one physical connection, idle.
    const source = createCredentialSource({ secretId, client: tsm.client });
    const pool = createPool(source, { database: serverFor('postgres').database, max: 2 });
    await pool.query('SELECT 1');
    const gets = () => source.stats().hits + source.stats().misses;
    const before = gets();
    // Act: sequential checkouts (query and connect) reuse the idle client.
    for (let i = 0; i < 10; i++) await pool.query('SELECT 1');
    (await pool.connect()).release();
    const afterReuse = gets();
    // Two at once: the idle client, and one new connection.
    await Promise.all([pool.query('SELECT pg_sleep(0.05)'), pool.query('SELECT pg_sleep(0.05)')]);
    // Assess
    expect(afterReuse).toBe(before);
    expect(gets()).toBe(before + 1);
    expect(pool.totalCount).toBe(2);
    await pool.end();
    source.close();
  });

  // pool.query's promise form runs pg-pool's callback form under one promise of the pool's own
  // Promise (the 57P01 retry lives in that callback): results, query configs, errors and their stacks
  // are pg-pool's.
  it("pool.query: config objects and values; an error is the server's, with a stack back to the caller", async () => {
    const source = createCredentialSource({ secretId, client: tsm.client });
    const pool = createPool(source, { database: serverFor('postgres').database, max: 2, closeSource: true });
    try {
      expect((await pool.query('SELECT $1::int AS n', [7])).rows).toEqual([{ n: 7 }]);
      const r = await pool.query({ text: 'SELECT $1::text AS t', values: ['x'], rowMode: 'array' });
      expect(r.rows).toEqual([['x']]);
      const err: any = await (async function callerOfTheFailingQuery() {
        return await pool.query('SELECT * FROM no_such_table_here');
      })().catch((e: unknown) => e);
      expect(err.code).toBe('42P01');
      expect(String(err.stack)).toContain('callerOfTheFailingQuery');
      const viaCallback = await new Promise<any>((resolve, reject) =>
        pool.query('SELECT 1 AS one', (e: Error | undefined, res: any) => (e ? reject(e) : resolve(res))),
      );
      expect(viaCallback.rows).toEqual([{ one: 1 }]);
    } finally {
      await pool.end();
    }
  });

  it('a client that errors while it is handed over (killed right after login) is not an unhandled error', async () => {
    // Prepare: a pool-like whose connect calls back and then, in the same synchronous run (as pg's
    // parser does with the rest of a socket chunk), emits the ErrorResponse of a killed session.
    const source = createCredentialSource({ secretId, client: tsm.client });
    const client = Object.assign(new EventEmitter(), { release: () => {} });
    let unhandled: unknown;
    const poolLike = {
      options: {},
      connect(cb: (err: undefined, c: typeof client, done: () => void) => void) {
        cb(undefined, client, () => {});
        const killed = Object.assign(new Error('terminating connection due to administrator command'), {
          code: '57P01',
        });
        try {
          client.emit('error', killed);
        } catch (err) {
          unhandled = err; // in pg this throw leaves the socket's data handler: an uncaught exception
        }
      },
    };
    installRetry(poolLike as never, source);
    // Act + Assess: the client reaches the caller (whose first query will fail), nothing is thrown.
    await expect((poolLike as unknown as pg.Pool).connect()).resolves.toBe(client);
    expect(unhandled).toBeUndefined();
    expect(client.listenerCount('error')).toBe(0);
    source.close();
  });

  it('installRetry makes a plain pg.Pool recover after a rotation', async () => {
    // Prepare: a pool configured with the old password (as an ORM would create it).
    const u = await admin.createUser({ prefix: 'pginst' });
    const id = uniqueSecretName('pginst');
    await putDbSecret(tsm.client, id, dbSecretFor('postgres', u));
    const s = serverFor('postgres');
    const plain = new pg.Pool({
      host: s.host,
      port: s.port,
      database: s.database,
      user: u.username,
      password: u.password,
    });
    plain.on('error', () => {});
    const source = createCredentialSource({ secretId: id, client: tsm.client });
    installRetry(plain, source);
    await plain.query('SELECT 1');
    // Act: rotate, prove the old password is dead, kill sessions.
    const next = { username: u.username, password: randomPassword() };
    await admin.setPassword(u.username, next.password);
    await putDbSecret(tsm.client, id, dbSecretFor('postgres', next));
    await admin.expectLoginRejected(u);
    await admin.killSessions(u.username);
    await new Promise((r) => setTimeout(r, 50));
    // Assess
    const { rows } = await plain.query<{ u: string }>('SELECT current_user AS u');
    expect(rows[0]!.u).toBe(u.username);
    expect(tsm.sm.callCount('GetSecretValue')).toBeGreaterThanOrEqual(2);
    await plain.end();
    source.close();
  });
});

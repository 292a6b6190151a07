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
import mysql, { type RowDataPacket } from 'mysql2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPool, installRetry } from '../src/index.js';

describe('@dbcreds/mysql2', () => {
  let admin: Admin;
  let tsm: TestSecretsManager;
  let user: { username: string; password: string };
  let secretId: string;
  beforeAll(async () => {
    admin = await createAdmin('mysql');
    tsm = await startTestSecretsManager();
    user = await admin.createUser({ prefix: 'myunit' });
    secretId = uniqueSecretName('mysql2');
    await putDbSecret(tsm.client, secretId, dbSecretFor('mysql', user));
  });
  afterAll(async () => {
    await tsm?.close();
    await admin?.close();
  });

  it('installRetry on a PromisePool says to pass its core pool', () => {
    const promisePool = mysql.createPool({ host: '127.0.0.1' }).promise();
    const source = createCredentialSource({ secretId, client: tsm.client });
    expect(() => installRetry(promisePool as never, source)).toThrow(/PromisePool, pass promisePool\.pool/);
    source.close();
    void promisePool.end();
  });

  it('rejects user, password and uri with a ConfigurationError naming the keys', () => {
    for (const key of ['user', 'password', 'uri']) {
      expect(() => createPool({ secretId, client: tsm.client }, { [key]: 'x' } as never)).toThrow(ConfigurationError);
    }
  });

  it('callback query, execute, getConnection and .promise() all work; host/db from the secret', async () => {
    const pool = createPool({ secretId, client: tsm.client });
    const viaQuery = await new Promise<RowDataPacket[]>((resolve, reject) =>
      pool.query<RowDataPacket[]>('SELECT CURRENT_USER() AS u, DATABASE() AS db', (err, rows) =>
        err ? reject(err) : resolve(rows),
      ),
    );
    const viaExecute = await new Promise<RowDataPacket[]>((resolve, reject) =>
      pool.execute<RowDataPacket[]>('SELECT ? AS v', [7], (err, rows) => (err ? reject(err) : resolve(rows))),
    );
    const viaGetConnection = await new Promise<number>((resolve, reject) =>
      pool.getConnection((err, conn) => {
        if (err) return reject(err);
        conn.query<RowDataPacket[]>('SELECT 1 AS one', (qerr, rows) => {
          conn.release();
          if (qerr) reject(qerr);
          else resolve(Number(rows[0]!.one));
        });
      }),
    );
    const [viaPromise] = await pool.promise().query<RowDataPacket[]>('SELECT 2 AS two');
    expect(viaQuery[0]).toMatchObject({ u: `${user.username}@%`, db: serverFor('mysql').database });
    expect(Number(viaExecute[0]!.v)).toBe(7);
    expect(viaGetConnection).toBe(1);
    expect(Number(viaPromise[0]!.two)).toBe(2);
    const cfg = (pool as unknown as { config: { connectionConfig: object } }).config.connectionConfig;
    expect(inspect(cfg, { depth: 0 })).not.toContain(user.password);
    await pool.promise().end();
  });

  it('a checkout served by a free connection skips the source; a new physical connection reads it', async () => {
    // Prepare: one physical connection, free.
    const source = createCredentialSource({ secretId, client: tsm.client });
    const pool = createPool(source, { connectionLimit: 2 });
    const p = pool.promise();
    await p.query('SELECT 1');
    const gets = () => source.stats().hits + source.stats().misses;
    const before = gets();
    // Act: sequential checkouts (query and getConnection) reuse the free connection.
    for (let i = 0; i < 10; i++) await p.query('SELECT 1');
    (await p.getConnection()).release();
    const afterReuse = gets();
    // Two at once: the free connection, and one new connection.
    await Promise.all([p.query('SELECT SLEEP(0.05)'), p.query('SELECT SLEEP(0.05)')]);
    // Assess
    expect(afterReuse).toBe(before);
    expect(gets()).toBe(before + 1);
    await p.end();
    source.close();
  });

  it('installRetry makes a plain mysql2 pool recover after a rotation', async () => {
    const u = await admin.createUser({ prefix: 'myinst' });
    const id = uniqueSecretName('myinst');
    await putDbSecret(tsm.client, id, dbSecretFor('mysql', u));
    const s = serverFor('mysql');
    const plain = mysql.createPool({
      host: s.host,
      port: s.port,
      database: s.database,
      user: u.username,
      password: u.password,
    });
    const source = createCredentialSource({ secretId: id, client: tsm.client });
    installRetry(plain, source);
    await plain.promise().query('SELECT 1');
    const next = { username: u.username, password: randomPassword() };
    await admin.setPassword(u.username, next.password);
    await putDbSecret(tsm.client, id, dbSecretFor('mysql', next));
    await admin.expectLoginRejected(u);
    await admin.killSessions(u.username);
    await new Promise((r) => setTimeout(r, 50));
    const [rows] = await plain.promise().query<RowDataPacket[]>('SELECT CURRENT_USER() AS u');
    expect(rows[0]!.u).toBe(`${u.username}@%`);
    await plain.promise().end();
    source.close();
  });

  it('the original 1045 reaches the callback when credentials are wrong everywhere', async () => {
    const other = await admin.createUser({ prefix: 'mycb' });
    const id = uniqueSecretName('mycb');
    await putDbSecret(tsm.client, id, dbSecretFor('mysql', { ...other, password: randomPassword() }));
    const pool = createPool({ secretId: id, client: tsm.client });
    const err = await new Promise<unknown>((resolve) => pool.query('SELECT 1', (e) => resolve(e)));
    expect((err as { errno?: number }).errno).toBe(1045);
    await new Promise<void>((r) => pool.end(() => r()));
  });
});

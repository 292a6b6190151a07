import { setTimeout as sleep } from 'node:timers/promises';
import { inspect } from 'node:util';
import { ConfigurationError, type CredentialSource, createCredentialSource, isAuthError } from '@dbcreds/core';
import {
  type Admin,
  createAdmin,
  dbSecretFor,
  putDbSecret,
  randomPassword,
  serverFor,
  startTestSecretsManager,
  type TestSecretsManager,
  type UserCreds,
  uniqueSecretName,
} from '@dbcreds/testbed';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSql } from '../src/index.js';

const current = 'select current_user as u';

describe('@dbcreds/postgres-js', () => {
  let admin: Admin;
  let tsm: TestSecretsManager;
  const sources: CredentialSource[] = [];
  beforeAll(async () => {
    admin = await createAdmin('postgres');
    tsm = await startTestSecretsManager();
  });
  afterAll(async () => {
    for (const s of sources) s.close();
    await tsm?.close();
    await admin?.close();
  });

  /** A user, its secret, and a source that keeps what it read (the cache holds the old password after a change). */
  async function fixture() {
    const user = await admin.createUser({ prefix: 'pgjs' });
    const secretId = uniqueSecretName('pgjs');
    await putDbSecret(tsm.client, secretId, dbSecretFor('postgres', user));
    const source = createCredentialSource({ secretId, client: tsm.client, ttlMs: 600_000 });
    sources.push(source);
    return { user, secretId, source };
  }

  /** Single-user rotation: the server refuses the old password (proven), the secret has the new one, sessions killed. */
  async function rotate(f: { user: UserCreds; secretId: string }): Promise<void> {
    const next = { username: f.user.username, password: randomPassword() };
    await admin.setPassword(next.username, next.password);
    await admin.expectLoginRejected(f.user);
    await putDbSecret(tsm.client, f.secretId, dbSecretFor('postgres', next));
    await admin.killSessions(next.username);
    await sleep(250); // postgres.js sees the terminated sessions before the next query
    f.user = next;
  }

  it('rejects the keys the secret or the package owns, and host lists, with a ConfigurationError', () => {
    const source = { secretId: 'unused', client: tsm.client };
    for (const key of ['user', 'username', 'pass', 'password', 'socket', 'ssl', 'path']) {
      const err = captureSync(() => createSql(source, { [key]: 'x' } as never));
      expect(err).toBeInstanceOf(ConfigurationError);
      expect((err as ConfigurationError).keys).toEqual([key]);
    }
    expect(captureSync(() => createSql(source, { host: ['a', 'b'] } as never))).toBeInstanceOf(ConfigurationError);
  });

  it("returns postgres.js' sql; endpoint from the secret; no password in inspect; an owned source closes on end()", async () => {
    const { user, secretId } = await fixture();
    const sql = createSql({ secretId, client: tsm.client }, { onnotice: () => {} });
    const [row] = await sql<Array<{ u: string; db: string }>>`select current_user as u, current_database() as db`;
    expect(row).toEqual({ u: user.username, db: serverFor('postgres').database });
    expect(sql.options.connection.user).toBe(user.username);
    for (const o of [sql, sql.options]) expect(inspect(o, { showHidden: true, depth: 5 })).not.toContain(user.password);
    await sql.end();
    const again = await captureAsync(sql`select 1`);
    expect((again as { code?: string }).code).toBe('CONNECTION_ENDED');
  });

  it('a query whose new connection is refused is retried once on a fresh one; open connections never ask the source', async () => {
    const f = await fixture();
    const sql = createSql(f.source, { max: 1, onnotice: () => {} });
    await sql.unsafe(current);
    const before = f.source.stats();
    for (let i = 0; i < 20; i++) await sql`select ${i}::int as i`; // the one open connection
    expect(f.source.stats().hits + f.source.stats().misses).toBe(before.hits + before.misses);
    await rotate(f);
    const [row] = await sql.unsafe(current);
    expect(row!.u).toBe(f.user.username);
    expect(f.source.stats().refreshes).toBe(1);
    await sql.end();
  });

  it('sql.begin, sql.reserve and a cursor on a refused new connection work after the refresh', async () => {
    const f = await fixture();
    const sql = createSql(f.source, { max: 1, onnotice: () => {} });
    await sql`select 1`;
    await rotate(f);
    const inTx = await sql.begin(async (tx) => (await tx.unsafe(current))[0]!.u);
    expect(inTx).toBe(f.user.username);
    await rotate(f);
    const reserved = await sql.reserve();
    expect((await reserved.unsafe(current))[0]!.u).toBe(f.user.username);
    reserved.release();
    await rotate(f);
    const seen: number[] = [];
    for await (const rows of sql<Array<{ n: number }>>`select generate_series(1, 10) as n`.cursor(3)) {
      seen.push(...rows.map((r) => r.n));
    }
    expect(seen).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(f.source.stats().refreshes).toBe(3);
    await sql.end();
  });

  it('listen: a listener whose session the rotation killed listens again with the new credentials', async () => {
    const f = await fixture();
    const sql = createSql(f.source, { onnotice: () => {} });
    const got: string[] = [];
    let listens = 0; // onlisten: each time the channel is (re)established
    await sql.listen(
      'pgjs_ch',
      (x) => got.push(x),
      () => void listens++,
    );
    expect(listens).toBe(1);
    await sql.notify('pgjs_ch', 'before');
    await waitFor(() => got.length === 1);
    await rotate(f); // kills the listening session: postgres.js reconnects it and listens again
    await waitFor(() => listens === 2);
    await sql.notify('pgjs_ch', 'after');
    await waitFor(() => got.length === 2);
    expect(got).toEqual(['before', 'after']);
    expect(f.source.stats().refreshes).toBeGreaterThanOrEqual(1);
    await sql.end();
  });

  it('alternating users: each new connection logs in as the secret says, an open one keeps its user', async () => {
    const f = await fixture();
    const b = { username: `${f.user.username}_b`, password: randomPassword() };
    await admin.cloneUser(f.user.username, b.username, b.password);
    const sql = createSql(f.source, { max: 2, onnotice: () => {} });
    const reserved = await sql.reserve(); // connection 1: user A
    expect((await reserved.unsafe(current))[0]!.u).toBe(f.user.username);
    await putDbSecret(tsm.client, f.secretId, dbSecretFor('postgres', b)); // A stays valid (alternating users)
    await f.source.refresh();
    expect((await sql.unsafe(current))[0]!.u).toBe(b.username); // connection 2: user B
    expect((await reserved.unsafe(current))[0]!.u).toBe(f.user.username);
    reserved.release();
    await sql.end();
  });

  it('wrong everywhere: the server’s auth error after one refresh, without any password in it', async () => {
    const f = await fixture();
    const sql = createSql(f.source, { max: 1, onnotice: () => {} });
    const wrong = randomPassword();
    await admin.setPassword(f.user.username, wrong);
    await admin.expectLoginRejected(f.user);
    const err = await captureAsync(sql`select 1`);
    expect(isAuthError(err)).toBe(true);
    expect((err as { code?: string }).code).toBe('28P01');
    expect(f.source.stats().refreshes).toBe(1);
    const shown = `${String(err)} ${inspect(err, { showHidden: true, depth: 5 })} ${JSON.stringify(err)}`;
    for (const p of [f.user.password, wrong]) expect(shown).not.toContain(p);
    await sql.end();
  });
});

function captureSync(fn: () => unknown): unknown {
  try {
    fn();
  } catch (e) {
    return e;
  }
  throw new Error('expected a throw');
}

async function captureAsync(p: PromiseLike<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (e) {
    return e;
  }
  throw new Error('expected a rejection');
}

async function waitFor(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 1000 && !cond(); i++) await sleep(20); // a hang guard of 20 s, not a timing assertion
  expect(cond()).toBe(true);
}

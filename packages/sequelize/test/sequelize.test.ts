import { inspect } from 'node:util';
import { ConfigurationError, type CredentialSource, createCredentialSource, SourceClosedError } from '@dbcreds/core';
import { withRotatingCredentials } from '@dbcreds/sequelize';
import {
  type Admin,
  createAdmin,
  dbSecretFor,
  ENGINES,
  putDbSecret,
  randomPassword,
  SESSION_SQL,
  startFaultProxy,
  startTestSecretsManager,
  type TestSecretsManager,
  uniqueSecretName,
} from '@dbcreds/testbed';
import { AccessDeniedError, ConnectionError, type Options, QueryTypes, Sequelize } from 'sequelize';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

it('runs against the expected Sequelize line (vitest.sequelize631.config.ts: 6.31)', () => {
  const line = (Sequelize as unknown as { version: string }).version.split('.').slice(0, 2).join('.');
  expect(line).toBe(process.env.DBCREDS_EXPECT_SEQUELIZE ?? '6.37');
});

describe('withRotatingCredentials (options)', () => {
  const source = { secretId: 'x', clientConfig: { region: 'eu-west-1' } };

  it('rejects credentials anywhere, listing every key in one ConfigurationError', () => {
    const options = {
      dialect: 'postgres',
      username: 'u',
      password: 'p',
      dialectOptions: { password: 'p' },
      replication: { write: { username: 'u' }, read: [{ host: 'a' }, { host: 'b', password: 'p' }] },
    } as Options;
    const err = captureSync(() => withRotatingCredentials(options, source));
    expect(err).toBeInstanceOf(ConfigurationError);
    expect((err as ConfigurationError).keys).toEqual([
      'username',
      'password',
      'dialectOptions.password',
      'replication.write.username',
      'replication.read[1].password',
    ]);
    expect((err as Error).message).toMatch(/^@dbcreds\/sequelize: /);
  });

  it('rejects a connection URL (Sequelize would ignore `url` here and connect to its default host)', () => {
    const options = { dialect: 'postgres', url: 'postgres://u:p@db.example:5432/app', dialectOptions: { uri: 'x' } };
    const err = captureSync(() => withRotatingCredentials(options as Options, source));
    expect(err).toBeInstanceOf(ConfigurationError);
    expect((err as ConfigurationError).keys).toEqual(['url', 'dialectOptions.uri']);
    expect((err as Error).message).toBe(
      '@dbcreds/sequelize: url, dialectOptions.uri must not be set: user and password always come from the secret (host, port and database may be set)',
    );
  });

  it('rejects other dialects, unknown adapter options and unknown replication keys', () => {
    expect(() => withRotatingCredentials({ dialect: 'sqlite' }, source)).toThrow(/dialect must be one of postgres/);
    expect(() => withRotatingCredentials({ dialect: 'mysql' }, source, { closeSourceOnClose: true } as never)).toThrow(
      /closeSourceOnClose is not an option/,
    );
    const replication = { read: [], write: {}, primary: {} } as never;
    expect(() => withRotatingCredentials({ dialect: 'mysql', replication }, source)).toThrow(/replication.primary/);
  });

  it("returns Sequelize's own options with a beforeConnect hook first and the user's hooks kept", () => {
    const mine = () => {};
    const afterConnect = () => {};
    const out = withRotatingCredentials(
      { dialect: 'mariadb', logging: false, hooks: { beforeConnect: mine, afterConnect } },
      source,
    );
    expect(out.dialect).toBe('mariadb');
    expect(out.logging).toBe(false);
    expect(out.hooks?.afterConnect).toBe(afterConnect);
    const before = out.hooks?.beforeConnect as unknown as unknown[];
    expect(before).toHaveLength(2);
    expect(before[1]).toBe(mine);
  });
});

describe.each(ENGINES)('@dbcreds/sequelize on %s', (engine) => {
  let sm: TestSecretsManager;
  let admin: Admin;
  const open: Array<Sequelize | CredentialSource> = [];
  beforeAll(async () => {
    sm = await startTestSecretsManager();
    admin = await createAdmin(engine);
  });
  afterAll(async () => {
    for (const x of open.reverse())
      await ('close' in x && x instanceof Sequelize ? x.close() : (x as CredentialSource).close());
    await admin?.close();
    await sm?.close();
  });

  const dialect = engine === 'postgres' ? 'postgres' : 'mysql';
  const sql = SESSION_SQL[engine];
  async function fixture(password?: string, minRefreshIntervalMs = 0) {
    const user = await admin.createUser({ prefix: 'seq' });
    const secretId = uniqueSecretName('seq');
    await putDbSecret(
      sm.client,
      secretId,
      dbSecretFor(engine, { username: user.username, password: password ?? user.password }),
    );
    const source = createCredentialSource({ secretId, client: sm.client, minRefreshIntervalMs });
    open.push(source);
    return { user, secretId, source };
  }
  function db(
    options: Options,
    source: CredentialSource | Parameters<typeof withRotatingCredentials>[1],
    adapter = {},
  ) {
    const { host, port, database } = admin.server;
    const s = new Sequelize(
      withRotatingCredentials({ dialect, host, port, database, logging: false, ...options }, source, adapter),
    );
    open.push(s);
    return s;
  }
  const whoami = async (s: Sequelize, useMaster?: boolean) =>
    (await s.query<{ u: string; p: string }>(sql, { type: QueryTypes.SELECT, useMaster }))[0]!;

  it("Sequelize's own retry does not multiply Secrets Manager calls: 5 tries, each retried once, one refresh", async () => {
    // Prepare: the secret holds a password the server rejects, in every version.
    const { user, source } = await fixture('not-the-password', 60_000);
    await admin.expectLoginRejected({ username: user.username, password: 'not-the-password' });
    let connects = 0;
    const s = db(
      {
        retry: { max: 5, match: [ConnectionError, AccessDeniedError], backoffBase: 10 },
        hooks: { beforeConnect: () => void connects++ },
        pool: { max: 1 },
      },
      source,
    );
    const logins: string[] = [];
    const withAuthRetry = source.withAuthRetry.bind(source);
    source.withAuthRetry = (attempt) =>
      withAuthRetry((creds) => {
        logins.push(creds.versionId);
        return attempt(creds);
      });
    // Act
    const err = await s.query('SELECT 1').catch((e: unknown) => e);
    // Assess: the driver's auth error, five connection attempts by Sequelize's retry, one login retry each,
    // and Secrets Manager read once to start + once for the one refresh (AWSCURRENT, AWSPENDING: none, AWSCURRENT
    // again: finishSecret may have run between the two).
    expect(err).toBeInstanceOf(ConnectionError);
    expect(JSON.stringify(reachable(err))).toMatch(engine === 'postgres' ? /28P01/ : /1045/);
    expect(connects).toBe(5);
    expect(logins).toHaveLength(10);
    expect(sm.sm.callCount('GetSecretValue')).toBeLessThanOrEqual(4);
    expect(inspect(err)).not.toContain('not-the-password');
  });

  it('a rotation with a stale cache costs one refresh; no password in the connection config inspect/JSON', async () => {
    const { user, secretId, source } = await fixture();
    await source.get();
    const next = { username: user.username, password: randomPassword() };
    await admin.setPassword(next.username, next.password);
    await putDbSecret(sm.client, secretId, dbSecretFor(engine, next));
    await admin.expectLoginRejected(user);
    const before = sm.sm.callCount('GetSecretValue');
    const s = db({ retry: { max: 3, match: [ConnectionError] } }, source);
    const rows = await Promise.all([
      whoami(s),
      whoami(s),
      s.transaction((t) => s.query('SELECT 1', { transaction: t })),
    ]);
    expect(String((rows[0] as { u: string }).u).split('@')[0]).toBe(user.username);
    expect(sm.sm.callCount('GetSecretValue') - before).toBe(1);
    const config = (s.connectionManager as unknown as { config: object }).config;
    for (const text of [inspect(config, { depth: 5 }), JSON.stringify(config), inspect(s)]) {
      expect(text).not.toContain(next.password);
    }
  });

  it('closeSource: a source from options is closed by sequelize.close(); a passed-in one stays open unless asked', async () => {
    const { source } = await fixture();
    const owned = db({}, source, { closeSource: true });
    await whoami(owned);
    await owned.close();
    await expect(source.get()).rejects.toBeInstanceOf(SourceClosedError);
    const kept = (await fixture()).source;
    const s = db({}, kept);
    await whoami(s);
    await s.close();
    await expect(kept.get()).resolves.toBeDefined();
  });

  it('replication: readerSource gives the readers their own credentials; writer and reader keep their hosts', async () => {
    const writer = await fixture();
    const reader = await fixture();
    const proxy = await startFaultProxy({ target: admin.server, protocol: 'tcp' });
    try {
      const s = db({ replication: { write: {}, read: [{ host: 'localhost', port: proxy.port }] } }, writer.source, {
        readerSource: reader.source,
      });
      const read = await whoami(s);
      const write = await whoami(s, true);
      expect([String(read.u).split('@')[0], proxy.upstreamPorts.has(Number(read.p))]).toEqual([
        reader.user.username,
        true,
      ]);
      expect([String(write.u).split('@')[0], proxy.upstreamPorts.has(Number(write.p))]).toEqual([
        writer.user.username,
        false,
      ]);
      await s.close();
    } finally {
      await proxy.close();
    }
  });
});

function captureSync(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error('expected a throw');
}

function reachable(err: unknown): unknown[] {
  const e = err as { parent?: { code?: unknown; errno?: unknown } };
  return [e.parent?.code, e.parent?.errno];
}

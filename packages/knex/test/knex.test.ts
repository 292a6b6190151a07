import { inspect } from 'node:util';
import { ConfigurationError, type CredentialSource, createCredentialSource } from '@dbcreds/core';
import { withRotatingCredentials } from '@dbcreds/knex';
import {
  type Admin,
  createAdmin,
  dbSecretFor,
  ENGINES,
  type EngineName,
  putDbSecret,
  randomPassword,
  startTestSecretsManager,
  type TestSecretsManager,
  type UserCreds,
  uniqueName,
  uniqueSecretName,
} from '@dbcreds/testbed';
import * as knexModule from 'knex';
import type { Knex } from 'knex';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// knex 3.3 is CommonJS only (no detectable named exports); under vite, knex 2.5 resolves to its knex.mjs.
const knex = knexModule.knex ?? (knexModule.default as unknown as typeof knexModule.knex);
const CLIENT: Record<EngineName, 'pg' | 'mysql2'> = { postgres: 'pg', mysql: 'mysql2' };
const AUTH_CODE: Record<EngineName, { code?: string; errno?: number }> = {
  postgres: { code: '28P01' },
  mysql: { errno: 1045 },
};

describe.each(ENGINES)('@dbcreds/knex on %s', (engine) => {
  let sm: TestSecretsManager;
  let admin: Admin;
  const open: Array<Knex | CredentialSource> = [];

  beforeAll(async () => {
    sm = await startTestSecretsManager();
    admin = await createAdmin(engine);
  });
  afterAll(async () => {
    for (const x of open.reverse()) await ('destroy' in x ? x.destroy() : x.close());
    await admin?.close();
    await sm?.close();
  });

  async function fixture(): Promise<{ user: UserCreds; secretId: string; source: CredentialSource }> {
    const user = await admin.createUser({ prefix: 'knex' });
    const secretId = uniqueSecretName('knex');
    await putDbSecret(sm.client, secretId, dbSecretFor(engine, user));
    const source = createCredentialSource({ secretId, client: sm.client, minRefreshIntervalMs: 0 });
    open.push(source);
    return { user, secretId, source };
  }

  /** Single-user rotation done by the book: server first, then the secret; proves the old password is dead. */
  async function rotate(user: UserCreds, secretId: string): Promise<UserCreds> {
    const next = { username: user.username, password: randomPassword() };
    await admin.setPassword(user.username, next.password);
    await putDbSecret(sm.client, secretId, dbSecretFor(engine, next));
    await admin.expectLoginRejected(user);
    return next;
  }

  function db(config: Omit<Knex.Config, 'client'> & { client?: string }, source: CredentialSource): Knex {
    const { server } = admin;
    const instance = knex(
      withRotatingCredentials(
        {
          client: CLIENT[engine],
          connection: { host: server.host, port: server.port, database: server.database },
          ...config,
        } as Parameters<typeof withRotatingCredentials>[0],
        source,
      ),
    );
    open.push(instance);
    return instance;
  }

  it('runs migrations with a stale cache after a rotation: one refresh, zero failures', async () => {
    const { user, secretId, source } = await fixture();
    await source.get(); // cache the soon-to-be-old password
    await rotate(user, secretId);
    const before = sm.sm.callCount('GetSecretValue');

    const table = uniqueName('mig');
    const migrationSource: Knex.MigrationSource<string> = {
      getMigrations: async () => ['001_create'],
      getMigrationName: (m) => m,
      getMigration: async () => ({
        up: (k: Knex) =>
          k.schema.createTable(table, (t) => {
            t.increments('id');
            t.string('name');
          }),
        down: (k: Knex) => k.schema.dropTable(table),
      }),
    };
    const tableName = uniqueName('knexmig');
    const k = db({ pool: { min: 0, max: 4 } }, source);
    const [batch, applied] = await k.migrate.latest({ migrationSource, tableName });
    await k(table).insert({ name: 'after-rotation' });
    const rows = await k(table).select('name');

    expect([batch, applied]).toEqual([1, ['001_create']]);
    expect(rows).toEqual([{ name: 'after-rotation' }]);
    expect(sm.sm.callCount('GetSecretValue') - before).toBe(1);
    await k.migrate.rollback({ migrationSource, tableName }, true);
    await k.schema.dropTable(`${tableName}_lock`).dropTable(tableName);
  });

  it('reaps idle connections and opens new ones with the rotated password', async () => {
    const { user, secretId, source } = await fixture();
    const k = db({ pool: { min: 0, max: 2, idleTimeoutMillis: 100, reapIntervalMillis: 50 } }, source);
    await k.raw('select 1');
    await rotate(user, secretId);
    await expect.poll(() => admin.countSessions(user.username), { timeout: 5_000, interval: 50 }).toBe(0);
    const before = sm.sm.callCount('GetSecretValue');

    const results = await Promise.all([k.raw('select 1 as x'), k.transaction((trx) => trx.raw('select 2 as x'))]);

    expect(results).toHaveLength(2);
    expect(sm.sm.callCount('GetSecretValue') - before).toBe(1);
  });

  it('surfaces the driver auth error, not KnexTimeoutError, when no credentials work', async () => {
    const { user } = await fixture();
    const secretId = uniqueSecretName('knex-wrong');
    await putDbSecret(sm.client, secretId, dbSecretFor(engine, { username: user.username, password: 'wrong-pw' }));
    const source = createCredentialSource({ secretId, client: sm.client, minRefreshIntervalMs: 60_000 });
    open.push(source);
    await admin.expectLoginRejected({ username: user.username, password: 'wrong-pw' });
    const k = db({ acquireConnectionTimeout: 1_500, pool: { min: 0, max: 3 }, log: { warn() {} } }, source);
    const before = sm.sm.callCount('GetSecretValue');

    // Not waiting for acquireConnectionTimeout: that would end in KnexTimeoutError, which is checked below.
    const errors = await Promise.all(
      [1, 2, 3].map(() =>
        k.raw('select 1').then(
          () => undefined,
          (e: unknown) => e,
        ),
      ),
    );

    for (const err of errors) {
      expect(err).toMatchObject(AUTH_CODE[engine]);
      expect((err as Error).name).not.toBe('KnexTimeoutError');
      expect(inspect(err)).not.toContain('wrong-pw');
    }
    // 1 initial fetch + 1 refresh (AWSCURRENT, AWSPENDING: none, AWSCURRENT again); further refreshes are rate-limited.
    expect(sm.sm.callCount('GetSecretValue') - before).toBeLessThanOrEqual(4);
  });

  it.each(engine === 'postgres' ? ['postgres', 'postgresql'] : ['mysql'])(
    'accepts the client alias %s (dialect from the same knex copy)',
    async (alias) => {
      const { source, user } = await fixture();
      const k = db({ client: alias }, source);
      const rows = await k.raw(engine === 'postgres' ? 'select current_user as u' : 'select current_user() as u');

      expect(k.client).toBeInstanceOf(knex.Client);
      expect(k.client.driverName).toBe(CLIENT[engine]);
      expect(JSON.stringify(engine === 'postgres' ? rows.rows : rows[0])).toContain(user.username);
      expect(inspect(k.client, { depth: 4 })).not.toContain(user.password);
    },
  );
});

describe('withRotatingCredentials(knex config) validation', () => {
  const source = { secretId: 'unused' };
  const cases: Array<[string, unknown]> = [
    ['user', { client: 'pg', connection: { user: 'x' } }],
    ['password', { client: 'pg', connection: { password: 'x' } }],
    ['connectionString', { client: 'pg', connection: { connectionString: 'postgres://a:b@h/d' } }],
    ['a connection string', { client: 'pg', connection: 'postgres://a:b@h/d' }],
    ['a provider function', { client: 'mysql2', connection: () => ({}) }],
    ['an unsupported client', { client: 'sqlite3' }],
    ['a client class', { client: class {} }],
    ['connectionPool', { client: 'pg', connectionPool: {} }],
  ];
  it.each(cases)('rejects %s with ConfigurationError', (_label, config) => {
    expect(() => withRotatingCredentials(config as never, source)).toThrow(ConfigurationError);
  });

  it('rejects unknown adapter options', () => {
    expect(() => withRotatingCredentials({ client: 'pg' }, source, { nope: 1 } as never)).toThrow(/nope/);
  });
});

import { ConfigurationError, createCredentialSource } from '@dbcreds/core';
import { RetryingPool } from '@dbcreds/pg';
import { createAdmin, dbSecretFor, putDbSecret, startTestSecretsManager, uniqueSecretName } from '@dbcreds/testbed';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { withRotatingCredentials } from '../src/index.js';
import { PgPrismaClient } from './fixtures.js';

const SOURCE = { secretId: 'unused', clientConfig: { region: 'us-east-1' } };

describe('withRotatingCredentials (options)', () => {
  it.each([
    [{ adapter: {} }, {}, ['adapter']],
    [{ datasourceUrl: 'postgres://u:p@h/db' }, {}, ['datasourceUrl']],
    [{}, { pool: { password: 'x', connectionString: 'postgres://' } }, ['pool.password', 'pool.connectionString']],
    [{}, { pool: { host: 'db' } }, ['pool.host']],
    [{}, { ttl: 1 }, ['ttl']],
  ])('rejects client options %j / adapter options %j', (clientOptions, options, keys) => {
    const call = () => withRotatingCredentials(clientOptions, SOURCE, { provider: 'postgres', ...options } as never);
    expect(call).toThrow(ConfigurationError);
    expect(() => call()).toThrow(expect.objectContaining({ keys }));
  });

  it('needs provider when both adapters are installed, and rejects unknown providers', () => {
    expect(() => withRotatingCredentials({}, SOURCE)).toThrow(expect.objectContaining({ keys: ['provider'] }));
    // The message says why no default exists (both installed here), not "install an adapter".
    expect(() => withRotatingCredentials({}, SOURCE)).toThrow(
      /provider: 'postgres' or 'mysql' \(both @prisma\/adapter-pg and @prisma\/adapter-mariadb are installed\)/,
    );
    expect(() => withRotatingCredentials({}, SOURCE, { provider: 'sqlite' as never })).toThrow(ConfigurationError);
  });

  it('returns the PrismaClient options plus an adapter factory for the chosen provider', () => {
    const opts = withRotatingCredentials({ log: ['warn' as const] }, SOURCE, { provider: 'mysql' });
    expect(opts.log).toEqual(['warn']);
    expect(opts.adapter).toMatchObject({ provider: 'mysql', adapterName: '@dbcreds/prisma' });
  });
});

describe('@dbcreds/prisma on PostgreSQL', () => {
  it('hands @prisma/adapter-pg the @dbcreds/pg pool (same pg copy: instanceof holds) and checks the engine', async () => {
    const sm = await startTestSecretsManager();
    const admin = await createAdmin('postgres');
    const source = createCredentialSource({ secretId: uniqueSecretName('prisma'), client: sm.client });
    try {
      const user = await admin.createUser({ prefix: 'prisma' });
      await putDbSecret(sm.client, source.secretId, dbSecretFor('postgres', user));
      // PrismaPg keeps a pool only if it is `instanceof` its own pg.Pool; otherwise it would build a plain
      // pg.Pool from it as if it were a config (a second pg copy). So: the pool it uses is ours.
      const adapter = await withRotatingCredentials({}, source, { provider: 'postgres' }).adapter.connect();
      const driver = (adapter as unknown as { underlyingDriver(): unknown }).underlyingDriver();
      expect(driver).toBeInstanceOf(RetryingPool);
      expect(driver).toBeInstanceOf(pg.Pool);
      await adapter.dispose();

      // A secret for another engine is a configuration error, reported by the first query.
      const wrong = createCredentialSource({ secretId: uniqueSecretName('prisma'), client: sm.client });
      await putDbSecret(sm.client, wrong.secretId, { ...dbSecretFor('postgres', user), engine: 'mysql' });
      const prisma = new PgPrismaClient(withRotatingCredentials({}, wrong, { provider: 'postgres' }));
      await expect(prisma.$queryRaw`SELECT 1`).rejects.toThrow(/engine 'mysql' does not match provider 'postgres'/);
      await prisma.$disconnect();
      wrong.close();
    } finally {
      source.close();
      await admin.close();
      await sm.close();
    }
  });
});

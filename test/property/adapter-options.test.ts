/**
 * Property-based (fast-check): the pool factories on arbitrary option bags — a pool, or a
 * ConfigurationError naming every bad key (`@dbcreds/<pkg>: …`), never another exception. No database
 * is contacted (pools connect lazily).
 */
import { ConfigurationError, createCredentialSource } from '@dbcreds/core';
import { createPool as createMysqlPool } from '@dbcreds/mysql2';
import { createPool as createPgPool } from '@dbcreds/pg';
import { withRotatingCredentials } from '@dbcreds/sequelize';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

const value = fc.oneof(fc.string(), fc.integer(), fc.boolean(), fc.constant(undefined), fc.constant(null));
// Known keys of each driver only (mysql2 prints a warning for every unknown one), forbidden ones included.
const bag = (keys: readonly string[]) => fc.dictionary(fc.constantFrom(...keys, 'closeSource'), value, { maxKeys: 5 });
const PG_KEYS = ['user', 'password', 'connectionString', 'host', 'port', 'database', 'max', 'idleTimeoutMillis'];
const MYSQL_KEYS = ['user', 'password', 'uri', 'host', 'port', 'database', 'connectionLimit', 'idleTimeout'];

describe.each([
  [
    'pg',
    PG_KEYS,
    ['user', 'password', 'connectionString'],
    (s: never, o: never) => createPgPool(s, o),
    (p: any) => p.end(),
  ],
  [
    'mysql2',
    MYSQL_KEYS,
    ['user', 'password', 'uri'],
    (s: never, o: never) => createMysqlPool(s, o),
    (p: any) => p.promise().end(),
  ],
] as const)('%s createPool on arbitrary option bags', (pkg, keys, forbiddenKeys, create, end) => {
  it('a pool, or one ConfigurationError listing the forbidden keys that were set', async () => {
    const source = createCredentialSource({ secretId: 'x', client: { send: async () => ({}) } as never });
    await fc.assert(
      fc.asyncProperty(bag(keys), async (opts) => {
        const forbidden = forbiddenKeys.filter((k) => opts[k] !== undefined);
        let pool: unknown;
        try {
          pool = create(source as never, { ...opts, closeSource: false } as never);
        } catch (err) {
          if (!(err instanceof ConfigurationError)) {
            // The driver's own validation of a value of the wrong type (e.g. mysql2 on a bad port) is its
            // business, but it must be an Error with a message, not a crash.
            expect(err).toBeInstanceOf(Error);
            expect(forbidden).toEqual([]);
            return;
          }
          expect(err.message.startsWith(`@dbcreds/${pkg}`)).toBe(true);
          for (const k of forbidden) expect(err.keys).toContain(k);
          return;
        }
        expect(forbidden).toEqual([]);
        await end(pool);
      }),
      { numRuns: 150 },
    );
    source.close();
  });
});

describe('sequelize withRotatingCredentials on arbitrary option bags', () => {
  const credential = fc.option(fc.string(), { nil: undefined });
  const node = fc.record({
    host: fc.option(fc.string(), { nil: undefined }),
    username: credential,
    password: credential,
  });
  const options = fc.record(
    {
      dialect: fc.constantFrom('postgres', 'postgresql', 'mysql', 'mariadb', 'sqlite', undefined),
      username: credential,
      password: credential,
      host: fc.option(fc.string(), { nil: undefined }),
      dialectOptions: fc.record({ password: credential, ssl: fc.boolean() }, { requiredKeys: [] }),
      replication: fc.record({ write: node, read: fc.array(node, { maxLength: 3 }) }),
    },
    { requiredKeys: [] },
  );

  it('the options with a beforeConnect hook, or one ConfigurationError listing every credential key set', () => {
    fc.assert(
      fc.property(options, (opts) => {
        const set = [
          ...(['username', 'password'] as const).filter((k) => opts[k] !== undefined),
          ...(opts.dialectOptions?.password !== undefined ? ['dialectOptions.password'] : []),
          ...(['username', 'password'] as const)
            .filter((k) => opts.replication?.write[k] !== undefined)
            .map((k) => `replication.write.${k}`),
          ...(opts.replication?.read ?? []).flatMap((n, i) =>
            (['username', 'password'] as const)
              .filter((k) => n[k] !== undefined)
              .map((k) => `replication.read[${i}].${k}`),
          ),
        ];
        const supported = ['postgres', 'postgresql', 'mysql', 'mariadb'].includes(opts.dialect as string);
        try {
          const out = withRotatingCredentials(opts as Parameters<typeof withRotatingCredentials>[0], {
            secretId: 'x',
            clientConfig: { region: 'eu-west-1' },
          });
          expect([supported, set]).toEqual([true, []]);
          expect(out.hooks?.beforeConnect).toHaveLength(1);
        } catch (err) {
          expect(err).toBeInstanceOf(ConfigurationError);
          expect((err as Error).message.startsWith('@dbcreds/sequelize: ')).toBe(true);
          if (supported) expect((err as ConfigurationError).keys).toEqual(set);
        }
      }),
      { numRuns: 300 },
    );
  });
});

/**
 * Property-based (fast-check): the pool factories on arbitrary option bags — a pool, or a
 * ConfigurationError naming every bad key (`@dbcreds/<pkg>: …`), never another exception. No database
 * is contacted (pools connect lazily).
 */
import { ConfigurationError, createCredentialSource } from '@dbcreds/core';
import { createPool as createMysqlPool } from '@dbcreds/mysql2';
import { createPool as createPgPool } from '@dbcreds/pg';
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

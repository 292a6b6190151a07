/**
 * Every shape a database secret comes in: RDS-managed (username and password only), Redshift, custom
 * and nested keys (`secretKeys`), a key holding a connection URL, a SecretString that is a URL.
 */
import { inspect } from 'node:util';
import {
  ConfigurationError,
  createCredentialSource,
  isAuthError,
  parseDbSecret,
  SecretFormatError,
  type SecretKeys,
} from '@dbcreds/core';
import {
  applyCredentials,
  type Credentials,
  endpointFieldsFromSecret,
  endpointFromSecret,
  engineFamily,
} from '@dbcreds/core/adapter';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FakeSecretsManager } from './helpers/fake-sm.js';

const META = { versionId: 'v1', stage: 'AWSCURRENT' as const };
const PW = 'Sup3r-Secret-Pw!';

function parse(value: unknown, keys?: SecretKeys): Credentials {
  return parseDbSecret('app/db', typeof value === 'string' ? value : JSON.stringify(value), META, keys);
}

function formatError(value: unknown, keys?: SecretKeys): SecretFormatError {
  try {
    parse(value, keys);
  } catch (err) {
    expect(err).toBeInstanceOf(SecretFormatError);
    const e = err as SecretFormatError;
    expect(`${e.message} ${inspect(e)}`).not.toContain(PW);
    return e;
  }
  throw new Error('expected a SecretFormatError');
}

const endpoint = (c: Credentials) => [c.username, c.password, c.host, c.port, c.dbname, c.engine];

describe('RDS-managed secrets: no host anywhere → ConfigurationError, never a default host', () => {
  const managed = parse({ username: 'postgres', password: PW });
  const all = endpointFieldsFromSecret({});

  it('endpointFromSecret throws when the host is to come from a secret that has none', () => {
    let err: unknown;
    try {
      endpointFromSecret(managed, all);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigurationError);
    const e = err as ConfigurationError;
    expect(e.keys).toEqual(['host']);
    expect(e.message).toMatch(/secret .*has no host/);
    expect(e.message).toContain('set `host`');
    expect(e.message).toMatch(/RDS-managed secrets .*only username and password/);
    expect(e.message).not.toContain(PW);
    expect(isAuthError(e)).toBe(false); // not retried as a credential problem
  });

  it('applyCredentials throws before writing user or password into the driver config', () => {
    const target: Record<string, unknown> = { max: 5 };
    expect(() => applyCredentials(target, managed, all)).toThrow(ConfigurationError);
    expect(target).toEqual({ max: 5 });
    expect('password' in target).toBe(false);
  });

  it.each([{ host: 'db.internal' }, { socketPath: '/run/mysqld/mysqld.sock' }])(
    'an explicit %j names the server: the secret may omit it',
    (explicit) => {
      const fill = endpointFieldsFromSecret({ ...explicit, port: 6543, database: 'app' });
      expect(endpointFromSecret(managed, fill)).toEqual({});
    },
  );

  it('host from options, port and database from the secret', () => {
    const c = parse({ username: 'u', password: PW, port: 5433, dbname: 'appdb' });
    expect(endpointFromSecret(c, endpointFieldsFromSecret({ host: 'h' }))).toEqual({ port: 5433, database: 'appdb' });
  });
});

describe('Redshift', () => {
  const cluster = {
    engine: 'redshift',
    host: 'examplecluster.abc123.us-west-2.redshift.amazonaws.com',
    username: 'awsuser',
    password: PW,
    dbname: 'dev',
    port: '5439',
    dbClusterIdentifier: 'examplecluster',
  };
  // Redshift Serverless: the workgroup endpoint, no cluster identifier (extra keys are ignored either way).
  const serverless = {
    engine: 'redshift',
    host: 'default-workgroup.123456789012.us-east-1.redshift-serverless.amazonaws.com',
    username: 'admin',
    password: PW,
    dbname: 'dev',
    namespaceName: 'default-namespace',
  };

  it.each([
    ['provisioned cluster', cluster, 5439],
    ['serverless workgroup (no port: the Redshift default)', serverless, undefined],
  ])('parses the %s secret as the PostgreSQL family', (_name, secret, port) => {
    const c = parse(secret);
    expect(c.engine).toBe('redshift');
    expect(c.port).toBe(port);
    expect(engineFamily(c.engine)).toBe('postgres');
    expect(endpointFromSecret(c, endpointFieldsFromSecret({}))).toEqual({
      host: secret.host,
      port: 5439,
      database: 'dev',
    });
  });

  it('an explicit port wins over the Redshift default', () => {
    const c = parse(serverless);
    expect(endpointFromSecret(c, endpointFieldsFromSecret({ port: 5440 }))).toEqual({
      host: serverless.host,
      database: 'dev',
    });
  });

  it('other engines get no port from dbcreds (the driver default applies)', () => {
    const c = parse({ engine: 'postgres', host: 'h', username: 'u', password: PW });
    expect(endpointFromSecret(c, endpointFieldsFromSecret({}))).toEqual({ host: 'h' });
  });

  it("Redshift's 28000 for a wrong password is an authentication error (one refresh and retry)", () => {
    // Redshift answers a bad password with SQLSTATE 28000 (not PostgreSQL's 28P01).
    const err = Object.assign(new Error('password authentication failed for user "awsuser"'), {
      name: 'error',
      severity: 'FATAL',
      code: '28000',
    });
    expect(isAuthError(err)).toBe(true);
  });
});

describe('secretKeys: custom and nested keys', () => {
  const nested = {
    db: { user: 'app', pass: PW, endpoint: { host: 'db.internal', port: '6432' } },
    'name.with.dots': 'appdb',
    kind: 'PostgreSQL',
  };
  const keys = {
    username: 'db.user',
    password: 'db.pass',
    host: 'db.endpoint.host',
    port: 'db.endpoint.port',
    dbname: 'name.with.dots',
    engine: 'kind',
  };

  it('reads every field at its dotted path; an exact key with dots wins', () => {
    expect(endpoint(parse(nested, keys))).toEqual(['app', PW, 'db.internal', 6432, 'appdb', 'postgres']);
  });

  it('fields not named keep their RDS key', () => {
    const c = parse({ user: 'app', password: PW, host: 'h', port: 3306 }, { username: 'user' });
    expect(endpoint(c)).toEqual(['app', PW, 'h', 3306, undefined, undefined]);
  });

  it.each(Object.keys(keys))('a named key missing from the secret (%s) → SecretFormatError naming the key', (field) => {
    const err = formatError(nested, { ...keys, [field]: 'db.nope' });
    expect(err.field).toBe('db.nope');
    expect(err.message).toContain(`missing field 'db.nope' (secretKeys.${field})`);
  });

  it('a value of the wrong type names the key, never the value', () => {
    const err = formatError({ u: 'app', p: { v: PW } }, { username: 'u', password: 'p' });
    expect(err.field).toBe('p');
    expect(err.message).toContain("field 'p' must be a string");
  });

  it('a path through a non-object is missing', () => {
    expect(formatError({ db: 'x', password: PW }, { username: 'db.user' }).field).toBe('db.user');
  });
});

describe('connection URLs', () => {
  const pgUrl = `postgres://app:${encodeURIComponent(PW)}@db.internal:5433/appdb?sslmode=require`;

  it('{ url: key } takes user, password, host, port and database from the URL, the engine from its scheme', () => {
    const c = parse({ DATABASE_URL: pgUrl, other: 1 }, { url: 'DATABASE_URL' });
    expect(endpoint(c)).toEqual(['app', PW, 'db.internal', 5433, 'appdb', 'postgres']);
  });

  it('a nested url key', () => {
    const c = parse({ env: { DATABASE_URL: pgUrl } }, { url: 'env.DATABASE_URL' });
    expect(c.host).toBe('db.internal');
  });

  it('a SecretString that is itself a URL is detected (no option needed)', () => {
    expect(endpoint(parse(pgUrl))).toEqual(['app', PW, 'db.internal', 5433, 'appdb', 'postgres']);
    expect(endpoint(parse(`  ${pgUrl}\n`))).toEqual(['app', PW, 'db.internal', 5433, 'appdb', 'postgres']);
  });

  it.each([
    ['postgres', 'postgres'],
    ['postgresql', 'postgres'],
    ['mysql', 'mysql'],
    ['mariadb', 'mariadb'],
    ['redshift', 'redshift'],
    ['aurora-postgresql', 'aurora-postgresql'],
    ['jdbc:postgresql', 'postgres'],
    ['jdbc:mysql', 'mysql'],
  ])('scheme %s → engine %s', (scheme, engine) => {
    expect(parse(`${scheme}://u:p@h:1/d`).engine).toBe(engine);
  });

  it('IPv6 literal, no port, no database, a percent-encoded socket directory as host', () => {
    expect(endpoint(parse('postgres://u:p@[::1]'))).toEqual(['u', 'p', '::1', undefined, undefined, 'postgres']);
    expect(parse('postgres://u:p@%2Fvar%2Frun%2Fpostgresql/db').host).toBe('/var/run/postgresql');
  });

  it.each([
    ['no user', 'postgres://:pw@h/d', 'the user in'],
    ['no password', 'postgres://app@h/d', 'the password in'],
  ])('%s → SecretFormatError', (_what, url, detail) => {
    const err = formatError({ DATABASE_URL: url }, { url: 'DATABASE_URL' });
    expect(err.field).toBe('DATABASE_URL');
    expect(err.message).toContain(detail);
  });

  it('an unknown scheme, a bad port, bad percent-encoding: errors name the key, never the URL', () => {
    const u = (s: string) => ({ DATABASE_URL: s });
    const k = { url: 'DATABASE_URL' } as const;
    expect(formatError(u(`sqlserver://app:${PW}@h/d`), k).message).toMatch(/scheme of 'DATABASE_URL' is 'sqlserver'/);
    expect(formatError(u(`postgres://app:${PW}@h:99999/d`), k).message).not.toContain('99999/d');
    const pct = formatError(u(`postgres://app:${PW}%zz@h/d`), k);
    expect(pct.message).toContain("the password in 'DATABASE_URL' has invalid percent-encoding");
    expect(formatError(u(PW), k).message).toContain('is not a connection URL');
    expect(formatError({ other: 1 }, k).message).toContain("missing field 'DATABASE_URL' (secretKeys.url)");
    expect(formatError({ DATABASE_URL: 5 }, k).field).toBe('DATABASE_URL');
  });

  it('a whole-SecretString URL that does not parse is reported without quoting it', () => {
    const err = formatError(`postgres://app:${PW}@h:port/d`);
    expect(err.field).toBe('SecretString');
    expect(err.cause).toBeUndefined();
  });

  /** Passwords with every character that needs escaping in a URL, and non-ASCII. */
  const hostile = fc
    .array(
      fc.oneof(
        fc.constantFrom(...'@:/%#+?&= \'"\\[]{}|^`<>;,$!*()~'.split('')),
        fc.string({ unit: 'grapheme', minLength: 1, maxLength: 3 }),
        fc.string({ minLength: 1, maxLength: 4 }),
      ),
      { minLength: 1, maxLength: 24 },
    )
    .map((parts) => parts.join(''));
  const name = fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_.$-]{0,15}$/);

  it('property: percent-encoded user, password and database round-trip exactly, for every scheme', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('postgres', 'postgresql', 'mysql', 'mariadb', 'redshift'),
        name,
        hostile,
        fc.option(fc.integer({ min: 1, max: 65_535 }), { nil: undefined }),
        fc.oneof(name, hostile),
        fc.boolean(),
        (scheme, user, password, port, db, whole) => {
          const url = `${scheme}://${encodeURIComponent(user)}:${encodeURIComponent(password)}@db.example${
            port === undefined ? '' : `:${port}`
          }/${encodeURIComponent(db)}`;
          const c = whole ? parse(url) : parse({ conn: { url } }, { url: 'conn.url' });
          expect([c.username, c.password, c.host, c.port, c.dbname]).toEqual([user, password, 'db.example', port, db]);
          expect(engineFamily(c.engine)).toBe(scheme.startsWith('m') ? 'mysql' : 'postgres');
        },
      ),
      { numRuns: 300 },
    );
  });

  it('property: any string at the url key → credentials or a SecretFormatError that never quotes it', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          fc.string().map((s) => `mysql://${s}`),
          hostile.map((h) => `postgres://${h}`),
        ),
        (value) => {
          try {
            parse({ u: value }, { url: 'u' });
          } catch (err) {
            expect(err).toBeInstanceOf(SecretFormatError);
            if (value.length >= 8) expect((err as Error).message).not.toContain(value);
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('the secretKeys option', () => {
  const client = new FakeSecretsManager();
  const configError = (secretKeys: unknown): ConfigurationError => {
    try {
      createCredentialSource({ secretId: 'x', client, secretKeys } as never).close();
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigurationError);
      return err as ConfigurationError;
    }
    throw new Error('expected a ConfigurationError');
  };

  it('accepts field keys, or a url key', () => {
    createCredentialSource({ secretId: 'x', client, secretKeys: { username: 'db.user', port: 'p' } }).close();
    createCredentialSource({ secretId: 'x', client, secretKeys: { url: 'DATABASE_URL' } }).close();
  });

  it('unknown keys are listed with the valid ones', () => {
    const err = configError({ user: 'u', database: 'd' });
    expect(err.keys).toEqual(['secretKeys.user', 'secretKeys.database']);
    expect(err.message).toContain('valid: username, password, host, port, dbname, engine, url');
  });

  it.each([
    ['not an object', 'DATABASE_URL', 'secretKeys'],
    ['an empty key', { password: '' }, 'secretKeys.password'],
    ['a non-string key', { port: 5432 }, 'secretKeys.port'],
    ['url with field keys', { url: 'u', host: 'h' }, 'secretKeys.url'],
  ])('rejects %s', (_what, value, key) => {
    expect(configError(value).keys).toContain(key);
  });

  it('the source reads the secret through the keys', async () => {
    const sm = new FakeSecretsManager();
    sm.put({ db: { user: 'app', pass: PW }, server: 'db.internal' } as never);
    const source = createCredentialSource({
      secretId: 'app/db',
      client: sm,
      secretKeys: { username: 'db.user', password: 'db.pass', host: 'server' },
    });
    try {
      const c = await source.get();
      expect([c.username, c.password, c.host]).toEqual(['app', PW, 'db.internal']);
    } finally {
      source.close();
    }
  });
});

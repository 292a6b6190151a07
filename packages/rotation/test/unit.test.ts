import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { retargetGrant } from '../src/engines/mysql.js';
import { RotationConfigurationError, ScrubbedDriverError, SecretValueError } from '../src/errors.js';
import { createRotationHandler, DEFAULT_EXCLUDE_CHARACTERS } from '../src/index.js';
import { optionsFromEnv } from '../src/lambda.js';
import { resolveOptions } from '../src/options.js';
import { alternateUsername, checkUsernameLength, engineFamily, parseDbSecret } from '../src/secret.js';

describe('options', () => {
  it('applies documented defaults', () => {
    const o = resolveOptions({ strategy: 'single-user' });
    expect(o).toMatchObject({ passwordLength: 32, connectTimeoutMs: 5000, queryTimeoutMs: 10_000 });
    expect(o.excludeCharacters).toBe(DEFAULT_EXCLUDE_CHARACTERS);
  });

  it.each([
    [{ strategy: 'single-user', bogus: 1 }, /unknown option\(s\): bogus/],
    [{ strategy: 'multi' }, /strategy must be/],
    [{ strategy: 'single-user', passwordLength: 4 }, /passwordLength must be an integer between 8 and 4096/],
    [{ strategy: 'single-user', connectTimeoutMs: 1.5 }, /connectTimeoutMs/],
    [{ strategy: 'single-user', client: {}, clientConfig: {} }, /either client or clientConfig/],
    [{ strategy: 'single-user', logger: { info() {} } }, /logger.warn/],
  ])('rejects %o', (options, message) => {
    expect(() => createRotationHandler(options as never)).toThrow(RotationConfigurationError);
    expect(() => createRotationHandler(options as never)).toThrow(message);
  });

  it('reads the AWS template environment variables', () => {
    const o = optionsFromEnv({
      ROTATION_STRATEGY: 'alternating-users',
      EXCLUDE_CHARACTERS: '/@',
      PASSWORD_LENGTH: '40',
      USERNAME_CHARACTER_LIMIT: '16',
      CONNECT_TIMEOUT_MS: '2000',
      SECRETS_MANAGER_ENDPOINT: 'http://127.0.0.1:1',
    });
    expect(o).toMatchObject({
      strategy: 'alternating-users',
      excludeCharacters: '/@',
      passwordLength: 40,
      usernameLimit: 16,
      connectTimeoutMs: 2000,
      clientConfig: { endpoint: 'http://127.0.0.1:1' },
    });
    expect(optionsFromEnv({ ROTATION_STRATEGY: 'single' }).strategy).toBe('single-user');
    expect(() => optionsFromEnv({})).toThrow(RotationConfigurationError);
    expect(() => optionsFromEnv({ ROTATION_STRATEGY: 'single-user', PASSWORD_LENGTH: 'x' })).toThrow(/PASSWORD_LENGTH/);
  });
});

describe('default excluded characters', () => {
  it('leave only URL- and shell-safe punctuation', () => {
    const punctuation = '!"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~';
    const kept = [...punctuation].filter((c) => !DEFAULT_EXCLUDE_CHARACTERS.includes(c)).join('');
    expect(kept).toBe('+,-._');
    expect(encodeURIComponent(`a${kept}b`)).toBe(`a${kept.replace('+', '%2B').replace(',', '%2C')}b`);
  });
});

describe('usernames', () => {
  it('toggles the _clone suffix', () => {
    expect(alternateUsername('app')).toBe('app_clone');
    expect(alternateUsername('app_clone')).toBe('app');
    expect(alternateUsername(alternateUsername('ü\'"%'))).toBe('ü\'"%');
  });

  it('enforces the MySQL character limit (default 32, configurable)', () => {
    expect(() => checkUsernameLength('a'.repeat(32), 'mysql', undefined, 's', 'createSecret')).not.toThrow();
    expect(() => checkUsernameLength('a'.repeat(33), 'mysql', undefined, 's', 'createSecret')).toThrow(
      SecretValueError,
    );
    expect(() => checkUsernameLength('abcdefghij_clone_', 'mysql', 16, 's', 'createSecret')).toThrow(/limit is 16/);
    expect(() => checkUsernameLength('ü'.repeat(32), 'mysql', undefined, 's', 'x')).not.toThrow();
  });

  it('enforces PostgreSQL 63 bytes, not characters', () => {
    expect(() => checkUsernameLength('a'.repeat(63), 'postgres', undefined, 's', 'x')).not.toThrow();
    expect(() => checkUsernameLength('ü'.repeat(32), 'postgres', undefined, 's', 'x')).toThrow(
      /64 bytes; PostgreSQL allows 63/,
    );
    expect(() => checkUsernameLength('a'.repeat(64), 'postgres', 100, 's', 'x')).toThrow(SecretValueError);
  });
});

describe('secret parsing', () => {
  it('maps engines and never quotes the value in errors', () => {
    expect(engineFamily({ username: 'u', password: 'p', engine: 'aurora-postgresql' }, 's', 'x')).toBe('postgres');
    expect(engineFamily({ username: 'u', password: 'p', engine: 'mariadb' }, 's', 'x')).toBe('mysql');
    expect(() => engineFamily({ username: 'u', password: 'p', engine: 'oracle' }, 's', 'x')).toThrow(SecretValueError);
    const bad = '{"username":"u","password":"hunter2-secret"';
    const err = (() => {
      try {
        parseDbSecret(bad, 'secret', 's', 'x');
      } catch (e) {
        return e as Error;
      }
    })();
    expect(err).toBeInstanceOf(SecretValueError);
    expect(inspect(err)).not.toContain('hunter2');
    expect(() => parseDbSecret('{"password":"p"}', 'secret', 's', 'x')).toThrow(/username/);
  });

  it("applies core's port rule (the app side's): digits or a number in 1..65535", () => {
    for (const port of [5432, '3306', ' 5432 ']) {
      expect(parseDbSecret(JSON.stringify({ username: 'u', password: 'p', port }), 'secret', 's', 'x').port).toBe(port);
    }
    for (const port of [0, 70000, '1e3', '5432x', 1.5, -1]) {
      expect(() => parseDbSecret(JSON.stringify({ username: 'u', password: 'p', port }), 'secret', 's', 'x')).toThrow(
        /port/,
      );
    }
  });
});

describe('ScrubbedDriverError', () => {
  it('drops sql, scrubs secrets and syntax-error fragments, keeps codes', () => {
    const original = Object.assign(
      new Error("You have an error in your SQL syntax; check the manual near 's3cr'et' at line 1 s3cr'et"),
      { code: 'ER_PARSE_ERROR', errno: 1064, sqlState: '42000', sql: "SET PASSWORD = PASSWORD('s3cr'et')" },
    );
    const e = new ScrubbedDriverError(original, ["s3cr'et"]);
    expect(e).toMatchObject({ code: 'ER_PARSE_ERROR', errno: 1064, sqlState: '42000' });
    expect(e.message).toBe('You have an error in your SQL syntax; check the manual near <redacted>');
    expect(inspect(e)).not.toContain('s3cr');
    expect(JSON.stringify(e)).not.toContain('s3cr');
  });
});

describe('retargetGrant (SHOW GRANTS replay)', () => {
  const clone = "'app_clone'@'%'";
  it.each([
    [
      "GRANT USAGE ON *.* TO `app`@`%` IDENTIFIED BY PASSWORD '*0123456789ABCDEF'",
      "GRANT USAGE ON *.* TO 'app_clone'@'%'",
    ],
    [
      "GRANT USAGE ON *.* TO `app`@`%` IDENTIFIED BY PASSWORD '*01AB' WITH GRANT OPTION",
      "GRANT USAGE ON *.* TO 'app_clone'@'%' WITH GRANT OPTION",
    ],
    ['GRANT ALL PRIVILEGES ON `db`.* TO `app`@`%`', "GRANT ALL PRIVILEGES ON `db`.* TO 'app_clone'@'%'"],
    ['GRANT SELECT ON `a TO b`.* TO `app`@`%`', "GRANT SELECT ON `a TO b`.* TO 'app_clone'@'%'"],
    ["GRANT SELECT ON *.* TO 'app'@'%' REQUIRE SSL", "GRANT SELECT ON *.* TO 'app_clone'@'%' REQUIRE SSL"],
    ['GRANT `reader` TO `app`@`%`', "GRANT `reader` TO 'app_clone'@'%'"],
    ['SET DEFAULT ROLE `reader` FOR `app`@`%`', "SET DEFAULT ROLE `reader` FOR 'app_clone'@'%'"],
  ])('%s', (row, expected) => {
    expect(retargetGrant(row, 'app', '%', clone)).toBe(expected);
  });

  it('handles quotes and backticks in the user name', () => {
    expect(retargetGrant("GRANT USAGE ON *.* TO `a``b'c`@`%`", "a`b'c", '%', 'X')).toBe('GRANT USAGE ON *.* TO X');
    expect(retargetGrant('REVOKE x', 'app', '%', clone)).toBeUndefined();
  });
});

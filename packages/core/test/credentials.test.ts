import { inspect } from 'node:util';
import { parseDbSecret, SecretFormatError } from '@dbcreds/core';
import { type Credentials, engineFamily } from '@dbcreds/core/adapter';
import { describe, expect, it } from 'vitest';

const META = { versionId: 'v1', stage: 'AWSCURRENT' as const };
const PW = 'Sup3r-Secret-Pw!';
const rds = {
  engine: 'postgres',
  host: 'db.internal',
  port: 5432,
  username: 'app',
  password: PW,
  dbname: 'appdb',
  masterarn: 'arn:aws:secretsmanager:us-east-1:000000000000:secret:master',
  dbClusterIdentifier: 'ignored',
};

function parse(obj: unknown): Credentials {
  return parseDbSecret('app/db', typeof obj === 'string' ? obj : JSON.stringify(obj), META);
}

function formatError(obj: unknown): SecretFormatError {
  try {
    parse(obj);
  } catch (err) {
    expect(err).toBeInstanceOf(SecretFormatError);
    return err as SecretFormatError;
  }
  throw new Error('expected a SecretFormatError');
}

describe('parseDbSecret', () => {
  it('parses the RDS secret shape and ignores other keys', () => {
    const c = parse(rds);
    expect(c.toJSON()).toEqual({
      username: 'app',
      password: '[redacted]',
      host: 'db.internal',
      port: 5432,
      dbname: 'appdb',
      engine: 'postgres',
      masterarn: rds.masterarn,
      versionId: 'v1',
      stage: 'AWSCURRENT',
    });
    expect(c.password).toBe(PW);
    expect(c).not.toHaveProperty('dbClusterIdentifier');
  });

  it('accepts only username and password', () => {
    const c = parse({ username: 'u', password: 'p' });
    expect([c.username, c.password, c.host, c.port, c.engine]).toEqual(['u', 'p', undefined, undefined, undefined]);
  });

  it.each([
    [5432, 5432],
    ['3306', 3306],
    [' 3306 ', 3306],
  ])('accepts port %j', (port, expected) => {
    expect(parse({ ...rds, port }).port).toBe(expected);
  });

  it.each([0, 70000, 'abc', '5432x', 3.5, true, -1])('rejects port %j naming the field', (port) => {
    const err = formatError({ ...rds, port });
    expect(err.field).toBe('port');
    expect(err.message).not.toContain(PW);
  });

  it.each([
    ['mysql', 'mysql'],
    ['MySQL', 'mysql'],
    ['mariadb', 'mariadb'],
    ['postgres', 'postgres'],
    ['postgresql', 'postgres'],
    ['aurora-mysql', 'aurora-mysql'],
    ['aurora-postgresql', 'aurora-postgresql'],
    ['aurora', 'mysql'],
  ])('normalises engine %s → %s', (engine, expected) => {
    expect(parse({ ...rds, engine }).engine).toBe(expected);
  });

  it('rejects an unknown engine', () => {
    expect(formatError({ ...rds, engine: 'sqlserver-ex' }).field).toBe('engine');
  });

  it.each(['username', 'password'])('names a missing %s field, never a value', (field) => {
    const { [field as 'username']: _drop, ...rest } = rds;
    const err = formatError(rest);
    expect(err.field).toBe(field);
    expect(err.message).toContain(`'${field}'`);
    expect(err.message).not.toContain(PW);
  });

  it('rejects a non-string password without echoing it', () => {
    const err = formatError({ ...rds, password: 123456789 });
    expect(err.field).toBe('password');
    expect(err.message).not.toContain('123456789');
  });

  it('rejects non-JSON and non-object secrets without quoting them', () => {
    const err = formatError(`password=${PW}`);
    expect(err.message).toMatch(/not JSON/);
    expect(err.message).not.toContain(PW);
    expect(err.cause).toBeUndefined();
    expect(formatError('[1,2]').message).toMatch(/not a JSON object/);
    expect(formatError('"str"').message).toMatch(/not a JSON object/);
  });

  it('engineFamily groups engines by protocol', () => {
    expect(
      ['mysql', 'mariadb', 'aurora-mysql', 'postgres', 'aurora-postgresql'].map((e) => engineFamily(e as never)),
    ).toEqual(['mysql', 'mysql', 'mysql', 'postgres', 'postgres']);
  });
});

describe('redaction', () => {
  const c = parse(rds);

  it('hides the password from String, template literals, JSON and inspect', () => {
    const renderings = [
      String(c),
      `${c}`,
      JSON.stringify(c),
      JSON.stringify({ nested: { c } }),
      inspect(c),
      inspect(c, { depth: 0 }),
      inspect(c, { depth: null }),
      inspect(c, { showHidden: true }),
      inspect({ deep: [c] }, { depth: 5 }),
      inspect(c, { customInspect: false }),
      inspect(c, { customInspect: false, showHidden: true }),
    ];
    for (const r of renderings) expect(r).not.toContain(PW);
    expect(String(c)).toContain("password: '[redacted]'");
    expect(inspect(c)).toContain("password: '[redacted]'");
    expect(JSON.parse(JSON.stringify(c)).password).toBe('[redacted]');
  });

  it('password is not an own property: spread, keys and structuredClone drop it', () => {
    expect(Object.keys(c)).not.toContain('password');
    expect(Object.getOwnPropertyNames(c)).not.toContain('password');
    expect({ ...c }).not.toHaveProperty('password');
    expect(structuredClone({ ...c })).not.toHaveProperty('password');
    expect(c.password).toBe(PW);
  });

  it('is immutable', () => {
    expect(() => {
      (c as unknown as { username: string }).username = 'x';
    }).toThrow(TypeError);
    expect(() => {
      (c as unknown as { password: string }).password = 'x';
    }).toThrow(TypeError);
    expect(c.password).toBe(PW);
  });

  it('errors thrown while fetching never contain the password', () => {
    const err = formatError({ ...rds, port: PW });
    expect(`${err.message} ${err.stack} ${inspect(err)}`).not.toContain(PW);
  });
});

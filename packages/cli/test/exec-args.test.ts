import type { DbCredentials } from '@dbcreds/core';
import { describe, expect, it } from 'vitest';
import {
  connectionEnv,
  connectionUrl,
  parseExecArgs,
  parseUrlArgs,
  pgpassLine,
  resolveConnection,
  runCli,
  UsageError,
} from '../src/index.js';

const HOSTILE = `p@:/%#+?&= '"\\é✓ü`;
const creds = (over: Partial<DbCredentials> = {}): DbCredentials =>
  ({
    username: 'app user@x',
    password: HOSTILE,
    host: 'db.example.com',
    port: 5433,
    dbname: 'my db/1',
    engine: 'postgres',
    versionId: 'v1',
    stage: 'AWSCURRENT',
    ...over,
  }) as DbCredentials;

describe('parseExecArgs', () => {
  it('splits options from the command at --; defaults: all, DATABASE_URL, no retry', () => {
    const a = parseExecArgs(['--secret-id', 's', '--', 'knex', 'migrate:latest', '--env', 'x'], {});
    expect(a).toMatchObject({
      secretId: 's',
      format: 'all',
      urlVar: 'DATABASE_URL',
      retryOnAuth: false,
      command: 'knex',
      args: ['migrate:latest', '--env', 'x'],
      params: [],
      endpointOverrides: {},
    });
  });

  it('reads every flag; DBCREDS_SECRET_ID stands in for --secret-id', () => {
    const a = parseExecArgs(
      [
        '--format=pgpass',
        '--url-var',
        'PRISMA_URL',
        '--retry-on-auth',
        '--param',
        'sslmode=require',
        '--param',
        'a=b=c',
        '--host',
        'h',
        '--port',
        '6432',
        '--database',
        'd',
        '--engine',
        'postgres',
        '--region',
        'eu-west-1',
        '--',
        'psql',
      ],
      { DBCREDS_SECRET_ID: 'from-env' },
    );
    expect(a).toMatchObject({
      secretId: 'from-env',
      format: 'pgpass',
      urlVar: 'PRISMA_URL',
      retryOnAuth: true,
      region: 'eu-west-1',
      params: [
        ['sslmode', 'require'],
        ['a', 'b=c'],
      ],
      endpointOverrides: { host: 'h', port: 6432, database: 'd', engine: 'postgres' },
      command: 'psql',
    });
    expect(parseExecArgs(['--secret-id', 's', '--agent', '--', 'x'], {})).toMatchObject({ agent: true });
    expect(
      parseExecArgs(['--secret-id', 's', '--agent-endpoint', 'http://localhost:2773', '--', 'x'], {}),
    ).toMatchObject({
      agent: { endpoint: 'http://localhost:2773' },
    });
    expect(parseExecArgs(['--help'], {})).toBe('help');
  });

  it.each([
    [['--secret-id', 's', 'psql'], /unexpected argument 'psql': put the command after '--'/],
    [['--secret-id', 's'], /missing '--' before the command/],
    [['--secret-id', 's', '--'], /missing command after '--'/],
    [['--', 'psql'], /--secret-id is required \(or set DBCREDS_SECRET_ID\)/],
    [['--secret-id', 's', '--bogus', '--', 'x'], /Unknown option '--bogus'/],
    [['--secret-id', 's', '--format', 'yaml', '--', 'x'], /--format must be one of all, url, env, pgpass/],
    [['--secret-id', 's', '--url-var', 'A-B', '--', 'x'], /--url-var must be an environment variable name/],
    [['--secret-id', 's', '--port', '0', '--', 'x'], /--port must be an integer from 1 to 65535/],
    [['--secret-id', 's', '--engine', 'oracle', '--', 'x'], /--engine must be one of postgres, mysql/],
    [['--secret-id', 's', '--param', 'novalue', '--', 'x'], /--param must be key=value/],
    [['--secret-id', 's', '--host', '', '--', 'x'], /--host must not be empty/],
    [['--secret-id', 's', '--agent', '--endpoint', 'http://127.0.0.1:1', '--', 'x'], /give --agent, or --endpoint/],
    [['--secret-id', 's', '--endpoint', 'nope', '--', 'x'], /--endpoint must be a URL/],
    [['--secret-id', 's', '--format', 'pgpass', '--engine', 'mysql', '--', 'x'], /pgpass is for PostgreSQL only/],
  ])('rejects %j', (argv, message) => {
    expect(() => parseExecArgs(argv, {})).toThrow(UsageError);
    expect(() => parseExecArgs(argv, {})).toThrow(message);
  });
});

describe('parseUrlArgs', () => {
  it('refuses without --print and says why', () => {
    expect(() => parseUrlArgs(['--secret-id', 's'], {})).toThrow(/the URL contains the password: add --print/);
    expect(parseUrlArgs(['--secret-id', 's', '--print'], {})).toMatchObject({ secretId: 's', print: true });
  });

  it('the CLI answers a bad command line with status 2 and a hint, never running anything', async () => {
    const err: string[] = [];
    const io = { stdout: { write: () => true }, stderr: { write: (s: string) => err.push(s) } };
    expect(await runCli(['exec', '--secret-id', 's', 'psql'], io)).toBe(2);
    expect(err.join('')).toContain("Run 'dbcreds exec --help' for usage.");
  });
});

describe('connectionUrl / connectionEnv / pgpassLine', () => {
  it('percent-encodes every component; WHATWG URL decodes them back', () => {
    const c = resolveConnection(creds(), {}, [['application_name', 'a&b c']]);
    const url = connectionUrl(c);
    expect(url).toBe(
      'postgresql://app%20user%40x:p%40%3A%2F%25%23%2B%3F%26%3D%20%27%22%5C%C3%A9%E2%9C%93%C3%BC@db.example.com:5433/my%20db%2F1?application_name=a%26b%20c',
    );
    const u = new URL(url);
    expect(decodeURIComponent(u.username)).toBe('app user@x');
    expect(decodeURIComponent(u.password)).toBe(HOSTILE);
    expect(decodeURIComponent(u.pathname.slice(1))).toBe('my db/1');
    expect(u.searchParams.get('application_name')).toBe('a&b c');
    expect(connectionUrl(c, { withPassword: false })).toMatch(/^postgresql:\/\/app%20user%40x@db/);
  });

  it('flags override the secret; the port defaults per engine; IPv6 hosts are bracketed', () => {
    const c = resolveConnection(creds({ engine: 'mariadb', port: undefined }), { host: '::1', database: 'x' });
    expect(connectionUrl(c)).toMatch(/^mysql:\/\/[^@]+@\[::1\]:3306\/x$/);
    expect(connectionEnv(c)).toEqual({
      MYSQL_HOST: '::1',
      MYSQL_TCP_PORT: '3306',
      MYSQL_USER: 'app user@x',
      MYSQL_PWD: HOSTILE,
      MYSQL_DATABASE: 'x',
    });
  });

  it('never invents a host or an engine', () => {
    expect(() => resolveConnection(creds({ host: undefined }), {})).toThrow(/no 'host' field: pass --host/);
    expect(() => resolveConnection(creds({ engine: undefined }), {})).toThrow(/no 'engine' field/);
    expect(resolveConnection(creds({ engine: undefined }), { engine: 'mysql' }).family).toBe('mysql');
  });

  it('PostgreSQL variables carry the libpq equivalents of passed-through parameters', () => {
    const c = resolveConnection(creds(), {}, [
      ['sslmode', 'require'],
      ['unknown', 'x'],
    ]);
    expect(connectionEnv(c)).toEqual({
      PGHOST: 'db.example.com',
      PGPORT: '5433',
      PGUSER: 'app user@x',
      PGPASSWORD: HOSTILE,
      PGDATABASE: 'my db/1',
      PGSSLMODE: 'require',
    });
    expect(connectionEnv(c, { withPassword: false })).not.toHaveProperty('PGPASSWORD');
  });

  it('pgpass escapes : and \\, refuses line breaks', () => {
    const c = resolveConnection(creds({ password: 'a:b\\c' }), {});
    expect(pgpassLine(c)).toBe('*:*:*:app user@x:a\\:b\\\\c\n');
    expect(() => pgpassLine(resolveConnection(creds({ password: 'a\nb' }), {}))).toThrow(/line break/);
  });
});

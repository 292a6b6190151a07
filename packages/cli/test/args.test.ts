import { describe, expect, it } from 'vitest';
import { demoEngines, parseDemoArgs, parseRotateArgs, rotationPlan, runCli, UsageError } from '../src/index.js';

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return {
    io: { stdout: { write: (s: string) => out.push(s) }, stderr: { write: (s: string) => err.push(s) } },
    out: () => out.join(''),
    err: () => err.join(''),
  };
}

describe('parseDemoArgs', () => {
  it('has documented defaults', () => {
    expect(parseDemoArgs([])).toEqual({
      engine: 'auto',
      orm: 'knex',
      strategy: 'both',
      rotations: 4,
      durationMs: 20_000, // per engine
      intervalSeconds: 2, // 20 s / (4 single-user + 4 alternating-users + 1)
      workers: 8,
      plain: false,
    });
  });

  it('reads every flag and implies the engine of driver-only libraries', () => {
    const args = parseDemoArgs(['--orm', 'mysql2', '--rotations=3', '--duration', '30', '--workers', '2', '--plain']);
    expect(args).toMatchObject({
      orm: 'mysql2',
      engine: 'mysql',
      rotations: 3,
      durationMs: 30_000,
      intervalSeconds: 4, // 30 s / (3 + 3 rotations + 1)
    });
    expect(parseDemoArgs(['--strategy', 'single-user', '--rotations', '2', '--duration', '30'])).toMatchObject({
      intervalSeconds: 10, // 30 s / (2 + 1)
    });
    expect(parseDemoArgs(['--rotations', '1'])).toMatchObject({ strategy: 'both', rotations: 1 });
    expect(parseDemoArgs(['--orm', 'pg', '--strategy', 'single-user', '--interval', '5'])).toMatchObject({
      engine: 'postgres',
      strategy: 'single-user',
      intervalSeconds: 5,
    });
    expect(parseDemoArgs(['-h'])).toBe('help');
  });

  it('auto runs both engines unless the library is driver-only; explicit engines stay', () => {
    expect(parseDemoArgs(['--engine', 'auto'])).toMatchObject({ engine: 'auto' });
    expect(parseDemoArgs(['--orm', 'pg'])).toMatchObject({ engine: 'postgres' });
    expect(parseDemoArgs(['--orm', 'mysql2', '--engine', 'auto'])).toMatchObject({ engine: 'mysql' });
    expect(parseDemoArgs(['--orm', 'prisma', '--engine', 'mysql'])).toMatchObject({ engine: 'mysql' });
    expect(parseDemoArgs(['--engine', 'postgres'])).toMatchObject({ engine: 'postgres' });
    expect(demoEngines('auto')).toEqual(['postgres', 'mysql']);
    expect(demoEngines('mysql')).toEqual(['mysql']);
  });

  it.each([
    [
      ['--orm', 'hibernate'],
      /--orm must be one of drizzle, knex, kysely, mikro-orm, mysql2, pg, postgres-js, prisma, sequelize, typeorm /,
    ],
    [['--engine', 'oracle'], /--engine must be one of auto, postgres, mysql/],
    [['--rotations', '0'], /--rotations must be an integer from 1 to 20/],
    [['--rotations', 'two'], /--rotations must be an integer/],
    [['--duration', '-1'], /--duration/],
    [['--orm', 'pg', '--engine', 'mysql'], /--orm pg works with --engine postgres only/],
    [['--orm', 'mysql2', '--engine', 'postgres'], /--orm mysql2 works with --engine mysql only/],
    [['--rotations', '21'], /--rotations must be an integer from 1 to 20/],
    [['--bogus'], /Unknown option '--bogus'/],
    [['--orm'], /argument missing/],
    [['extra'], /unexpected argument 'extra'/],
  ])('rejects %j', (argv, message) => {
    expect(() => parseDemoArgs(argv)).toThrow(UsageError);
    expect(() => parseDemoArgs(argv)).toThrow(message);
  });
});

describe('parseRotateArgs', () => {
  it('requires --secret-id and validates the endpoint', () => {
    expect(parseRotateArgs(['--secret-id', 's', '--endpoint', 'http://127.0.0.1:1', '--region', 'eu-west-1'])).toEqual({
      secretId: 's',
      endpoint: 'http://127.0.0.1:1',
      region: 'eu-west-1',
      timeoutMs: 60_000,
    });
    expect(() => parseRotateArgs([])).toThrow('--secret-id is required');
    expect(() => parseRotateArgs(['--secret-id', 's', '--endpoint', 'nope'])).toThrow(/--endpoint must be a URL/);
  });
});

describe('rotationPlan', () => {
  it('runs `rotations` per strategy, single-user first for both', () => {
    expect(rotationPlan('both', 2)).toEqual(['single-user', 'single-user', 'alternating-users', 'alternating-users']);
    expect(rotationPlan('both', 4)).toEqual([
      ...Array<string>(4).fill('single-user'),
      ...Array<string>(4).fill('alternating-users'),
    ]);
    expect(rotationPlan('both', 1)).toEqual(['single-user', 'alternating-users']);
    expect(rotationPlan('alternating-users', 2)).toEqual(['alternating-users', 'alternating-users']);
  });
});

describe('runCli exit codes', () => {
  it.each([
    [['demo', '--rotations', 'x'], 2, /dbcreds: --rotations must be .*\nRun 'dbcreds demo --help' for usage/],
    [['rotate'], 2, /--secret-id is required/],
    [
      ['frobnicate'],
      2,
      /^dbcreds: unknown command 'frobnicate' \(commands: demo, local-sm, rotate\)\nRun 'dbcreds --help' for usage\.\n$/,
    ],
    [
      ['foo', '--help'],
      2,
      /^dbcreds: unknown command 'foo' \(commands: demo, local-sm, rotate\)\nRun 'dbcreds --help' for usage\.\n$/,
    ],
    [[], 2, /^$/],
    [['local-sm', '--port', 'x'], 2, /--port/],
  ])('%j exits %i', async (argv, code, stderr) => {
    const c = capture();
    expect(await runCli(argv, c.io)).toBe(code);
    expect(c.err()).toMatch(stderr);
  });

  it.each([[['--help']], [['demo', '--help']], [['rotate', '-h']], [['local-sm', '--help']]])(
    '%j prints usage and exits 0',
    async (argv) => {
      const c = capture();
      expect(await runCli(argv, c.io)).toBe(0);
      expect(c.out()).toMatch(/Usage: dbcreds/);
    },
  );

  it('rotate reports an unreachable endpoint with exit 1', async () => {
    const c = capture();
    const code = await runCli(
      ['rotate', '--secret-id', 's', '--endpoint', 'http://127.0.0.1:9', '--timeout', '2'],
      c.io,
    );
    expect(code).toBe(1);
    expect(c.err()).toMatch(/dbcreds rotate: /);
  });
});

import { afterEach, describe, expect, it, vi } from 'vitest';
import { probeMysql, runCli } from '../src/index.js';

afterEach(() => {
  vi.unstubAllEnvs();
});

async function demo(argv: string[]) {
  const out: string[] = [];
  const io = { stdout: { write: (s: string) => out.push(s) }, stderr: { write: (s: string) => out.push(s) } };
  const code = await runCli(['demo', '--plain', ...argv], io);
  return { code, text: out.join('') };
}

describe('dbcreds demo (real embedded PostgreSQL, local Secrets Manager, RotateSecret)', () => {
  it('auto: knex on PostgreSQL, then MariaDB, one single-user and one alternating-users rotation each: one summary, exit 0', async () => {
    const { code, text } = await demo(['--rotations', '1', '--duration', '3', '--interval', '1', '--workers', '4']);
    expect(text).toMatch(/engines: postgres, then mysql/);
    expect(text).toMatch(/^ +postgres +mysql$/m);
    expect(text).toMatch(/library \/ engine +knex \/ postgres +knex \/ mysql\n/);
    expect(text).toMatch(/queries failed +0 +0\n/);
    expect(text).toMatch(
      /rotations +2\/2 \(single-user 1, alternating-users 1\) +2\/2 \(single-user 1, alternating-users 1\)/,
    );
    expect(text).toMatch(/old password rejected +1\/1 single-user rotations +1\/1 /);
    expect(text).toMatch(/proof: the old password of \S+ is rejected by the server \(28P01\)/);
    expect(text).toMatch(
      /proof: the old password of \S+ is rejected by the server \(ER_ACCESS_DENIED_ERROR \(1045\)\)/,
    );
    const ok = /queries ok +(\d+) +(\d+)/.exec(text);
    expect(Number(ok?.[1])).toBeGreaterThan(50);
    expect(Number(ok?.[2])).toBeGreaterThan(50);
    // One fetch at start, then at most two per rotation that bites (AWSCURRENT, then AWSPENDING).
    const gets = /GetSecretValue \(app\) +(\d+) +(\d+)/.exec(text);
    expect(Number(gets?.[1])).toBeLessThanOrEqual(5);
    expect(Number(gets?.[2])).toBeLessThanOrEqual(5);
    // The rotations bit: connections were refused and recovered, once inside the setSecret→finishSecret window.
    expect(Number(/auth-error refreshes +(\d+)/.exec(text)?.[1])).toBeGreaterThanOrEqual(1);
    expect(Number(/AWSPENDING fallbacks +(\d+)/.exec(text)?.[1])).toBeGreaterThanOrEqual(1);
    expect(text).toMatch(/result +PASS +PASS\n/);
    expect(text).toMatch(/overall +PASS in \d+\.\ds\n/);
    expect(code).toBe(0);
  });

  it('2 per strategy (2 single-user + 2 alternating-users): the second single-user window is survived too; auto skips an unreachable MariaDB', async () => {
    // The app holds the AWSPENDING fallback of rotation 1 (promoted by finishSecret) when rotation 2
    // changes the password again: the source must try the new AWSPENDING, not stop at AWSCURRENT.
    vi.stubEnv('DBCREDS_MYSQL_PORT', '9'); // nothing listens there: auto runs PostgreSQL only
    const { code, text } = await demo(['--rotations', '2', '--duration', '3', '--interval', '1', '--workers', '4']);
    expect(text).toMatch(
      /^MariaDB not reachable at 127\.0\.0\.1:9 \(as root\): .*ECONNREFUSED.*: skipping \(use --engine mysql to require it\)\n/,
    );
    expect(text).toMatch(/^ +postgres$/m);
    expect(text).toMatch(/rotations +4\/4 \(single-user 2, alternating-users 2\)\n/);
    expect(text).toMatch(/old password rejected +2\/2/);
    expect(text).toMatch(/queries failed +0\n/);
    expect(Number(/AWSPENDING fallbacks +(\d+)/.exec(text)?.[1])).toBeGreaterThanOrEqual(2);
    expect(text).toMatch(/overall +PASS in .*\(mysql skipped: MariaDB not reachable at 127\.0\.0\.1:9 \(as root\)\)/);
    expect(code).toBe(0);
  });
});

// prisma: the generated client (scripts/setup.sh generates it before the build).
describe.each(['prisma', 'sequelize', 'drizzle', 'kysely'])('--orm %s', (orm) => {
  it('one rotation per strategy on PostgreSQL: exit 0, zero failed queries', async () => {
    const { code, text } = await demo([
      '--orm',
      orm,
      '--engine',
      'postgres',
      '--rotations',
      '1',
      '--duration',
      '2',
      '--interval',
      '1',
    ]);
    expect(text).toMatch(new RegExp(`library / engine +${orm} / postgres`));
    expect(text).toMatch(/rotations +2\/2 \(single-user 1, alternating-users 1\)/);
    expect(text).toMatch(/old password rejected +1\/1/);
    expect(text).toMatch(/queries failed +0\n/);
    expect(Number(/queries ok +(\d+)/.exec(text)?.[1])).toBeGreaterThan(50);
    expect(Number(/GetSecretValue \(app\) +(\d+)/.exec(text)?.[1])).toBeLessThanOrEqual(5);
    expect(code).toBe(0);
  });
});

describe('--engine mysql requires the server; probeMysql', () => {
  it('--engine mysql with MariaDB unreachable fails fast with exit 1 and a clear message', async () => {
    vi.stubEnv('DBCREDS_MYSQL_PORT', '9');
    const started = Date.now();
    const { code, text } = await demo(['--engine', 'mysql']);
    expect(text).toMatch(/^MariaDB\/MySQL not reachable at 127\.0\.0\.1:9 \(as root\): .*ECONNREFUSED/);
    expect(text).not.toMatch(/queries ok/);
    expect(code).toBe(1);
    expect(Date.now() - started).toBeLessThan(20_000); // a hang guard: ECONNREFUSED comes at once (~0.3 s)
  });

  it('probeMysql: null for the running MariaDB, the reason for a bad password (never the password)', async () => {
    expect(await probeMysql()).toBeNull();
    const why = await probeMysql({
      engine: 'mysql',
      host: '127.0.0.1',
      port: 3306,
      database: 'mysql',
      adminUser: 'dbcreds_no_such_user',
      adminPassword: 'not-the-password-xyz',
    });
    expect(why).toMatch(/Access denied/);
    expect(why).not.toContain('not-the-password-xyz');
  });
});

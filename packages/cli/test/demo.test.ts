import { describe, expect, it } from 'vitest';
import { runCli } from '../src/index.js';

async function demo(argv: string[]) {
  const out: string[] = [];
  const io = { stdout: { write: (s: string) => out.push(s) }, stderr: { write: (s: string) => out.push(s) } };
  const code = await runCli(['demo', '--plain', ...argv], io);
  return { code, text: out.join('') };
}

describe('dbcreds demo (real embedded PostgreSQL, local Secrets Manager, RotateSecret)', () => {
  it('knex under load through a single-user and an alternating-users rotation: exit 0, zero failed queries', async () => {
    const { code, text } = await demo(['--rotations', '1', '--duration', '3', '--interval', '1', '--workers', '4']);
    expect(text).toMatch(/queries failed +0\n/);
    expect(text).toMatch(/rotations +2\/2 \(single-user 1, alternating-users 1\)/);
    expect(text).toMatch(/old password rejected +1\/1/);
    expect(text).toMatch(/proof: the old password of \S+ is rejected by the server \(28P01\)/);
    const ok = Number(/queries ok +(\d+)/.exec(text)?.[1]);
    expect(ok).toBeGreaterThan(50);
    // One fetch at start, then at most two per rotation that bites (AWSCURRENT, then AWSPENDING).
    expect(Number(/GetSecretValue \(app\) +(\d+)/.exec(text)?.[1])).toBeLessThanOrEqual(5);
    // The rotations bit: connections were refused and recovered, once inside the setSecret→finishSecret window.
    expect(Number(/auth-error refreshes +(\d+)/.exec(text)?.[1])).toBeGreaterThanOrEqual(1);
    expect(Number(/AWSPENDING fallbacks +(\d+)/.exec(text)?.[1])).toBeGreaterThanOrEqual(1);
    expect(text).toMatch(/result +PASS/);
    expect(code).toBe(0);
  });

  it('2 per strategy (2 single-user + 2 alternating-users): the second single-user window is survived too', async () => {
    // The app holds the AWSPENDING fallback of rotation 1 (promoted by finishSecret) when rotation 2
    // changes the password again: the source must try the new AWSPENDING, not stop at AWSCURRENT.
    const { code, text } = await demo(['--rotations', '2', '--duration', '3', '--interval', '1', '--workers', '4']);
    expect(text).toMatch(/rotations +4\/4 \(single-user 2, alternating-users 2\)/);
    expect(text).toMatch(/old password rejected +2\/2/);
    expect(text).toMatch(/queries failed +0\n/);
    expect(Number(/AWSPENDING fallbacks +(\d+)/.exec(text)?.[1])).toBeGreaterThanOrEqual(2);
    expect(code).toBe(0);
  });

  it('prisma (committed generated client) through one rotation per strategy: exit 0, zero failed queries', async () => {
    const { code, text } = await demo(['--orm', 'prisma', '--rotations', '1', '--duration', '2', '--interval', '1']);
    expect(text).toMatch(/library \/ engine +prisma \/ postgres/);
    expect(text).toMatch(/rotations +2\/2 \(single-user 1, alternating-users 1\)/);
    expect(text).toMatch(/old password rejected +1\/1/);
    expect(text).toMatch(/queries failed +0\n/);
    expect(Number(/queries ok +(\d+)/.exec(text)?.[1])).toBeGreaterThan(50);
    expect(Number(/GetSecretValue \(app\) +(\d+)/.exec(text)?.[1])).toBeLessThanOrEqual(5);
    expect(code).toBe(0);
  });
});

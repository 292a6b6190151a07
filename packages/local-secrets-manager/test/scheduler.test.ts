import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CreateSecretCommand,
  DescribeSecretCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
  RotateSecretCommand,
} from '@aws-sdk/client-secrets-manager';
import { afterEach, describe, expect, it } from 'vitest';
import type { LocalSecretsManagerOptions } from '../src/index.js';
import { parseRotationRules } from '../src/schedule.js';
import { createFakeRotator, type FakeRotator } from './fake-rotator.js';
import { type Harness, startHarness, uniqueName } from './helpers.js';

const LAMBDA = 'arn:aws:lambda:us-east-1:000000000000:function:sched-rotator';
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const T0 = Date.UTC(2026, 4, 4, 10, 30, 0); // Monday 2026-05-04 10:30 UTC

let now = T0;
const open: Harness[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((x) => x.close()));
});

async function setup(
  options: LocalSecretsManagerOptions = {},
): Promise<{ h: Harness; fake: FakeRotator; name: string }> {
  now = T0;
  const h = await startHarness({ clock: () => now, schedulerIntervalMs: 0, ...options });
  open.push(h);
  const fake = createFakeRotator(h.client);
  h.sm.registerRotator(LAMBDA, fake.handler);
  const name = uniqueName('sched');
  await h.client.send(
    new CreateSecretCommand({ Name: name, SecretString: JSON.stringify({ username: 'u', password: 'p0' }) }),
  );
  return { h, fake, name };
}

const next = async (h: Harness, name: string) =>
  (await h.client.send(new DescribeSecretCommand({ SecretId: name }))).NextRotationDate?.getTime();

describe('scheduled rotation (injected clock + runDueRotations)', () => {
  it('rate(4 hours): rotates when the window opens, then schedules the next one', async () => {
    const { h, fake, name } = await setup();
    await h.client.send(
      new RotateSecretCommand({
        SecretId: name,
        RotationLambdaARN: LAMBDA,
        RotationRules: { ScheduleExpression: 'rate(4 hours)' },
      }),
    );
    expect(fake.events).toHaveLength(4); // RotateImmediately defaults to true
    expect(await next(h, name)).toBe(Date.UTC(2026, 4, 4, 14));

    now = Date.UTC(2026, 4, 4, 13, 59, 59);
    expect(await h.sm.runDueRotations()).toEqual([]);
    now = Date.UTC(2026, 4, 4, 14, 0, 0);
    const [result, ...rest] = await h.sm.runDueRotations();
    expect(rest).toEqual([]);
    expect(result).toMatchObject({ ok: true });
    const cur = await h.client.send(new GetSecretValueCommand({ SecretId: name }));
    expect(cur.VersionId).toBe(result!.versionId);
    const d = await h.client.send(new DescribeSecretCommand({ SecretId: name }));
    expect(d.LastRotatedDate?.getTime()).toBe(now);
    expect(d.NextRotationDate?.getTime()).toBe(Date.UTC(2026, 4, 4, 18));
    expect(await h.sm.runDueRotations()).toEqual([]); // not twice in one window
  });

  it('cron(0 4/12 * * ? *) fires at 04:00 and 16:00 UTC', async () => {
    const { h, name } = await setup();
    await h.client.send(
      new RotateSecretCommand({
        SecretId: name,
        RotationLambdaARN: LAMBDA,
        RotateImmediately: false,
        RotationRules: { ScheduleExpression: 'cron(0 4/12 * * ? *)', Duration: '2h' },
      }),
    );
    expect(await next(h, name)).toBe(Date.UTC(2026, 4, 4, 16));
    now = Date.UTC(2026, 4, 4, 16, 5);
    expect(await h.sm.runDueRotations()).toMatchObject([{ ok: true }]);
    expect(await next(h, name)).toBe(Date.UTC(2026, 4, 5, 4));
  });

  it('AutomaticallyAfterDays counts from the last change of AWSCURRENT (a manual put counts as a rotation)', async () => {
    const { h, name } = await setup();
    await h.client.send(
      new RotateSecretCommand({
        SecretId: name,
        RotationLambdaARN: LAMBDA,
        RotationRules: { AutomaticallyAfterDays: 2 },
      }),
    );
    expect(await next(h, name)).toBe(Date.UTC(2026, 4, 6));
    now = Date.UTC(2026, 4, 5, 12);
    await h.client.send(
      new PutSecretValueCommand({
        SecretId: name,
        SecretString: JSON.stringify({ username: 'u', password: 'manual' }),
      }),
    );
    expect(await next(h, name)).toBe(Date.UTC(2026, 4, 7));
    now = Date.UTC(2026, 4, 6, 1);
    expect(await h.sm.runDueRotations()).toEqual([]);
  });

  it('backs off after a failed scheduled rotation, then resumes the same pending version', async () => {
    const { h, fake, name } = await setup();
    await h.client.send(
      new RotateSecretCommand({
        SecretId: name,
        RotationLambdaARN: LAMBDA,
        RotateImmediately: false,
        RotationRules: { ScheduleExpression: 'rate(6 hours)' },
      }),
    );
    fake.failAt.add('setSecret');
    now = Date.UTC(2026, 4, 4, 16);
    const [failed] = await h.sm.runDueRotations();
    expect(failed).toMatchObject({ ok: false, error: { step: 'setSecret' } });
    expect(h.sm.lastRotationError(name)?.versionId).toBe(failed!.versionId);
    now += 30 * 60_000;
    expect(await h.sm.runDueRotations()).toEqual([]); // backing off (min(interval, 1 h))
    fake.failAt.clear();
    now += 30 * 60_000;
    const [retried] = await h.sm.runDueRotations();
    expect(retried).toMatchObject({ ok: true, versionId: failed!.versionId });
    expect((await h.client.send(new GetSecretValueCommand({ SecretId: name }))).VersionId).toBe(failed!.versionId);
    expect(h.sm.lastRotationError(name)).toBeUndefined();
  });

  it('reports a throwing rotator in the results', async () => {
    const { h, name } = await setup();
    await h.client.send(
      new RotateSecretCommand({
        SecretId: name,
        RotationLambdaARN: LAMBDA,
        RotateImmediately: false,
        RotationRules: { AutomaticallyAfterDays: 1 },
      }),
    );
    h.sm.registerRotator(LAMBDA, async () => {
      throw new Error('boom');
    });
    now += 2 * DAY;
    const [r] = await h.sm.runDueRotations();
    expect(r).toMatchObject({ ok: false, error: { step: 'createSecret', message: 'boom' } });
  });

  it('keeps the rotation configuration in the state file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lsm-rot-'));
    try {
      const stateFile = join(dir, 'state.json');
      const { h, name } = await setup({ stateFile });
      await h.client.send(
        new RotateSecretCommand({
          SecretId: name,
          RotationLambdaARN: LAMBDA,
          RotationRules: { ScheduleExpression: 'rate(5 days)' },
        }),
      );
      const before = await h.client.send(new DescribeSecretCommand({ SecretId: name }));
      await h.close();
      open.splice(open.indexOf(h), 1);
      const again = await startHarness({ stateFile, clock: () => now, schedulerIntervalMs: 0 });
      open.push(again);
      const after = await again.client.send(new DescribeSecretCommand({ SecretId: name }));
      expect(after).toMatchObject({
        RotationEnabled: true,
        RotationLambdaARN: LAMBDA,
        RotationRules: { ScheduleExpression: 'rate(5 days)' },
        LastRotatedDate: before.LastRotatedDate,
        NextRotationDate: before.NextRotationDate,
      });
      // Rotators are code, not state: due rotations fail with an 'invoke' error until one is registered.
      now = before.NextRotationDate!.getTime();
      expect(await again.sm.runDueRotations()).toMatchObject([{ ok: false, error: { step: 'invoke' } }]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('allowShortRotationIntervals (development only)', () => {
  it('rotates every second with the built-in timer and the real clock', async () => {
    const h = await startHarness({ allowShortRotationIntervals: true, schedulerIntervalMs: 50 });
    open.push(h);
    const fake = createFakeRotator(h.client);
    h.sm.registerRotator(LAMBDA, fake.handler);
    const name = uniqueName('short');
    await h.client.send(new CreateSecretCommand({ Name: name, SecretString: '{"password":"p0"}' }));
    await h.client.send(
      new RotateSecretCommand({
        SecretId: name,
        RotationLambdaARN: LAMBDA,
        RotateImmediately: false,
        RotationRules: { ScheduleExpression: 'rate(1 seconds)' },
      }),
    );
    // A hang guard (the two scheduled runs take about 2 s): 10 s was 5×, too close on a loaded machine.
    const deadline = Date.now() + 30_000;
    while (h.sm.rotationStats().succeeded < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    // 1 test-only run (RotateImmediately=false) + 2 scheduled rotations.
    expect(h.sm.rotationStats().succeeded).toBeGreaterThanOrEqual(3);
    expect(fake.setPasswords.length).toBeGreaterThanOrEqual(2);
    expect(new Set(fake.setPasswords).size).toBe(fake.setPasswords.length);
  });
});

describe('parseRotationRules', () => {
  const strict = { allowShortRotationIntervals: false };
  const at = (iso: string) => Date.parse(iso);
  it.each([
    [{ ScheduleExpression: 'rate(4 hours)' }, '2026-05-04T10:30:00Z', '2026-05-04T14:00:00Z', HOUR],
    [{ ScheduleExpression: 'rate(2 days)', Duration: '3h' }, '2026-05-04T10:30:00Z', '2026-05-06T00:00:00Z', 3 * HOUR],
    [{ AutomaticallyAfterDays: 30 }, '2026-05-04T10:30:00Z', '2026-06-03T00:00:00Z', DAY],
    [{ ScheduleExpression: 'cron(0 4/12 * * ? *)' }, '2026-05-04T04:00:00Z', '2026-05-04T16:00:00Z', HOUR],
    [{ ScheduleExpression: 'cron(0 8 ? * MON-FRI *)' }, '2026-05-08T09:00:00Z', '2026-05-11T08:00:00Z', 16 * HOUR],
    [{ ScheduleExpression: 'cron(0 10 ? * TUE#2 *)' }, '2026-05-04T10:30:00Z', '2026-05-12T10:00:00Z', 14 * HOUR],
    [{ ScheduleExpression: 'cron(0 0 L * ? *)' }, '2026-02-01T00:00:00Z', '2026-02-28T00:00:00Z', DAY],
    [{ ScheduleExpression: 'cron(0 6 ? * 6L *)' }, '2026-05-04T10:30:00Z', '2026-05-29T06:00:00Z', 18 * HOUR],
    [{ ScheduleExpression: 'cron(0 3 15W * ? *)' }, '2026-08-01T00:00:00Z', '2026-08-14T03:00:00Z', 21 * HOUR],
  ])('%j after %s → %s', (rules, base, expected, windowMs) => {
    const s = parseRotationRules(rules, strict)!;
    expect(new Date(s.next(at(base))).toISOString()).toBe(new Date(at(expected)).toISOString());
    expect(s.windowMs).toBe(windowMs);
  });

  it('short intervals only when allowed', () => {
    const short = { allowShortRotationIntervals: true };
    expect(parseRotationRules({ ScheduleExpression: 'rate(10 seconds)' }, short)!.next(1000)).toBe(11_000);
    expect(parseRotationRules({ ScheduleExpression: 'rate(1 minutes)' }, short)!.intervalMs).toBe(60_000);
    expect(
      parseRotationRules({ ScheduleExpression: 'cron(*/5 * * * ? *)' }, short)!.next(at('2026-05-04T10:31:00Z')),
    ).toBe(at('2026-05-04T10:35:00Z'));
    expect(() => parseRotationRules({ ScheduleExpression: 'rate(1 minutes)' }, strict)).toThrow(/4 hours/);
    expect(parseRotationRules({}, strict)).toBeUndefined();
  });
});

import {
  CancelRotateSecretCommand,
  CreateSecretCommand,
  DescribeSecretCommand,
  GetSecretValueCommand,
  RotateSecretCommand,
} from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createFakeRotator, type FakeRotator } from './fake-rotator.js';
import { type Harness, rawRequest, startHarness, token, uniqueName } from './helpers.js';

const LAMBDA = 'arn:aws:lambda:us-east-1:000000000000:function:fake-rotator';
const T0 = Date.UTC(2026, 2, 10, 10, 30, 0); // 10:30 UTC
let now = T0;
let h: Harness;
let rotator: FakeRotator;

beforeAll(async () => {
  h = await startHarness({ clock: () => now, schedulerIntervalMs: 0 });
});
afterAll(async () => {
  await h.close();
});
beforeEach(() => {
  now = T0;
  rotator = createFakeRotator(h.client);
  h.sm.registerRotator(LAMBDA, rotator.handler);
});

async function createDbSecret(): Promise<{ name: string; arn: string; v1: string }> {
  const name = uniqueName('rot');
  const v1 = token('v1');
  const out = await h.client.send(
    new CreateSecretCommand({
      Name: name,
      ClientRequestToken: v1,
      SecretString: JSON.stringify({ username: 'app', password: 'old' }),
    }),
  );
  return { name, arn: out.ARN!, v1 };
}

const stagesOf = async (id: string) =>
  Object.fromEntries(
    Object.entries((await h.client.send(new DescribeSecretCommand({ SecretId: id }))).VersionIdsToStages ?? {}).map(
      ([k, v]) => [k, [...v].sort()],
    ),
  );
const password = async (id: string, stage = 'AWSCURRENT') =>
  JSON.parse((await h.client.send(new GetSecretValueCommand({ SecretId: id, VersionStage: stage }))).SecretString!)
    .password;

describe('RotateSecret with an in-process rotator', () => {
  it('registers AWSPENDING without a value, runs the four steps in order, and moves the labels', async () => {
    const { name, arn, v1 } = await createDbSecret();
    const v2 = token('v2');
    const out = await h.client.send(
      new RotateSecretCommand({
        SecretId: name,
        ClientRequestToken: v2,
        RotationLambdaARN: LAMBDA,
        RotationRules: { AutomaticallyAfterDays: 7 },
      }),
    );
    expect(out).toMatchObject({ ARN: arn, Name: name, VersionId: v2 });
    expect(rotator.events.map((e) => e.Step)).toEqual(['createSecret', 'setSecret', 'testSecret', 'finishSecret']);
    for (const e of rotator.events) {
      expect(e).toEqual({
        Step: e.Step,
        SecretId: arn,
        ClientRequestToken: v2,
        RotationToken: rotator.events[0]!.RotationToken,
      });
    }
    expect(rotator.events[0]!.RotationToken).toMatch(/^[0-9a-f-]{36}$/);
    // createSecret's probe of the pending version found nothing, as recorded on AWS.
    expect(rotator.pendingProbes).toEqual(['ResourceNotFoundException']);
    expect(await stagesOf(name)).toEqual({ [v1]: ['AWSPREVIOUS'], [v2]: ['AWSCURRENT', 'AWSPENDING'] });
    expect(await password(name)).toBe(rotator.setPasswords[0]);
    expect(await password(name, 'AWSPREVIOUS')).toBe('old');

    const d = await h.client.send(new DescribeSecretCommand({ SecretId: name }));
    expect(d).toMatchObject({
      RotationEnabled: true,
      RotationLambdaARN: LAMBDA,
      RotationRules: { AutomaticallyAfterDays: 7 },
    });
    expect(d.LastRotatedDate?.getTime()).toBe(T0);
    expect(d.NextRotationDate?.getTime()).toBe(Date.UTC(2026, 2, 17)); // midnight UTC, 7 days on
    expect(h.sm.lastRotationError(name)).toBeUndefined();

    // A second rotation: AWSPENDING leaves the current version for the new one, v1 becomes deprecated.
    const second = await h.client.send(new RotateSecretCommand({ SecretId: arn }));
    expect(second.VersionId).toMatch(/^[0-9a-f-]{36}$/);
    expect(await stagesOf(name)).toEqual({ [v2]: ['AWSPREVIOUS'], [second.VersionId!]: ['AWSCURRENT', 'AWSPENDING'] });
    expect(rotator.events).toHaveLength(8);
  });

  it('repeating a finished rotation token is a no-op', async () => {
    const { name } = await createDbSecret();
    const v2 = token('again');
    await h.client.send(new RotateSecretCommand({ SecretId: name, ClientRequestToken: v2, RotationLambdaARN: LAMBDA }));
    const before = rotator.events.length;
    const again = await h.client.send(new RotateSecretCommand({ SecretId: name, ClientRequestToken: v2 }));
    expect(again.VersionId).toBe(v2);
    expect(rotator.events).toHaveLength(before);
  });

  it('stops at the first failed step, leaves AWSPENDING, and a later RotateSecret resumes it', async () => {
    const { name, v1 } = await createDbSecret();
    const stats0 = h.sm.rotationStats();
    rotator.failAt.add('testSecret');
    const v2 = token('fail');
    const out = await h.client.send(
      new RotateSecretCommand({ SecretId: name, ClientRequestToken: v2, RotationLambdaARN: LAMBDA }),
    );
    expect(out.VersionId).toBe(v2); // like AWS, the call itself succeeds
    expect(rotator.events.map((e) => e.Step)).toEqual(['createSecret', 'setSecret', 'testSecret']);
    expect(await stagesOf(name)).toEqual({ [v1]: ['AWSCURRENT'], [v2]: ['AWSPENDING'] });
    expect(await password(name)).toBe('old');
    expect(h.sm.lastRotationError(name)).toMatchObject({
      step: 'testSecret',
      versionId: v2,
      message: 'testSecret failed (injected)',
    });
    const stats1 = h.sm.rotationStats();
    expect(stats1.failed - stats0.failed).toBe(1);
    const d = await h.client.send(new DescribeSecretCommand({ SecretId: name }));
    expect(d.LastRotatedDate).toBeUndefined();

    // AWS: a further RotateSecret answers InvalidRequestException and reattempts the unfinished rotation
    // (its own token, all steps), whatever the reattempt's outcome. Still failing: it fails again.
    rotator.events.length = 0;
    const previousNotComplete = {
      name: 'InvalidRequestException',
      message: "A previous rotation isn't complete. That rotation will be reattempted.",
    };
    await expect(h.client.send(new RotateSecretCommand({ SecretId: name }))).rejects.toMatchObject(previousNotComplete);
    expect(rotator.events.map((e) => [e.Step, e.ClientRequestToken])).toEqual([
      ['createSecret', v2],
      ['setSecret', v2],
      ['testSecret', v2],
    ]);
    expect(h.sm.rotationStats().failed - stats1.failed).toBe(1);
    expect(await stagesOf(name)).toEqual({ [v1]: ['AWSCURRENT'], [v2]: ['AWSPENDING'] });

    // Fixed: the same answer, and the reattempt (with its own token) completes the rotation.
    rotator.failAt.clear();
    rotator.events.length = 0;
    await expect(
      h.client.send(new RotateSecretCommand({ SecretId: name, ClientRequestToken: token('another') })),
    ).rejects.toMatchObject(previousNotComplete);
    expect(rotator.events.map((e) => [e.Step, e.ClientRequestToken])).toEqual([
      ['createSecret', v2],
      ['setSecret', v2],
      ['testSecret', v2],
      ['finishSecret', v2],
    ]);
    expect(rotator.pendingProbes.at(-1)).toBe('found'); // createSecret reused the pending value
    expect(await stagesOf(name)).toEqual({ [v1]: ['AWSPREVIOUS'], [v2]: ['AWSCURRENT', 'AWSPENDING'] });
    expect(h.sm.lastRotationError(name)).toBeUndefined();
  });

  it('RotateImmediately=false runs only testSecret on a copy of the current value, then drops AWSPENDING', async () => {
    const { name, v1 } = await createDbSecret();
    const pendingSeen: string[] = [];
    rotator.beforeStep = async (e) => {
      const v = await h.client.send(new GetSecretValueCommand({ SecretId: e.SecretId, VersionStage: 'AWSPENDING' }));
      pendingSeen.push(v.SecretString!);
    };
    const out = await h.client.send(
      new RotateSecretCommand({
        SecretId: name,
        RotationLambdaARN: LAMBDA,
        RotateImmediately: false,
        RotationRules: { ScheduleExpression: 'rate(4 hours)' },
      }),
    );
    expect(rotator.events.map((e) => e.Step)).toEqual(['testSecret']);
    expect(pendingSeen).toEqual([JSON.stringify({ username: 'app', password: 'old' })]);
    expect(await stagesOf(name)).toEqual({ [v1]: ['AWSCURRENT'] });
    expect(out.VersionId).not.toBe(v1);
    const d = await h.client.send(new DescribeSecretCommand({ SecretId: name }));
    expect(d.RotationEnabled).toBe(true);
    expect(d.LastRotatedDate).toBeUndefined();
    expect(d.NextRotationDate?.getTime()).toBe(Date.UTC(2026, 2, 10, 14)); // 10:00 + 4 h
  });

  it('fails a step that outlives rotationStepTimeoutMs', async () => {
    const slow = await startHarness({ rotationStepTimeoutMs: 100, schedulerIntervalMs: 0 });
    try {
      slow.sm.registerRotator(LAMBDA, () => new Promise<void>(() => {}));
      const name = uniqueName('slow');
      await slow.client.send(new CreateSecretCommand({ Name: name, SecretString: '{}' }));
      await slow.client.send(new RotateSecretCommand({ SecretId: name, RotationLambdaARN: LAMBDA }));
      expect(slow.sm.lastRotationError(name)).toMatchObject({
        step: 'createSecret',
        message: 'createSecret did not finish within 100 ms.',
      });
    } finally {
      await slow.close();
    }
  });

  it('CancelRotateSecret turns rotation off and keeps the configuration', async () => {
    const { name, arn } = await createDbSecret();
    rotator.failAt.add('setSecret');
    const out = await h.client.send(
      new RotateSecretCommand({
        SecretId: name,
        RotationLambdaARN: LAMBDA,
        RotationRules: { ScheduleExpression: 'rate(1 days)', Duration: '3h' },
      }),
    );
    const cancelled = await h.client.send(new CancelRotateSecretCommand({ SecretId: name }));
    expect(cancelled.VersionId).toBe(out.VersionId); // the unfinished pending version
    const d = await h.client.send(new DescribeSecretCommand({ SecretId: name }));
    expect(d).toMatchObject({
      RotationEnabled: false,
      RotationLambdaARN: LAMBDA,
      RotationRules: { ScheduleExpression: 'rate(1 days)', Duration: '3h' },
    });
    expect(d.NextRotationDate).toBeUndefined();
    now = T0 + 10 * 86_400_000;
    // (runDueRotations covers every secret of this shared server; look at this one only.)
    expect((await h.sm.runDueRotations()).filter((r) => r.secretArn === arn)).toEqual([]);
    await expect(
      h.client.send(new CancelRotateSecretCommand({ SecretId: (await createDbSecret()).name })),
    ).rejects.toMatchObject({
      name: 'InvalidRequestException',
    });
  });
});

describe('RotateSecret validation', () => {
  it.each([
    [
      { AutomaticallyAfterDays: 7, ScheduleExpression: 'rate(7 days)' },
      'You cannot specify both rotation frequency and schedule expression together.',
    ],
    [{ AutomaticallyAfterDays: 0 }, /AutomaticallyAfterDays/],
    [{ AutomaticallyAfterDays: 1001 }, /AutomaticallyAfterDays/],
    [{ ScheduleExpression: 'rate(3 hours)' }, /minimum rotation rate is 4 hours/],
    [{ ScheduleExpression: 'rate(10 seconds)' }, /allowShortRotationIntervals/],
    [{ ScheduleExpression: 'rate(2 weeks)' }, /unit must be hours or days/],
    [{ ScheduleExpression: 'cron(15 4 * * ? *)' }, /Minutes must be 0/],
    [{ ScheduleExpression: 'cron(0 4 * * ? 2027)' }, /Year must be \*/],
    [{ ScheduleExpression: 'cron(0 4 * * * *)' }, /one of Day-of-month and Day-of-week/],
    [{ ScheduleExpression: 'cron(0 25 * * ? *)' }, /Hours value "25"/],
    [{ ScheduleExpression: 'cron(0 4 * *)' }, /six fields/],
    [{ ScheduleExpression: 'cron(0 0 30 2 ? *)' }, /never matches/],
    [{ ScheduleExpression: 'every day' }, /Invalid ScheduleExpression/],
    [{ ScheduleExpression: 'rate(4 hours)', Duration: '5h' }, /not be longer than the interval/],
    [{ ScheduleExpression: 'cron(0 4/12 * * ? *)', Duration: '13h' }, /next rotation window/],
    [{ ScheduleExpression: 'cron(0 20 * * ? *)', Duration: '5h' }, /next UTC day/],
    [{ ScheduleExpression: 'rate(1 days)', Duration: '3 hours' }, /Duration/],
  ])('rejects %j', async (rules, message) => {
    const { name } = await createDbSecret();
    const err = await h.client
      .send(new RotateSecretCommand({ SecretId: name, RotationLambdaARN: LAMBDA, RotationRules: rules }))
      .then(
        () => undefined,
        (e: Error) => e,
      );
    expect(err).toMatchObject({ name: 'InvalidParameterException', $metadata: { httpStatusCode: 400 } });
    expect(err!.message).toMatch(message);
    // Nothing was configured or rotated.
    expect((await h.client.send(new DescribeSecretCommand({ SecretId: name }))).RotationEnabled).toBeUndefined();
    expect(rotator.events).toEqual([]);
  });

  it.each([
    ['cron(0 4/12 * * ? *)', undefined],
    ['cron(0 8 ? * MON-FRI *)', '4h'],
    ['cron(0 10 ? FEB,MAY,AUG,NOV TUE#2 *)', undefined],
    ['cron(0 0 L * ? *)', '24h'],
    ['rate(4 hours)', '4h'],
    ['rate(1000 days)', undefined],
  ])('accepts %s (Duration %s)', async (expr, duration) => {
    const { name } = await createDbSecret();
    await h.client.send(
      new RotateSecretCommand({
        SecretId: name,
        RotationLambdaARN: LAMBDA,
        RotateImmediately: false,
        RotationRules: { ScheduleExpression: expr, ...(duration ? { Duration: duration } : {}) },
      }),
    );
    const d = await h.client.send(new DescribeSecretCommand({ SecretId: name }));
    expect(d.NextRotationDate!.getTime()).toBeGreaterThan(T0);
  });

  it('needs a Lambda ARN, an invocable rotator, and (raw) a ClientRequestToken', async () => {
    const { name } = await createDbSecret();
    await expect(h.client.send(new RotateSecretCommand({ SecretId: name }))).rejects.toMatchObject({
      name: 'InvalidRequestException',
      message: 'No Lambda rotation function ARN is associated with this secret.',
    });
    await expect(
      h.client.send(new RotateSecretCommand({ SecretId: name, RotationLambdaARN: `${LAMBDA}-unregistered` })),
    ).rejects.toMatchObject({
      name: 'AccessDeniedException',
      $metadata: { httpStatusCode: 400 },
      // AWS's sentence, then the local diagnosis: the ARN, what is registered, how to register one.
      message: expect.stringMatching(
        new RegExp(
          `^Secrets Manager cannot invoke the specified Lambda function\\. .*RotationLambdaARN ${LAMBDA}-unregistered\\. Registered: ${LAMBDA}.*registerRotator\\(arn, handler\\).*dbcreds local-sm`,
        ),
      ),
    });
    const raw = await rawRequest(h.sm.endpoint, {
      target: 'secretsmanager.RotateSecret',
      body: JSON.stringify({ SecretId: name, RotationLambdaARN: LAMBDA }),
    });
    expect(raw.status).toBe(400);
    expect(raw.json()).toEqual({
      __type: 'InvalidRequestException',
      Message: 'You must provide a ClientRequestToken value. We recommend a UUID-type value.',
    });
    expect(rotator.events).toEqual([]);
  });
});

describe("rotationMode: 'async'", () => {
  it('answers before the steps run, refuses a concurrent rotation, and idle() waits', async () => {
    const a = await startHarness({ rotationMode: 'async', schedulerIntervalMs: 0 });
    try {
      const fake = createFakeRotator(a.client);
      let release!: () => void;
      const gate = new Promise<void>((r) => (release = r));
      fake.beforeStep = (e) => (e.Step === 'setSecret' ? gate : Promise.resolve());
      a.sm.registerRotator(LAMBDA, fake.handler);
      const name = uniqueName('async');
      await a.client.send(new CreateSecretCommand({ Name: name, SecretString: '{"password":"old"}' }));
      const out = await a.client.send(new RotateSecretCommand({ SecretId: name, RotationLambdaARN: LAMBDA }));
      while (fake.events.length < 2) await new Promise((r) => setTimeout(r, 5));
      expect(fake.events.map((e) => e.Step)).toEqual(['createSecret', 'setSecret']);
      await expect(a.client.send(new RotateSecretCommand({ SecretId: name }))).rejects.toMatchObject({
        name: 'InvalidRequestException',
        message: "A previous rotation isn't complete. That rotation will be reattempted.",
      });
      // The same token while it runs is idempotent.
      const same = await a.client.send(new RotateSecretCommand({ SecretId: name, ClientRequestToken: out.VersionId }));
      expect(same.VersionId).toBe(out.VersionId);
      release();
      await a.sm.idle();
      const cur = await a.client.send(new GetSecretValueCommand({ SecretId: name }));
      expect(cur.VersionId).toBe(out.VersionId);
      expect(fake.events.map((e) => e.Step)).toEqual(['createSecret', 'setSecret', 'testSecret', 'finishSecret']);
    } finally {
      await a.close();
    }
  });
});

describe("rotationMode: 'async', unfinished rotation", () => {
  it('a further RotateSecret answers InvalidRequestException at once and reattempts the unfinished version', async () => {
    const a = await startHarness({ rotationMode: 'async', schedulerIntervalMs: 0 });
    try {
      const fake = createFakeRotator(a.client);
      a.sm.registerRotator(LAMBDA, fake.handler);
      const name = uniqueName('async-stuck');
      await a.client.send(new CreateSecretCommand({ Name: name, SecretString: '{"password":"old"}' }));
      fake.failAt.add('setSecret');
      const first = await a.client.send(new RotateSecretCommand({ SecretId: name, RotationLambdaARN: LAMBDA }));
      await a.sm.idle();
      expect(a.sm.lastRotationError(name)).toMatchObject({ step: 'setSecret', versionId: first.VersionId });
      fake.failAt.clear();
      fake.events.length = 0;
      let release!: () => void;
      const gate = new Promise<void>((r) => (release = r));
      fake.beforeStep = (e) => (e.Step === 'createSecret' ? gate : Promise.resolve());
      // Answered while the reattempt is still blocked in its first step: not after it.
      await expect(a.client.send(new RotateSecretCommand({ SecretId: name }))).rejects.toMatchObject({
        name: 'InvalidRequestException',
        message: "A previous rotation isn't complete. That rotation will be reattempted.",
      });
      expect(fake.events.map((e) => [e.Step, e.ClientRequestToken])).toEqual([['createSecret', first.VersionId]]);
      release();
      await a.sm.idle();
      expect(fake.events.map((e) => e.Step)).toEqual(['createSecret', 'setSecret', 'testSecret', 'finishSecret']);
      const cur = await a.client.send(new GetSecretValueCommand({ SecretId: name }));
      expect(cur.VersionId).toBe(first.VersionId);
      // Finished: the next RotateSecret starts a new rotation normally.
      const next = await a.client.send(new RotateSecretCommand({ SecretId: name }));
      expect(next.VersionId).not.toBe(first.VersionId);
      await a.sm.idle();
      expect((await a.client.send(new GetSecretValueCommand({ SecretId: name }))).VersionId).toBe(next.VersionId);
    } finally {
      await a.close();
    }
  });
});

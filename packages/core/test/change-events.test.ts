import {
  type CredentialSource,
  changedSecretIds,
  createCredentialSource,
  invalidateOnSecretEvent,
  SECRET_CHANGE_EVENT_PATTERN,
} from '@dbcreds/core';
import { afterEach, describe, expect, it } from 'vitest';
import {
  ARN,
  getSecretValue,
  NAME,
  putSecretValue,
  rotationSucceeded,
  sqsEvent,
  updateSecretVersionStage,
} from './fixtures/secretsmanager-events.js';
import { FakeSecretsManager, manualClock, SECRET_A, SECRET_B } from './helpers/fake-sm.js';

const sources: CredentialSource[] = [];
afterEach(() => {
  for (const s of sources.splice(0)) s.close();
});

function source(secretId: string, sm = new FakeSecretsManager(), clock = manualClock()) {
  const s = createCredentialSource({ secretId, client: sm, clock, minRefreshIntervalMs: 5_000 });
  sources.push(s);
  return s;
}

describe('changedSecretIds', () => {
  it('reads the secret of each change event, whichever key carries it', () => {
    expect(changedSecretIds(putSecretValue)).toEqual([ARN]);
    expect(changedSecretIds(updateSecretVersionStage)).toEqual([ARN]); // from "aRN"
    expect(changedSecretIds(rotationSucceeded)).toEqual([ARN]); // from additionalEventData
  });

  it('ignores reads, other sources and junk', () => {
    expect(changedSecretIds(getSecretValue)).toEqual([]);
    expect(changedSecretIds({ ...rotationSucceeded, source: 'aws.rds' })).toEqual([]);
    expect(changedSecretIds(undefined)).toEqual([]);
    expect(changedSecretIds('not json')).toEqual([]);
    expect(changedSecretIds({ Records: [{ body: '{' }] })).toEqual([]);
  });

  it('unwraps SQS messages (EventBridge → SQS → Lambda) and their JSON bodies', () => {
    expect(changedSecretIds(sqsEvent(getSecretValue, rotationSucceeded))).toEqual([ARN]);
    expect(changedSecretIds(JSON.stringify(putSecretValue))).toEqual([ARN]);
  });

  it('the documented pattern matches exactly these events (EventBridge matching, simulated)', () => {
    // Prepare: EventBridge's matching for this pattern (string arrays: any of; nested objects: AND)
    const matches = (pattern: Record<string, unknown>, event: Record<string, unknown>): boolean =>
      Object.entries(pattern).every(([k, want]) =>
        Array.isArray(want)
          ? want.includes(event[k])
          : matches(want as Record<string, unknown>, (event[k] ?? {}) as Record<string, unknown>),
      );
    const p = SECRET_CHANGE_EVENT_PATTERN as unknown as Record<string, unknown>;
    expect([putSecretValue, updateSecretVersionStage, rotationSucceeded].map((e) => matches(p, e))).toEqual([
      true,
      true,
      true,
    ]);
    expect(matches(p, getSecretValue)).toBe(false);
  });
});

describe('invalidateOnSecretEvent', () => {
  it('invalidates the sources of that secret, by ARN, partial ARN or name, and no other', async () => {
    // Prepare: sources naming the secret three ways, and one for another secret
    const byArn = source(ARN);
    const byPartial = source(ARN.slice(0, -7));
    const byName = source(NAME);
    const other = source('prod/other-db');
    const similar = source('prod/app'); // a prefix of the name: must not match

    // Act
    const hit = invalidateOnSecretEvent(rotationSucceeded, [byArn, byPartial, byName, other, similar]);

    // Assess
    expect(hit).toEqual([byArn, byPartial, byName]);
    expect([byArn, byPartial, byName, other, similar].map((s) => s.stats().invalidations)).toEqual([1, 1, 1, 0, 0]);
  });

  it('end to end: an SQS batch holding a whole rotation invalidates once, and the next get() reads the new version', async () => {
    // Prepare: a cached v1 fetched a minute ago; the rotation moved AWSCURRENT to v2
    const sm = new FakeSecretsManager(ARN);
    const clock = manualClock();
    const s = source(ARN, sm, clock);
    sm.put(SECRET_A);
    await s.get();
    clock.advance(60_000);
    const v2 = sm.put(SECRET_B);

    // Act: the Lambda handler of the queue
    const handler = async (event: unknown) => void invalidateOnSecretEvent(event, s);
    await handler(sqsEvent(putSecretValue, updateSecretVersionStage, rotationSucceeded));
    const got = await s.get();

    // Assess: the batch's three events name one secret: one invalidation, one read
    expect(got.versionId).toBe(v2);
    expect(s.stats()).toMatchObject({ invalidations: 1, fetches: 2, rotations: 1 });
    expect(sm.count()).toBe(2);
  });
});

import {
  type CredentialSource,
  type CredentialSourceOptions,
  createCredentialSource,
  type RefreshedEvent,
} from '@dbcreds/core';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { AwsLikeError, deferred, FakeSecretsManager, manualClock, SECRET_A, SECRET_B } from './helpers/fake-sm.js';

const HOUR = 3_600_000;

function setup(opts: Partial<CredentialSourceOptions> = {}) {
  const sm = new FakeSecretsManager();
  const clock = manualClock();
  const source = createCredentialSource({
    secretId: sm.secretId,
    client: sm,
    clock,
    retry: { maxAttempts: 1 },
    minRefreshIntervalMs: 5_000,
    ...opts,
  });
  sources.push(source);
  const refreshed: RefreshedEvent[] = [];
  source.on('refreshed', (e) => refreshed.push(e));
  return { sm, clock, source, refreshed };
}

const sources: CredentialSource[] = [];
afterEach(() => {
  for (const s of sources.splice(0)) s.close();
  vi.restoreAllMocks();
});

describe('invalidate()', () => {
  it('makes the next get() fetch and wait for the new version (no stale-while-revalidate)', async () => {
    // Prepare: v1 cached long ago (fresh for an hour), then the secret moves to v2
    const { sm, clock, source, refreshed } = setup();
    sm.put(SECRET_A);
    await source.get();
    clock.advance(60_000);
    const v2 = sm.put(SECRET_B);
    expect((await source.get()).password).toBe(SECRET_A.password); // still cached: 1 fetch so far

    // Act
    source.invalidate();
    const after = await source.get();

    // Assess: one more fetch, the new version at once, reported as an invalidation
    expect(after.password).toBe(SECRET_B.password);
    expect(after.versionId).toBe(v2);
    expect(sm.count()).toBe(2);
    expect(refreshed.map((e) => [e.reason, e.changed])).toEqual([
      ['initial', false],
      ['invalidated', true],
    ]);
    expect(source.stats()).toMatchObject({ invalidations: 1, rotations: 1, rateLimited: 0, staleServed: 0 });
  });

  it('concurrent get()s after it share one fetch', async () => {
    const { sm, clock, source } = setup();
    sm.put(SECRET_A);
    await source.get();
    clock.advance(60_000);
    sm.put(SECRET_B);
    source.invalidate();
    const gate = deferred();
    sm.gate = gate.promise;

    const all = Promise.all([source.get(), source.get(), source.get()]);
    gate.resolve();
    const got = await all;

    expect(got.map((c) => c.password)).toEqual([SECRET_B.password, SECRET_B.password, SECRET_B.password]);
    expect(sm.count()).toBe(2);
  });

  it('is rate-limited: within minRefreshIntervalMs of the last fetch the cached value is served until the interval ends', async () => {
    const { sm, clock, source } = setup();
    sm.put(SECRET_A);
    await source.get(); // fetch 1 at t0
    clock.advance(1_000);
    sm.put(SECRET_B);

    // A burst of events (PutSecretValue, UpdateSecretVersionStage, RotationSucceeded) 1 s after a fetch
    source.invalidate();
    source.invalidate();
    source.invalidate();
    const during = await source.get();
    clock.advance(3_999); // t0 + 4_999
    const stillDuring = await source.get();
    clock.advance(1); // t0 + 5_000: the interval has passed
    const after = await source.get();
    await source.get();

    expect(during.password).toBe(SECRET_A.password);
    expect(stillDuring.password).toBe(SECRET_A.password);
    expect(after.password).toBe(SECRET_B.password);
    expect(sm.count()).toBe(2); // the burst cost one read
    expect(source.stats()).toMatchObject({ invalidations: 3, rateLimited: 3 });
  });

  it('does not start a second fetch while one is in flight, and counts what that fetch installs as outdated', async () => {
    // Prepare: a TTL reload in flight that reads v1 (before the change the event reports)
    const { sm, clock, source, refreshed } = setup({ ttlMs: 10_000, maxStaleMs: 0 });
    vi.spyOn(Math, 'random').mockReturnValue(0.5); // each read fresh for 7.5 s
    sm.put(SECRET_A);
    await source.get();
    clock.advance(10_000);
    const gate = deferred();
    sm.gate = gate.promise;
    const inFlight = source.get();
    await Promise.resolve();

    // Act: the event arrives while that read is held; the read answers v1, then the secret moves
    source.invalidate();
    const joined = source.get();
    gate.resolve();
    sm.gate = undefined;
    expect((await inFlight).password).toBe(SECRET_A.password);
    expect((await joined).password).toBe(SECRET_A.password);
    sm.put(SECRET_B);
    const beforeInterval = await source.get();
    clock.advance(5_000);
    const after = await source.get();

    // Assess: no parallel fetch; the outdated read is replaced once the rate limit allows it
    expect(beforeInterval.password).toBe(SECRET_A.password);
    expect(after.password).toBe(SECRET_B.password);
    expect(sm.count()).toBe(3);
    expect(refreshed.map((e) => e.reason)).toEqual(['initial', 'expired', 'invalidated']);
  });

  it('a failed fetch after it still serves the cached value (stale-on-error) and reports the error', async () => {
    const { sm, clock, source } = setup();
    sm.put(SECRET_A);
    await source.get();
    clock.advance(60_000);
    sm.failures.push(new AwsLikeError('InternalServiceError', 500));
    const errors: unknown[] = [];
    source.on('error', (e) => errors.push(e.error));

    source.invalidate();
    const got = await source.get();

    expect(got.password).toBe(SECRET_A.password);
    expect(errors).toHaveLength(1);
    expect(source.stats()).toMatchObject({ errors: 1, staleServed: 1 });
  });

  it('before the first get() and after close() it does nothing', async () => {
    const { sm, source } = setup();
    sm.put(SECRET_A);
    source.invalidate();
    await source.get();
    expect(sm.count()).toBe(1);
    source.close();
    expect(() => source.invalidate()).not.toThrow();
    expect(source.stats().invalidations).toBe(1);
  });

  it('a TTL expiry after an invalidated value was replaced is the usual stale-while-revalidate again', async () => {
    const { sm, clock, source } = setup({ ttlMs: HOUR });
    vi.spyOn(Math, 'random').mockReturnValue(0);
    sm.put(SECRET_A);
    await source.get();
    clock.advance(60_000);
    source.invalidate();
    await source.get(); // fetch 2, a fresh entry
    clock.advance(HOUR / 2);
    sm.put(SECRET_B);

    const served = await source.get(); // expired: served stale at once, refreshed in the background

    expect(served.password).toBe(SECRET_A.password);
    expect(source.stats().staleServed).toBe(1);
  });
});

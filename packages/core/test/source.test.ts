import { type GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import {
  type CredentialSource,
  type CredentialSourceOptions,
  createCredentialSource,
  type ErrorEvent,
  type FallbackEvent,
  type RefreshedEvent,
  type RotatedEvent,
  SecretFetchError,
  SecretFormatError,
  SecretNotFoundError,
  SourceClosedError,
} from '@dbcreds/core';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  AwsLikeError,
  connRefused,
  deferred,
  FakeSecretsManager,
  manualClock,
  SECRET_A,
  SECRET_B,
  SECRET_C,
} from './helpers/fake-sm.js';

const HOUR = 3_600_000;

/** Lets a stale-while-revalidate background fetch (fake SM: settles within a few ticks) finish. */
const settle = () => new Promise<void>((r) => setTimeout(r, 0));

function setup(opts: Partial<CredentialSourceOptions> = {}) {
  const sm = new FakeSecretsManager();
  const clock = manualClock();
  const source = createCredentialSource({
    secretId: sm.secretId,
    client: sm,
    clock,
    retry: { baseDelayMs: 1, maxDelayMs: 1 },
    // These cases pin one refresh; waiting for out-of-band changes has its own tests.
    awaitRotationMs: 0,
    ...opts,
  });
  sources.push(source);
  return { sm, clock, source };
}

const sources: CredentialSource[] = [];
afterEach(() => {
  for (const s of sources.splice(0)) s.close();
  vi.restoreAllMocks();
  vi.useRealTimers();
});

describe('cache and TTL', () => {
  it('fetches once, then serves hits until the jittered expiry (default TTL 1 h)', async () => {
    const { sm, clock, source } = setup();
    sm.put(SECRET_A);
    vi.spyOn(Math, 'random').mockReturnValue(0); // expiry at ttl/2

    const first = await source.get();
    const second = await source.get();
    clock.advance(HOUR / 2 - 1);
    await source.get();

    expect(first.password).toBe(SECRET_A.password);
    expect(second).toBe(first);
    expect(sm.count()).toBe(1);
    expect(source.stats()).toMatchObject({ hits: 2, misses: 1, fetches: 1 });

    clock.advance(1);
    await source.get();
    expect(sm.count()).toBe(2);
  });

  it('expires at a point in [ttl/2, ttl] chosen per fetch', async () => {
    const { sm, clock, source } = setup({ ttlMs: 1000 });
    sm.put(SECRET_A);
    const random = vi.spyOn(Math, 'random').mockReturnValue(0.999);

    await source.get();
    const fetchedAt = clock.now();
    expect(source.stats().expiresAt).toBeCloseTo(fetchedAt + 999.5, 5);
    clock.advance(999);
    await source.get();
    expect(sm.count()).toBe(1);
    clock.advance(1);
    random.mockReturnValue(0.5);
    await source.get(); // expired: served at once, refetched in the background
    expect(sm.count()).toBe(2);
    await settle();
    expect(source.stats().expiresAt).toBe(clock.now() + 750);
  });

  it('ttlMs: 0 fetches on every get()', async () => {
    const { sm, source } = setup({ ttlMs: 0 });
    sm.put(SECRET_A);
    await source.get();
    await source.get();
    await source.get();
    expect(sm.count()).toBe(3);
  });

  it('keeps one secret in memory: a new version replaces the old one', async () => {
    const { sm, clock, source } = setup({ ttlMs: 10 });
    sm.put(SECRET_A);
    await source.get();
    const v2 = sm.put(SECRET_B);
    clock.advance(10);
    await source.get(); // served stale at once; the background fetch installs v2
    await settle();
    const c = await source.get();
    expect(c.versionId).toBe(v2);
    expect(source.stats()).toMatchObject({ versionId: v2, stage: 'AWSCURRENT', rotations: 1 });
  });
});

describe('single-flight', () => {
  it('100 concurrent cold get() calls share one GetSecretValue', async () => {
    const { sm, source } = setup();
    sm.put(SECRET_A);
    const gate = deferred();
    sm.gate = gate.promise;
    const all = Array.from({ length: 100 }, () => source.get());
    gate.resolve();
    const results = await Promise.all(all);
    expect(sm.count()).toBe(1);
    expect(new Set(results).size).toBe(1);
  });

  it('1,000 concurrent refresh(rejected) share one GetSecretValue when AWSCURRENT moved', async () => {
    const { sm, source } = setup();
    sm.put(SECRET_A);
    const old = await source.get();
    const v2 = sm.put(SECRET_B);
    const before = sm.count();

    const results = await Promise.all(Array.from({ length: 1000 }, () => source.refresh(old)));

    expect(sm.count() - before).toBe(1);
    expect(results.every((c) => c.versionId === v2 && c.stage === 'AWSCURRENT')).toBe(true);
  });

  it('1,000 concurrent refresh(rejected) make two calls (AWSCURRENT + AWSPENDING) in the rotation window', async () => {
    const { sm, source } = setup();
    sm.put(SECRET_A);
    const old = await source.get();
    const pending = sm.put(SECRET_B, ['AWSPENDING']);
    const before = sm.count();

    const results = await Promise.all(Array.from({ length: 1000 }, () => source.refresh(old)));

    expect(sm.count() - before).toBe(2);
    expect(sm.count('AWSPENDING')).toBe(1);
    expect(results.every((c) => c.versionId === pending && c.stage === 'AWSPENDING')).toBe(true);
    expect(source.stats().fallbacks).toBe(1);
  });

  it('a refresh() arriving while a TTL reload is in flight joins it', async () => {
    const { sm, clock, source } = setup({ ttlMs: 100 });
    sm.put(SECRET_A);
    const old = await source.get();
    const v2 = sm.put(SECRET_B);
    clock.advance(100);
    const gate = deferred();
    sm.gate = gate.promise;
    const g = source.get(); // expired: answers at once with the cached value, reload in the background
    const r = source.refresh(old);
    gate.resolve();
    expect(await g).toBe(old);
    expect((await r).versionId).toBe(v2);
    expect(sm.count()).toBe(2);
  });
});

describe('compare-and-refresh', () => {
  it('returns the cached value without calling AWS when it differs from the rejected version', async () => {
    const { sm, source } = setup();
    sm.put(SECRET_A);
    const old = await source.get();
    sm.put(SECRET_B);
    const fresh = await source.refresh(old); // 1 call
    const calls = sm.count();

    const again = await source.refresh(old);

    expect(again).toBe(fresh);
    expect(sm.count()).toBe(calls);
  });

  it('treats the same versionId at a different stage as different', async () => {
    const { sm, source } = setup();
    sm.put(SECRET_A);
    const current = await source.get();
    const pendingView = Object.assign(Object.create(Object.getPrototypeOf(current)), current);
    Object.defineProperty(pendingView, 'stage', { value: 'AWSPENDING' });
    const calls = sm.count();

    const got = await source.refresh(pendingView);

    expect(got).toBe(current);
    expect(sm.count()).toBe(calls);
  });
});

describe('rotation window (AWSPENDING fallback)', () => {
  it('finishSecret between the AWSCURRENT and AWSPENDING reads: the new AWSCURRENT is found, not the rejected one', async () => {
    // Prepare: a rotation whose finishSecret lands right after the refresh's AWSCURRENT read.
    const sm = new FakeSecretsManager();
    const v1 = sm.put(SECRET_A);
    let v2 = '';
    let finishAfterNextCurrentRead = false;
    const client = {
      send: async (command: GetSecretValueCommand, options?: { abortSignal?: AbortSignal }) => {
        const out = await sm.send(command, options);
        if (finishAfterNextCurrentRead && command.input.VersionStage === 'AWSCURRENT') {
          finishAfterNextCurrentRead = false;
          sm.label('AWSCURRENT', v2);
          sm.label('AWSPENDING', undefined);
        }
        return out;
      },
    };
    const source = createCredentialSource({ secretId: sm.secretId, client, clock: manualClock() });
    sources.push(source);
    const old = await source.get();
    v2 = sm.put(SECRET_B, ['AWSPENDING']);
    finishAfterNextCurrentRead = true;
    // Act
    const fresh = await source.refresh(old);
    // Assess: AWSCURRENT (still v1), AWSPENDING (gone), AWSCURRENT again (v2)
    expect(fresh).toMatchObject({ versionId: v2, stage: 'AWSCURRENT', password: SECRET_B.password });
    expect(old.versionId).toBe(v1);
    expect(sm.calls.map((c) => c.VersionStage).slice(1)).toEqual(['AWSCURRENT', 'AWSPENDING', 'AWSCURRENT']);
    // Not marked fruitless: the next refresh of what is now rejected is not rate-limited.
    expect(source.stats().rateLimited).toBe(0);
  });

  it('uses AWSPENDING while AWSCURRENT still is the rejected version, caches it, then follows AWSCURRENT', async () => {
    const { sm, clock, source } = setup({ ttlMs: 1000 });
    const fallbacks: FallbackEvent[] = [];
    const rotated: RotatedEvent[] = [];
    source.on('fallback', (e) => fallbacks.push(e)).on('rotated', (e) => rotated.push(e));
    const v1 = sm.put(SECRET_A);
    const old = await source.get();
    const v2 = sm.put(SECRET_B, ['AWSPENDING']);

    const fresh = await source.refresh(old);
    const viaGet = await source.get();

    expect(fresh).toMatchObject({ versionId: v2, stage: 'AWSPENDING', password: SECRET_B.password });
    expect(viaGet).toBe(fresh);
    expect(fallbacks).toEqual([{ secretId: sm.secretId, rejectedVersionId: v1, versionId: v2, stage: 'AWSPENDING' }]);
    expect(rotated).toHaveLength(1);

    // TTL reload while AWSCURRENT still is v1: keep the working fallback.
    clock.advance(1000);
    expect(await source.get()).toMatchObject({ versionId: v2, stage: 'AWSPENDING' });

    // finishSecret moves AWSCURRENT: the next reload follows it.
    await settle();
    sm.label('AWSCURRENT', v2);
    sm.label('AWSPENDING', undefined);
    clock.advance(1000);
    expect(await source.get()).toMatchObject({ versionId: v2, stage: 'AWSPENDING' }); // stale, reloading
    await settle();
    expect(await source.get()).toMatchObject({ versionId: v2, stage: 'AWSCURRENT' });
  });

  it('treats an AWSPENDING version without a value (RotateSecret placeholder) as absent', async () => {
    const { sm, source } = setup();
    const errors: ErrorEvent[] = [];
    source.on('error', (e) => errors.push(e));
    const v1 = sm.put(SECRET_A);
    const old = await source.get();
    sm.put(undefined, ['AWSPENDING']); // registered token, no value yet

    const got = await source.refresh(old);

    expect(got).toMatchObject({ versionId: v1, stage: 'AWSCURRENT' });
    expect(errors).toEqual([]);
    expect(sm.count('AWSPENDING')).toBe(1);
    expect(source.stats()).toMatchObject({ fallbacks: 0, errors: 0 });
  });

  it('ignores an AWSPENDING label that sits on the rejected version', async () => {
    const { sm, source } = setup();
    const v1 = sm.put(SECRET_A, ['AWSCURRENT', 'AWSPENDING']);
    const old = await source.get();
    expect((await source.refresh(old)).versionId).toBe(v1);
    expect(source.stats().fallbacks).toBe(0);
  });

  it('returns AWSCURRENT when the rejected credentials were the AWSPENDING fallback', async () => {
    const { sm, clock, source } = setup();
    const fallbacks: FallbackEvent[] = [];
    source.on('fallback', (e) => fallbacks.push(e));
    const v1 = sm.put(SECRET_A);
    const old = await source.get();
    const v2 = sm.put(SECRET_B, ['AWSPENDING']);
    const pending = await source.refresh(old);
    expect(pending.stage).toBe('AWSPENDING');
    clock.advance(10_000); // past the rate limit

    // The pending password was never set on the server (e.g. setSecret failed): AWSCURRENT works again.
    const back = await source.refresh(pending);

    expect(back).toMatchObject({ versionId: v1, stage: 'AWSCURRENT' });
    expect(fallbacks.at(-1)).toEqual({
      secretId: sm.secretId,
      rejectedVersionId: v2,
      versionId: v1,
      stage: 'AWSCURRENT',
    });
  });

  it('does not fall back when versionStage is AWSPENDING', async () => {
    const { sm, source } = setup({ versionStage: 'AWSPENDING' });
    sm.put(SECRET_A);
    const p = sm.put(SECRET_B, ['AWSPENDING']);
    const c = await source.get();
    expect(c).toMatchObject({ versionId: p, stage: 'AWSPENDING' });
    await source.refresh(c);
    expect(sm.count('AWSCURRENT')).toBe(0);
  });
});

describe('rate limit', () => {
  it('spaces refreshes that found nothing new by minRefreshIntervalMs (default 5 s)', async () => {
    const { sm, clock, source } = setup();
    sm.put(SECRET_A);
    const creds = await source.get();

    await source.refresh(creds); // AWSCURRENT, no AWSPENDING, AWSCURRENT again: nothing new
    const calls = sm.count();
    for (let i = 0; i < 50; i++) expect(await source.refresh(creds)).toBe(creds);
    clock.advance(4_999);
    await source.refresh(creds);
    expect(sm.count()).toBe(calls);
    expect(source.stats().rateLimited).toBe(51);

    clock.advance(1);
    await source.refresh(creds);
    expect(sm.count()).toBe(calls + 3);
  });

  it('a wrong password on the server never hammers Secrets Manager', async () => {
    const { sm, clock, source } = setup({ minRefreshIntervalMs: 1000 });
    sm.put(SECRET_A);
    const creds = await source.get();
    // 10 s of a pool retrying every 10 ms with the same rejected credentials.
    for (let t = 0; t < 10_000; t += 10) {
      await source.refresh(creds);
      clock.advance(10);
    }
    // 1 initial + 10 windows × (AWSCURRENT + AWSPENDING + AWSCURRENT)
    expect(sm.count()).toBe(1 + 10 * 3);
  });

  it('refresh() without an argument re-reads AWSCURRENT and is rate-limited when nothing changed', async () => {
    const { sm, source } = setup();
    sm.put(SECRET_A);
    await source.get();
    await source.refresh();
    await source.refresh();
    expect(sm.count()).toBe(2);
    expect(sm.count('AWSPENDING')).toBe(0);
  });

  it('a refresh that found a new version does not block the next one', async () => {
    const { sm, source } = setup();
    sm.put(SECRET_A);
    const a = await source.get();
    sm.put(SECRET_B);
    const b = await source.refresh(a);
    const v3 = sm.put(SECRET_C);
    expect((await source.refresh(b)).versionId).toBe(v3);
  });
});

describe('AWS call retries', () => {
  it.each([
    ['ThrottlingException', () => new AwsLikeError('ThrottlingException', 400)],
    ['InternalServiceError 500', () => new AwsLikeError('InternalServiceError', 500)],
    ['503', () => new AwsLikeError('ServiceUnavailable', 503)],
    ['TimeoutError', () => Object.assign(new Error('socket timeout'), { name: 'TimeoutError' })],
    ['ECONNREFUSED', connRefused],
  ])('retries %s and succeeds', async (_n, make) => {
    const { sm, source } = setup();
    sm.put(SECRET_A);
    sm.failures.push(make(), make());
    const c = await source.get();
    expect(c.username).toBe('app');
    expect(sm.count()).toBe(3);
    expect(source.stats()).toMatchObject({ fetches: 3, errors: 0 });
  });

  it('gives up after retry.maxAttempts with a SecretFetchError naming the secret and wrapping the AWS error', async () => {
    const { sm, source } = setup({ retry: { maxAttempts: 4, baseDelayMs: 1 } });
    sm.put(SECRET_A);
    const aws = new AwsLikeError('ThrottlingException', 400, 'Rate exceeded');
    sm.down = aws;
    const err = await source.get().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SecretFetchError);
    expect(err).toMatchObject({ secretId: sm.secretId, attempts: 4, cause: aws });
    expect((err as Error).message).toContain(sm.secretId);
    expect(sm.count()).toBe(4);
  });

  it('backs off exponentially between attempts (timers unref’d)', async () => {
    vi.useFakeTimers();
    const { sm, source } = setup({ retry: { maxAttempts: 3, baseDelayMs: 100, maxDelayMs: 150 } });
    sm.put(SECRET_A);
    vi.spyOn(Math, 'random').mockReturnValue(0.999);
    sm.failures.push(connRefused(), connRefused());
    const p = source.get();
    // Delays ≈ 100 then ≈ 150 (200 capped at maxDelayMs), jittered in [d/2, d].
    await vi.advanceTimersByTimeAsync(90);
    expect(sm.count()).toBe(1);
    await vi.advanceTimersByTimeAsync(15); // t=105
    expect(sm.count()).toBe(2);
    await vi.advanceTimersByTimeAsync(130); // t=235 < 100+150
    expect(sm.count()).toBe(2);
    await vi.advanceTimersByTimeAsync(20); // t=255
    expect(sm.count()).toBe(3);
    await expect(p).resolves.toMatchObject({ username: 'app' });
  });

  it('does not retry AccessDeniedException', async () => {
    const { sm, source } = setup();
    sm.down = new AwsLikeError('AccessDeniedException', 400);
    await expect(source.get()).rejects.toBeInstanceOf(SecretFetchError);
    expect(sm.count()).toBe(1);
  });

  it('maps ResourceNotFoundException to SecretNotFoundError without retrying', async () => {
    const { sm, source } = setup();
    const err = await source.get().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SecretNotFoundError);
    expect(err).toMatchObject({ secretId: sm.secretId, versionStage: 'AWSCURRENT' });
    expect((err as Error).cause).toBeInstanceOf(AwsLikeError);
    expect(sm.count()).toBe(1);
  });

  it('rejects SecretBinary with SecretFormatError', async () => {
    const { sm, source } = setup();
    sm.putBinary(new Uint8Array([1, 2, 3]));
    await expect(source.get()).rejects.toThrow(SecretFormatError);
    await expect(source.get().catch((e: Error) => e.message)).resolves.toMatch(/SecretBinary/);
  });
});

describe('stale-on-error', () => {
  it('serves the cached value while fetches fail, backs off, then throws after maxStaleMs', async () => {
    const { sm, clock, source } = setup({
      ttlMs: 1000,
      maxStaleMs: 10_000,
      retry: { maxAttempts: 1 },
      errorBackoff: { baseDelayMs: 1000, maxDelayMs: 4000 },
    });
    vi.spyOn(Math, 'random').mockReturnValue(0.999);
    const errors: ErrorEvent[] = [];
    source.on('error', (e) => errors.push(e));
    sm.put(SECRET_A);
    const cached = await source.get();
    const expiresAt = source.stats().expiresAt!;
    sm.down = new AwsLikeError('InternalServiceError', 500);

    clock.t = expiresAt;
    expect(await source.get()).toBe(cached); // stale at once; the background fetch fails
    expect(sm.count()).toBe(2);
    await settle();
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ servingStale: true, consecutiveFailures: 1, retryInMs: 1000 });

    clock.advance(999); // within backoff: no AWS call
    expect(await source.get()).toBe(cached);
    expect(sm.count()).toBe(2);

    clock.advance(1); // backoff over: one attempt, next backoff doubles
    expect(await source.get()).toBe(cached);
    expect(sm.count()).toBe(3);
    await settle();
    expect(errors[1]).toMatchObject({ consecutiveFailures: 2, retryInMs: 2000 });

    clock.t = expiresAt + 10_001; // past maxStaleMs
    const err = await source.get().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SecretFetchError);
    expect(err).toMatchObject({ secretId: sm.secretId });
    expect((err as Error).cause).toBe(sm.down);
    expect(source.stats()).toMatchObject({ errors: 3, staleServed: 3 });

    // Recovery resets the backoff.
    sm.down = undefined;
    clock.advance(60_000);
    expect((await source.get()).versionId).toBe(cached.versionId);
    expect(source.stats().expiresAt).toBeGreaterThan(clock.now());
  });

  it('with nothing cached, a failed fetch throws and the backoff window answers without calling AWS', async () => {
    const { sm, clock, source } = setup({ retry: { maxAttempts: 1 } });
    sm.down = connRefused();
    await expect(source.get()).rejects.toBeInstanceOf(SecretFetchError);
    const err = await source.get().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SecretFetchError);
    expect((err as Error).message).toContain(sm.secretId);
    expect(sm.count()).toBe(1);
    clock.advance(1000);
    await expect(source.get()).rejects.toBeInstanceOf(SecretFetchError);
    expect(sm.count()).toBe(2);
  });

  it('refresh(rejected) during an outage serves the cached value', async () => {
    const { sm, source } = setup({ retry: { maxAttempts: 1 } });
    sm.put(SECRET_A);
    const c = await source.get();
    sm.down = connRefused();
    expect(await source.refresh(c)).toBe(c);
    expect(await source.refresh(c)).toBe(c); // backoff: no call
    expect(sm.count()).toBe(2);
  });
});

describe('events', () => {
  it('emits refreshed and rotated without secrets', async () => {
    const { sm, clock, source } = setup({ ttlMs: 10 });
    const refreshed: RefreshedEvent[] = [];
    const rotated: RotatedEvent[] = [];
    source.on('refreshed', (e) => refreshed.push(e));
    source.on('rotated', (e) => rotated.push(e));
    const v1 = sm.put(SECRET_A);
    await source.get();
    const v2 = sm.put({ ...SECRET_B, username: 'app_clone' });
    clock.advance(10);
    await source.get();
    await settle();

    expect(refreshed.map((e) => [e.versionId, e.changed, e.reason])).toEqual([
      [v1, false, 'initial'],
      [v2, true, 'expired'],
    ]);
    expect(rotated).toEqual([
      {
        secretId: sm.secretId,
        previousVersionId: v1,
        versionId: v2,
        previousStage: 'AWSCURRENT',
        stage: 'AWSCURRENT',
        usernameChanged: true,
      },
    ]);
    const dump = JSON.stringify([refreshed, rotated]);
    expect(dump).not.toContain(SECRET_A.password);
    expect(dump).not.toContain(SECRET_B.password);
  });

  it("emitting 'error' without a listener is safe, and throwing listeners do not break fetches", async () => {
    const warn = vi.fn();
    const { sm, source } = setup({ retry: { maxAttempts: 1 }, logger: { warn } });
    sm.down = connRefused();
    await expect(source.get()).rejects.toBeInstanceOf(SecretFetchError);

    sm.down = undefined;
    sm.put(SECRET_A);
    const s2 = createCredentialSource({ secretId: sm.secretId, client: sm, logger: { warn } });
    sources.push(s2);
    s2.on('refreshed', () => {
      throw new Error('listener bug');
    });
    await expect(s2.get()).resolves.toMatchObject({ username: 'app' });
    expect(warn).toHaveBeenCalledWith(expect.stringContaining('listener threw'), expect.anything());
  });

  it('supports once and off', async () => {
    const { sm, clock, source } = setup({ ttlMs: 1 });
    sm.put(SECRET_A);
    const once = vi.fn();
    const on = vi.fn();
    source.once('refreshed', once).on('refreshed', on);
    await source.get();
    source.off('refreshed', on);
    clock.advance(1);
    await source.get();
    expect(once).toHaveBeenCalledTimes(1);
    expect(on).toHaveBeenCalledTimes(1);
  });

  it('never hands secrets to the logger', async () => {
    const lines: string[] = [];
    const log = (m: string, meta?: unknown) => lines.push(m + JSON.stringify(meta));
    const { sm, source } = setup({
      logger: { debug: log, info: log, warn: log, error: log },
      retry: { maxAttempts: 1 },
    });
    sm.put(SECRET_A);
    const a = await source.get();
    sm.put(SECRET_B, ['AWSPENDING']);
    await source.refresh(a);
    sm.down = connRefused();
    await source.withAuthRetry(async () => 1);
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.join('\n')).not.toMatch(/pw-[AB]-s3cr3t/);
  });
});

describe('close and stats', () => {
  it('close() rejects further calls and is idempotent', async () => {
    const { sm, source } = setup();
    sm.put(SECRET_A);
    await source.get();
    source.close();
    source.close();
    await expect(source.get()).rejects.toBeInstanceOf(SourceClosedError);
    await expect(source.refresh()).rejects.toBeInstanceOf(SourceClosedError);
  });

  it('close() during a retry backoff ends the fetch promptly', async () => {
    const { sm, source } = setup({ retry: { maxAttempts: 5, baseDelayMs: 60_000, maxDelayMs: 60_000 } });
    sm.down = connRefused();
    const p = source.get();
    await new Promise((r) => setTimeout(r, 10));
    const t0 = Date.now();
    source.close();
    await expect(p).rejects.toBeInstanceOf(SourceClosedError);
    expect(Date.now() - t0).toBeLessThan(10_000); // the backoff is 60 s; close() ends it at once (a hang guard)
    expect(sm.count()).toBe(1);
  });

  it('close() clears pending timers', async () => {
    vi.useFakeTimers();
    const { sm, source } = setup({ retry: { maxAttempts: 5, baseDelayMs: 10_000, maxDelayMs: 10_000 } });
    sm.down = connRefused();
    const p = source.get().catch((e: unknown) => e);
    await vi.advanceTimersByTimeAsync(1);
    expect(vi.getTimerCount()).toBe(2); // the backoff wait, and the caller's hold on the process (holdOpen)
    source.close();
    expect(vi.getTimerCount()).toBe(1);
    expect(await p).toBeInstanceOf(SourceClosedError);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('destroys a client it created from clientConfig, never a client it was given', () => {
    const sm = new FakeSecretsManager();
    const destroy = vi.fn();
    const given = Object.assign(sm, { destroy });
    createCredentialSource({ secretId: 'x', client: given }).close();
    expect(destroy).not.toHaveBeenCalled();
    const sdkDestroy = vi.spyOn(SecretsManagerClient.prototype, 'destroy');
    const owned = createCredentialSource({ secretId: 'x', clientConfig: { region: 'us-east-1' } });
    owned.close();
    owned.close();
    expect(sdkDestroy).toHaveBeenCalledTimes(1);
  });

  it('stats() reports counters and the current version', async () => {
    const { sm, clock, source } = setup();
    const v1 = sm.put(SECRET_A);
    const a = await source.get();
    await source.get();
    await source.refresh(a);
    await source.refresh(a);
    expect(source.stats()).toEqual({
      hits: 1,
      misses: 1,
      fetches: 4,
      refreshes: 2,
      forcedRefreshes: 0,
      invalidations: 0,
      rateLimited: 1,
      fallbacks: 0,
      errors: 0,
      staleServed: 0,
      rotations: 0,
      versionId: v1,
      stage: 'AWSCURRENT',
      fetchedAt: clock.now(),
      expiresAt: expect.any(Number),
    });
  });
});

beforeEach(() => {
  vi.restoreAllMocks();
});

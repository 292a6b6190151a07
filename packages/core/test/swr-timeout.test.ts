/**
 * Stale-while-revalidate and per-attempt timeouts, on fake time (vitest fake timers fake Date too, so
 * the source's default clock follows them). A Secrets Manager that never answers is a gate never opened.
 */
import type { GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import {
  type CredentialSource,
  type CredentialSourceOptions,
  createCredentialSource,
  type ErrorEvent,
  type RefreshedEvent,
  SecretFetchError,
  SourceClosedError,
} from '@dbcreds/core';
import { isRetryableFetchError } from '@dbcreds/core/adapter';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { AwsLikeError, connRefused, deferred, FakeSecretsManager, SECRET_A, SECRET_B } from './helpers/fake-sm.js';

const sources: CredentialSource[] = [];
beforeEach(() => {
  vi.useFakeTimers();
  vi.spyOn(Math, 'random').mockReturnValue(0.999); // expiry ≈ ttl, backoff delays ≈ their caps
});
afterEach(() => {
  for (const s of sources.splice(0)) s.close();
  vi.restoreAllMocks();
  vi.useRealTimers();
});

function setup(opts: Partial<CredentialSourceOptions> = {}) {
  const sm = new FakeSecretsManager();
  const source = createCredentialSource({
    secretId: sm.secretId,
    client: sm,
    ttlMs: 1000,
    maxStaleMs: 60_000,
    retry: { maxAttempts: 3, baseDelayMs: 100, maxDelayMs: 100 },
    errorBackoff: { baseDelayMs: 1000, maxDelayMs: 1000 },
    ...opts,
  });
  sources.push(source);
  return { sm, source };
}

/** A promise's state after the microtasks queued so far have run. */
async function state(p: Promise<unknown>): Promise<'pending' | 'fulfilled' | 'rejected'> {
  let s: 'pending' | 'fulfilled' | 'rejected' = 'pending';
  p.then(
    () => {
      s = 'fulfilled';
    },
    () => {
      s = 'rejected';
    },
  );
  await vi.advanceTimersByTimeAsync(0);
  return s;
}

const never = () => new Promise<void>(() => {});

describe('stale-while-revalidate', () => {
  it('serves an expired value at once while one background fetch runs, then serves what it found', async () => {
    const { sm, source } = setup();
    const refreshed: RefreshedEvent[] = [];
    source.on('refreshed', (e) => refreshed.push(e));
    sm.put(SECRET_A);
    const a = await source.get();
    const v2 = sm.put(SECRET_B);
    vi.advanceTimersByTime(1000); // expired
    const gate = deferred();
    sm.gate = gate.promise; // Secrets Manager slow

    const during = await Promise.all(Array.from({ length: 100 }, () => source.get()));

    expect(during.every((c) => c === a)).toBe(true);
    expect(sm.count()).toBe(2); // one background call for 100 callers
    expect(source.stats()).toMatchObject({ staleServed: 100, misses: 1 });
    gate.resolve();
    await vi.advanceTimersByTimeAsync(0);
    expect((await source.get()).versionId).toBe(v2);
    expect(refreshed.map((e) => [e.versionId, e.reason, e.changed])).toEqual([
      [a.versionId, 'initial', false],
      [v2, 'expired', true],
    ]);
    expect(sm.count()).toBe(2);
  });

  it('a background fetch that fails is an error event with servingStale, never an unhandled rejection', async () => {
    const { sm, source } = setup({ retry: { maxAttempts: 1 } });
    const errors: ErrorEvent[] = [];
    source.on('error', (e) => errors.push(e));
    sm.put(SECRET_A);
    const a = await source.get();
    vi.advanceTimersByTime(1000);
    sm.down = new AwsLikeError('InternalServiceError', 500);

    expect(await source.get()).toBe(a);
    await vi.advanceTimersByTimeAsync(0);
    expect(errors).toMatchObject([{ servingStale: true, consecutiveFailures: 1, retryInMs: 1000 }]);
    expect(errors[0]!.error).toBeInstanceOf(SecretFetchError);

    // Within the error backoff: served at once, no call; after it, one more background attempt.
    for (let i = 0; i < 10; i++) expect(await source.get()).toBe(a);
    expect(sm.count()).toBe(2);
    vi.advanceTimersByTime(1000);
    expect(await source.get()).toBe(a);
    expect(sm.count()).toBe(3);
    await vi.advanceTimersByTimeAsync(0); // let that attempt fail (and set the next backoff)
    // Recovery by itself: the next background attempt after the backoff installs the value again.
    sm.down = undefined;
    vi.advanceTimersByTime(1000);
    expect(await source.get()).toBe(a);
    await vi.advanceTimersByTimeAsync(0);
    expect(source.stats().expiresAt).toBeGreaterThan(Date.now());
    expect(source.stats().errors).toBe(2);
  });

  it('a background fetch that fails past maxStaleMs rejects nobody; the next get() waits and gets the typed error', async () => {
    const { sm, source } = setup({ maxStaleMs: 500, retry: { maxAttempts: 1 }, attemptTimeoutMs: 1000 });
    sm.put(SECRET_A);
    await source.get();
    vi.advanceTimersByTime(1000);
    sm.gate = never();
    const a = source.get(); // stale at once; the background attempt will time out after the value is too old
    expect(await state(a)).toBe('fulfilled');
    await vi.advanceTimersByTimeAsync(1000);
    sm.gate = undefined;
    sm.down = connRefused();
    const late = source.get().catch((e: unknown) => e);
    await vi.advanceTimersByTimeAsync(1000); // past the error backoff: a foreground attempt
    expect(await late).toBeInstanceOf(SecretFetchError);
  });

  it('waits for Secrets Manager on a cold start, past maxStaleMs, and while a refresh(rejected) is in flight', async () => {
    const { sm, source } = setup({ maxStaleMs: 5000 });
    sm.put(SECRET_A);
    const gate = deferred();
    sm.gate = gate.promise;
    const cold = source.get();
    expect(await state(cold)).toBe('pending');
    gate.resolve();
    const a = await cold;

    // The server rejected `a`: a get() meanwhile must not hand out the known-bad value even though it is stale-usable.
    vi.advanceTimersByTime(1000);
    const v2 = sm.put(SECRET_B);
    const g2 = deferred();
    sm.gate = g2.promise;
    const r = source.refresh(a);
    const g = source.get();
    expect(await state(g)).toBe('pending');
    g2.resolve();
    expect((await r).versionId).toBe(v2);
    expect((await g).versionId).toBe(v2);

    // Past maxStaleMs: get() waits.
    vi.advanceTimersByTime(1000 + 5001);
    const g3 = deferred();
    sm.gate = g3.promise;
    const past = source.get();
    expect(await state(past)).toBe('pending');
    g3.resolve();
    expect((await past).versionId).toBe(v2);
  });

  it('ttlMs: 0 still waits for a fetch on every get()', async () => {
    const { sm, source } = setup({ ttlMs: 0 });
    sm.put(SECRET_A);
    await source.get();
    const gate = deferred();
    sm.gate = gate.promise;
    const p = source.get();
    expect(await state(p)).toBe('pending');
    gate.resolve();
    await p;
    expect(sm.count()).toBe(2);
  });

  it('refresh(rejected) during a background reload that found the same version still tries AWSPENDING', async () => {
    const { sm, source } = setup();
    sm.put(SECRET_A);
    const a = await source.get();
    const pending = sm.put(SECRET_B, ['AWSPENDING']);
    vi.advanceTimersByTime(1000);
    const gate = deferred();
    sm.gate = gate.promise;
    expect(await source.get()).toBe(a); // background reload of AWSCURRENT (still a) in flight
    const r = source.refresh(a);
    gate.resolve();
    expect(await r).toMatchObject({ versionId: pending, stage: 'AWSPENDING' });
    expect(sm.count('AWSPENDING')).toBe(1);
  });
});

describe('per-attempt timeout', () => {
  it('passes an AbortSignal to client.send and aborts it at attemptTimeoutMs; a timeout is retried', async () => {
    const { sm, source } = setup({ attemptTimeoutMs: 2000 });
    sm.put(SECRET_A);
    sm.gate = never();
    const p = source.get().catch((e: unknown) => e);
    await vi.advanceTimersByTimeAsync(1999);
    expect(sm.count()).toBe(1);
    expect(sm.signals[0]).toBeInstanceOf(AbortSignal);
    expect(sm.signals[0]!.aborted).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(sm.signals[0]!.aborted).toBe(true);
    sm.gate = undefined; // the retry (after ≈ 100 ms) answers
    await vi.advanceTimersByTimeAsync(100);
    expect(sm.count()).toBe(2);
    expect(await p).toMatchObject({ username: 'app' });
  });

  it('cold start with Secrets Manager never answering: SecretFetchError (cause TimeoutError) within timeout × attempts', async () => {
    const { sm, source } = setup({ attemptTimeoutMs: 3000 });
    sm.gate = never();
    const t0 = Date.now();
    let settledAt = 0;
    const p = source.get().catch((e: unknown) => {
      settledAt = Date.now();
      return e;
    });
    await vi.advanceTimersByTimeAsync(3 * 3000 + 2 * 100);
    const err = await p;
    expect(err).toBeInstanceOf(SecretFetchError);
    expect(err).toMatchObject({ attempts: 3, cause: { name: 'TimeoutError' } });
    expect(String((err as Error).cause)).toContain('3000 ms');
    expect(settledAt - t0).toBeLessThanOrEqual(3 * 3000 + 2 * 100);
    expect(sm.count()).toBe(3);
    expect(sm.signals.every((s) => s?.aborted)).toBe(true);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('a call that never answers does not pin the single flight', async () => {
    const { sm, source } = setup({ attemptTimeoutMs: 1000, retry: { maxAttempts: 1 } });
    sm.put(SECRET_A);
    sm.gate = never();
    const first = source.get().catch((e: unknown) => e);
    await vi.advanceTimersByTimeAsync(1000);
    expect(await first).toBeInstanceOf(SecretFetchError);
    sm.gate = undefined;
    await vi.advanceTimersByTimeAsync(1000); // error backoff
    expect(await source.get()).toMatchObject({ username: 'app' });
    expect(sm.count()).toBe(2);
  });

  it('close() aborts the attempt in flight: pending callers get SourceClosedError at once', async () => {
    const { sm, source } = setup();
    sm.put(SECRET_A);
    sm.gate = never();
    const pending = [source.get(), source.get(), source.refresh()].map((p) => p.catch((e: unknown) => e));
    await vi.advanceTimersByTimeAsync(10);
    source.close();
    for (const e of await Promise.all(pending)) expect(e).toBeInstanceOf(SourceClosedError);
    expect(sm.signals[0]!.aborted).toBe(true);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('close() during a stale-while-revalidate fetch: the background fetch ends quietly', async () => {
    const { sm, source } = setup();
    sm.put(SECRET_A);
    await source.get();
    vi.advanceTimersByTime(1000);
    sm.gate = never();
    await source.get();
    source.close();
    await vi.advanceTimersByTimeAsync(10_000);
    expect(sm.signals.at(-1)!.aborted).toBe(true);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('a client that ignores the signal still cannot hold the caller', async () => {
    const sm = new FakeSecretsManager();
    sm.put(SECRET_A);
    let calls = 0;
    // Never looks at options.abortSignal; its first call never settles.
    const deaf = {
      send: (cmd: GetSecretValueCommand) => (++calls === 1 ? new Promise<never>(() => {}) : sm.send(cmd)),
    };
    const source = createCredentialSource({ secretId: sm.secretId, client: deaf, attemptTimeoutMs: 500 });
    sources.push(source);
    const p = source.get();
    await vi.advanceTimersByTimeAsync(500 + 100);
    expect(await p).toMatchObject({ username: 'app' });
    expect(calls).toBe(2);
  });
});

describe('isRetryableFetchError (the AWS SDK classes, @smithy/service-error-classification)', () => {
  const err = (fields: Record<string, unknown>, name = 'Error') => Object.assign(new Error('x'), { name }, fields);
  it.each([
    ['ThrottlingException', err({ $metadata: { httpStatusCode: 400 } }, 'ThrottlingException')],
    ['TooManyRequestsException', err({}, 'TooManyRequestsException')],
    ['RequestLimitExceeded', err({}, 'RequestLimitExceeded')],
    ['HTTP 429', err({ $metadata: { httpStatusCode: 429 } }, 'Unknown')],
    ['InternalServiceError 500', new AwsLikeError('InternalServiceError', 500)],
    ['HTTP 501', new AwsLikeError('NotImplemented', 501)],
    ['HTTP 502', new AwsLikeError('BadGateway', 502)],
    ['ServiceUnavailable 503', new AwsLikeError('ServiceUnavailable', 503)],
    ['HTTP 504', new AwsLikeError('GatewayTimeout', 504)],
    ['TimeoutError (attemptTimeoutMs)', err({}, 'TimeoutError')],
    ['RequestTimeout', err({}, 'RequestTimeout')],
    ['$retryable', err({ $retryable: {} })],
    ['ECONNREFUSED', connRefused()],
    ['ECONNRESET', err({ code: 'ECONNRESET' })],
    ['EPIPE', err({ code: 'EPIPE' })],
    ['ETIMEDOUT', err({ code: 'ETIMEDOUT' })],
    ['EHOSTUNREACH', err({ code: 'EHOSTUNREACH' })],
    ['ENETUNREACH', err({ code: 'ENETUNREACH' })],
    ['EAI_AGAIN', err({ code: 'EAI_AGAIN' })],
    ['ENOTFOUND', err({ code: 'ENOTFOUND' })],
    ['a wrapped ECONNRESET (cause)', err({ cause: err({ code: 'ECONNRESET' }) })],
  ])('retries %s', (_n, e) => {
    expect(isRetryableFetchError(e)).toBe(true);
  });

  it.each([
    [
      'AccessDeniedException (IAM; the SDK treats it as possible clock skew)',
      new AwsLikeError('AccessDeniedException', 400),
    ],
    ['ResourceNotFoundException', new AwsLikeError('ResourceNotFoundException', 400)],
    ['InvalidParameterException', new AwsLikeError('InvalidParameterException', 400)],
    ['InvalidRequestException', new AwsLikeError('InvalidRequestException', 400)],
    ['DecryptionFailure', new AwsLikeError('DecryptionFailure', 400)],
    ['AbortError', err({}, 'AbortError')],
    ['a deserialization SyntaxError', err({ $metadata: { httpStatusCode: 200 } }, 'SyntaxError')],
    ['null', null],
    ['a string', 'ECONNRESET'],
  ])('does not retry %s', (_n, e) => {
    expect(isRetryableFetchError(e)).toBe(false);
  });
});

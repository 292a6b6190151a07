/**
 * Waiting for out-of-band password changes (awaitRotationMs): the database password changed first, the
 * secret catches up later with no AWSPENDING. Fake time: the poll spacing, single-flight, fail-fast
 * after the budget ran out, and the reset when a new version appears.
 */
import {
  type CredentialSource,
  type CredentialSourceOptions,
  createCredentialSource,
  SourceClosedError,
} from '@dbcreds/core';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { pollDelay } from '../src/await-rotation.js';
import { AwsLikeError, FakeSecretsManager, SECRET_A, SECRET_B, SECRET_C } from './helpers/fake-sm.js';

const sources: CredentialSource[] = [];

function setup(opts: Partial<CredentialSourceOptions> = {}) {
  const sm = new FakeSecretsManager();
  const source = createCredentialSource({
    secretId: sm.secretId,
    client: sm,
    retry: { maxAttempts: 1 },
    minRefreshIntervalMs: 5_000,
    awaitRotationMs: 10_000,
    ...opts,
  });
  sources.push(source);
  // A login that worked: only credentials that once worked can have changed under the app.
  const login = () => source.withAuthRetry(async () => undefined);
  return { sm, source, login };
}

/** Settles `p` into a readable state without awaiting it. */
function track<T>(p: Promise<T>): { done: boolean; value?: T; error?: unknown } {
  const s: { done: boolean; value?: T; error?: unknown } = { done: false };
  p.then(
    (v) => Object.assign(s, { done: true, value: v }),
    (e: unknown) => Object.assign(s, { done: true, error: e }),
  );
  return s;
}

beforeEach(() => {
  vi.useFakeTimers();
  // No jitter: polls at 250, 750, 1750, 3750, 5750, 7750, 9750 and 10000 ms after the first lookup.
  vi.spyOn(Math, 'random').mockReturnValue(0);
});

afterEach(() => {
  for (const s of sources.splice(0)) s.close();
  vi.restoreAllMocks();
  vi.useRealTimers();
});

describe('Function: pollDelay', () => {
  it('doubles from 250 ms to a 2 s cap, with up to a quarter more of jitter, never less', () => {
    expect([0, 1, 2, 3, 4, 9].map((n) => pollDelay(n, () => 0))).toEqual([250, 500, 1000, 2000, 2000, 2000]);
    expect([0, 1, 2, 3].map((n) => pollDelay(n, () => 1))).toEqual([312.5, 625, 1250, 2500]);
  });
});

describe('Class: Source, awaitRotationMs', () => {
  it('a refused login with nothing newer waits, polling AWSCURRENT and AWSPENDING, until the secret catches up', async () => {
    // Prepare
    const { sm, source, login } = setup();
    sm.put(SECRET_A);
    await login();
    const a = await source.get();

    // Act
    const refreshed = track(source.refresh(a));
    await vi.advanceTimersByTimeAsync(0);
    // first lookup: AWSCURRENT (rejected), AWSPENDING (absent), AWSCURRENT again
    expect(sm.count()).toBe(1 + 3);
    await vi.advanceTimersByTimeAsync(249);
    expect(sm.count()).toBe(4);
    await vi.advanceTimersByTimeAsync(1);
    expect(sm.calls.slice(4).map((c) => c.VersionStage)).toEqual(['AWSCURRENT', 'AWSPENDING']);
    await vi.advanceTimersByTimeAsync(500);
    expect(sm.count()).toBe(8);
    const vb = sm.put(SECRET_B); // the secret catches up 1.5 s after the password changed
    await vi.advanceTimersByTimeAsync(999);
    expect(refreshed.done).toBe(false);
    await vi.advanceTimersByTimeAsync(1);

    // Assess
    expect(refreshed.done).toBe(true);
    expect((refreshed.value as { versionId: string }).versionId).toBe(vb);
    expect(sm.count()).toBe(9); // the third poll found it in AWSCURRENT: 1 + 8 calls in all
    expect(source.stats()).toMatchObject({ versionId: vb, rotations: 1 });
  });

  it('concurrent refusals share one poll loop', async () => {
    const { sm, source, login } = setup();
    sm.put(SECRET_A);
    await login();
    const a = await source.get();

    const all = Promise.all(Array.from({ length: 20 }, () => source.refresh(a)));
    await vi.advanceTimersByTimeAsync(750);
    expect(sm.count()).toBe(1 + 3 + 2 + 2);
    const vb = sm.put(SECRET_B);
    await vi.advanceTimersByTimeAsync(1000);

    expect((await all).map((c) => c.versionId)).toEqual(Array(20).fill(vb));
    expect(sm.count()).toBe(9);
  });

  it('the budget runs out: the rejected credentials come back, then refusals of that version fail fast, reads spaced', async () => {
    const { sm, source, login } = setup();
    sm.put(SECRET_A);
    await login();
    const a = await source.get();

    const first = track(source.refresh(a));
    await vi.advanceTimersByTimeAsync(9_999);
    expect(first.done).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(first.done).toBe(true);
    expect(first.value).toBe(a);
    // 1 + first lookup 3 + 8 polls × 2
    expect(sm.count()).toBe(1 + 3 + 16);

    // Within minRefreshIntervalMs: answered from cache, no read, no wait.
    expect(await source.refresh(a)).toBe(a);
    expect(sm.count()).toBe(20);
    // Later, while nothing changed: one lookup (3 reads), no wait (no timer needs to run).
    await vi.advanceTimersByTimeAsync(5_000);
    const again = track(source.refresh(a));
    await vi.advanceTimersByTimeAsync(0);
    expect(again.done).toBe(true);
    expect(again.value).toBe(a);
    expect(sm.count()).toBe(23);
  });

  it('a new version resets the fail-fast: its own refusal waits again', async () => {
    const { sm, source, login } = setup();
    sm.put(SECRET_A);
    await login();
    const a = await source.get();
    const exhausted = source.refresh(a);
    await vi.advanceTimersByTimeAsync(10_000);
    await exhausted;
    await vi.advanceTimersByTimeAsync(5_000);
    const vb = sm.put(SECRET_B); // the secret caught up after the budget
    const b = await source.refresh(a);
    expect(b.versionId).toBe(vb);

    // B is refused too (another out-of-band change): the wait is armed again.
    const calls = sm.count();
    const waiting = track(source.refresh(b));
    await vi.advanceTimersByTimeAsync(0);
    expect(sm.count()).toBe(calls + 3);
    await vi.advanceTimersByTimeAsync(250);
    expect(sm.count()).toBe(calls + 5);
    const vc = sm.put(SECRET_C);
    await vi.advanceTimersByTimeAsync(500);
    expect((waiting.value as { versionId: string }).versionId).toBe(vc);
  });

  it('an AWSPENDING staged during the wait is taken (the password set before the secret version moved)', async () => {
    const { sm, source, login } = setup();
    sm.put(SECRET_A);
    await login();
    const a = await source.get();
    const refreshed = track(source.refresh(a));
    await vi.advanceTimersByTimeAsync(300);
    const pending = sm.put(SECRET_B, ['AWSPENDING']);
    await vi.advanceTimersByTimeAsync(500);
    expect(refreshed.value).toMatchObject({ versionId: pending, stage: 'AWSPENDING' });
    expect(source.stats().fallbacks).toBe(1);
  });

  it('a failed poll is skipped; the next one can still find the new version', async () => {
    const { sm, source, login } = setup();
    sm.put(SECRET_A);
    await login();
    const a = await source.get();
    const refreshed = track(source.refresh(a));
    await vi.advanceTimersByTimeAsync(0);
    sm.failures.push(new AwsLikeError('InternalServiceError', 500));
    await vi.advanceTimersByTimeAsync(250); // first poll fails
    const vb = sm.put(SECRET_B);
    await vi.advanceTimersByTimeAsync(500);
    expect((refreshed.value as { versionId: string }).versionId).toBe(vb);
  });

  it('close() ends a wait with SourceClosedError', async () => {
    const { sm, source, login } = setup();
    sm.put(SECRET_A);
    await login();
    const a = await source.get();
    const refreshed = track(source.refresh(a));
    await vi.advanceTimersByTimeAsync(300);
    source.close();
    await vi.advanceTimersByTimeAsync(0);
    expect(refreshed.error).toBeInstanceOf(SourceClosedError);
  });

  it('credentials that never worked (a wrong secret at startup) fail at once', async () => {
    const { sm, source } = setup();
    sm.put(SECRET_A);
    const a = await source.get();
    expect(await source.refresh(a)).toBe(a);
    expect(sm.count()).toBe(4);
  });

  it('awaitRotationMs: 0 keeps the single lookup', async () => {
    const { sm, source, login } = setup({ awaitRotationMs: 0 });
    sm.put(SECRET_A);
    await login();
    const a = await source.get();
    expect(await source.refresh(a)).toBe(a);
    expect(sm.count()).toBe(4);
  });
});

describe('Class: Source, awaitRotationMs during a Secrets Manager outage', () => {
  const OUTAGE_MS = 3_000;
  const REFUSAL_EVERY_MS = 500;

  /** Refusals of `a` every 500 ms while Secrets Manager answers 500 (new logins after idle sessions were ended). */
  async function refuseDuringOutage(source: CredentialSource, a: { versionId: string }) {
    const refusals: Array<ReturnType<typeof track>> = [];
    for (let t = 0; t < OUTAGE_MS; t += REFUSAL_EVERY_MS) {
      refusals.push(track(source.refresh(a as Awaited<ReturnType<CredentialSource['get']>>)));
      await vi.advanceTimersByTimeAsync(REFUSAL_EVERY_MS);
    }
    return refusals;
  }

  it('a rotation behind the outage is read within one poll interval of Secrets Manager answering again, not after the error backoff', async () => {
    // Prepare: the default error backoff (1 s doubling) would reach 4 s after three failed fetches.
    const { sm, source, login } = setup();
    sm.put(SECRET_A);
    await login();
    const a = await source.get();
    sm.down = new AwsLikeError('InternalServiceError', 500);
    const vb = sm.put(SECRET_B); // the rotation finished while Secrets Manager could not be read

    // Act
    const refusals = await refuseDuringOutage(source, a);
    const callsDuringOutage = sm.count() - 1;
    sm.down = undefined;
    const late = track(source.refresh(a));
    const callsAtClear = sm.count();
    await vi.advanceTimersByTimeAsync(pollDelay(1, () => 1)); // the longest spacing after a failed poll

    // Assess: one poll loop through the outage (several failed reads, spaced), picked up at the next poll
    expect(late.done).toBe(true);
    expect(late.value).toMatchObject({ versionId: vb });
    expect(sm.count()).toBeGreaterThan(callsAtClear);
    expect(callsDuringOutage).toBeGreaterThanOrEqual(4);
    expect(callsDuringOutage).toBeLessThanOrEqual(1 + OUTAGE_MS / pollDelay(1, () => 0));
    expect(refusals.map((r) => (r.value as { versionId?: string } | undefined)?.versionId)).toEqual(
      Array(refusals.length).fill(vb),
    );
    expect(source.stats()).toMatchObject({ versionId: vb, rotations: 1 });
  });

  it('an outage longer than the budget: the wait ends with the stale value, then refusals of that version fail fast with no call', async () => {
    const { sm, source, login } = setup();
    sm.put(SECRET_A);
    await login();
    const a = await source.get();
    sm.down = new AwsLikeError('InternalServiceError', 500);

    const first = track(source.refresh(a));
    await vi.advanceTimersByTimeAsync(9_999);
    expect(first.done).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(first.done).toBe(true);
    expect(first.value).toBe(a); // stale-on-error (maxStaleMs), as before the wait
    const calls = sm.count();
    expect(calls).toBeLessThanOrEqual(1 + 1 + 10_000 / pollDelay(1, () => 0));

    expect(await source.refresh(a)).toBe(a);
    expect(sm.count()).toBe(calls); // within the error backoff: no read
  });
});

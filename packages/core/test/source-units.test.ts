/** The small units the source's state machine composes: cached entry, error backoff, rotation-window reads. */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ErrorBackoff } from '../src/backoff.js';
import { Credentials } from '../src/credentials.js';
import { CacheEntry, ttlExpiry } from '../src/entry.js';
import { SecretFetchError, SecretNotFoundError } from '../src/errors.js';
import { lookForReplacement, type StageReader } from '../src/fallback.js';
import type { VersionStage } from '../src/types.js';

afterEach(() => {
  vi.restoreAllMocks();
});

function creds(versionId: string, stage: VersionStage = 'AWSCURRENT'): Credentials {
  return new Credentials({ username: 'u', password: `pw-${versionId}`, versionId, stage });
}

describe('Class: CacheEntry', () => {
  it('expires at a point in [ttl/2, ttl] and is served stale up to maxStaleMs past it', () => {
    // Prepare
    vi.spyOn(Math, 'random').mockReturnValue(0.5);
    const policy = ttlExpiry(1_000, 300);

    // Act
    const e = CacheEntry.next(undefined, creds('v1'), 10_000, policy, undefined);

    // Assess
    expect(e.expiresAt).toBe(10_750);
    expect([e.fresh(10_749), e.fresh(10_750)]).toEqual([true, false]);
    expect([e.servableStale(11_050), e.servableStale(11_051)]).toEqual([true, false]);
  });

  it('ttl 0: expired at once', () => {
    const e = CacheEntry.next(undefined, creds('v1'), 5, ttlExpiry(0, 0), undefined);
    expect(e.fresh(5)).toBe(false);
  });

  it('the same version and stage keeps the credentials object and its promise; another version replaces both', () => {
    const policy = ttlExpiry(1_000, 0);
    const first = CacheEntry.next(undefined, creds('v1'), 0, policy, undefined);
    const same = CacheEntry.next(first, creds('v1'), 100, policy, 'v0');
    const other = CacheEntry.next(same, creds('v2'), 200, policy, undefined);
    expect(same.creds).toBe(first.creds);
    expect(same.promise).toBe(first.promise);
    expect(same.fallbackFrom).toBe('v0');
    expect(same.fetchedAt).toBe(100);
    expect(other.creds.versionId).toBe('v2');
    expect(other.promise).not.toBe(first.promise);
  });
});

describe('Class: ErrorBackoff', () => {
  it('doubles per consecutive failure up to the cap; a success resets it', () => {
    const b = new ErrorBackoff({ baseDelayMs: 1_000, maxDelayMs: 3_000 });
    const err = new Error('down');
    expect([b.failed(err, 0), b.failed(err, 0), b.failed(err, 0)]).toEqual([1_000, 2_000, 3_000]);
    expect(b.failures).toBe(3);
    expect([b.blocked(2_999), b.blocked(3_000)]).toEqual([true, false]);
    b.succeeded();
    expect([b.failures, b.blocked(0)]).toEqual([0, false]);
    expect(b.failed(err, 0)).toBe(1_000);
  });

  it('while blocked: a missing secret as it was, anything else wrapped fresh with the last error as cause', () => {
    const b = new ErrorBackoff({ baseDelayMs: 1, maxDelayMs: 1 });
    const missing = new SecretNotFoundError('s', 'AWSCURRENT');
    b.failed(missing, 0);
    expect(b.blockedError('s')).toBe(missing);
    const down = new SecretFetchError('s', { cause: new Error('ECONNREFUSED'), attempts: 3 });
    b.failed(down, 0);
    const wrapped = b.blockedError('s');
    expect(wrapped).toBeInstanceOf(SecretFetchError);
    expect(wrapped).not.toBe(down);
    expect(wrapped.cause).toBe(down);
  });
});

describe('Function: lookForReplacement', () => {
  /** A reader over fixed stages, recording the order of reads. */
  function reader(stages: Partial<Record<VersionStage, Credentials[]>>) {
    const reads: VersionStage[] = [];
    const r: StageReader = {
      read: async (stage) => {
        reads.push(stage);
        const list = stages[stage] ?? [];
        return list.length > 1 ? list.shift() : list[0];
      },
      usable: (c, rejected) => c.versionId !== rejected.versionId,
    };
    return { r, reads };
  }
  const rejected = creds('v1');

  it('AWSCURRENT newer than the rejected version: found, no AWSPENDING read', async () => {
    const { r, reads } = reader({ AWSCURRENT: [creds('v2')] });
    const l = await lookForReplacement(r, rejected, 'after');
    expect(l.found?.versionId).toBe('v2');
    expect(reads).toEqual(['AWSCURRENT']);
  });

  it('AWSCURRENT still rejected: AWSPENDING is the rotation-window fallback', async () => {
    const { r, reads } = reader({ AWSCURRENT: [rejected], AWSPENDING: [creds('v2', 'AWSPENDING')] });
    const l = await lookForReplacement(r, rejected, 'after');
    expect(l.found).toMatchObject({ versionId: 'v2', stage: 'AWSPENDING' });
    expect(reads).toEqual(['AWSCURRENT', 'AWSPENDING']);
  });

  it('no AWSPENDING: AWSCURRENT once more (finishSecret may have run between the reads), unless recheck is off', async () => {
    const moved = reader({ AWSCURRENT: [rejected, creds('v2')] });
    expect((await lookForReplacement(moved.r, rejected, 'after')).found?.versionId).toBe('v2');
    expect(moved.reads).toEqual(['AWSCURRENT', 'AWSPENDING', 'AWSCURRENT']);

    const poll = reader({ AWSCURRENT: [rejected] });
    const l = await lookForReplacement(poll.r, rejected, 'after', false);
    expect(l.found).toBeUndefined();
    expect(l.pendingAbsent).toBe(true);
    expect(l.current.versionId).toBe('v1');
    expect(poll.reads).toEqual(['AWSCURRENT', 'AWSPENDING']);
  });

  it("'first' reads AWSPENDING before AWSCURRENT; 'skip' never reads it", async () => {
    const first = reader({ AWSCURRENT: [rejected] });
    expect((await lookForReplacement(first.r, rejected, 'first')).pendingAbsent).toBe(true);
    expect(first.reads).toEqual(['AWSPENDING', 'AWSCURRENT']);
    const skip = reader({ AWSCURRENT: [rejected] });
    await lookForReplacement(skip.r, rejected, 'skip');
    expect(skip.reads).toEqual(['AWSCURRENT']);
  });
});

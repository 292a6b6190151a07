/**
 * Smoke test of the rotation drill: one real rotation (RotateSecret → @dbcreds/rotation handler) on
 * the test bed's scram PostgreSQL. The naive pool must fail (the drill can see the failure) and the
 * dbcreds pool must not fail a single query.
 */
import { type LocalSecretsManager, startLocalSecretsManager } from '@dbcreds/local-secrets-manager';
import { serverFor } from '@dbcreds/testbed';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dbcreds, naive } from './drill-contenders.js';
import { classifyFailure, DEFAULT_DRILL_OPTIONS, type DrillOptions, runContender } from './drill-run.js';

const options: DrillOptions = {
  ...DEFAULT_DRILL_OPTIONS,
  workers: 8,
  rotations: 1,
  warmupMs: 500,
  intervalMs: 3000,
  thinkMs: 100,
  windowMs: 500,
};

describe('rotation drill (PostgreSQL, 1 rotation)', () => {
  let sm: LocalSecretsManager;
  beforeAll(async () => {
    sm = await startLocalSecretsManager({ port: 0 });
  });
  afterAll(async () => {
    await sm?.close();
  });

  it('naive fails after the rotation; dbcreds fails no query with a bounded GetSecretValue count', async () => {
    // Prepare
    const server = serverFor('postgres');
    // Act
    const naiveResult = await runContender({ sm, server, options }, naive);
    const dbcredsResult = await runContender({ sm, server, options }, dbcreds);
    // Assess
    for (const r of [naiveResult, dbcredsResult]) {
      expect(r.unavailable).toBeUndefined();
      expect(r.oldPasswordRejected).toBe(true);
      expect(r.failedBeforeFirstRotation).toBe(0);
      expect(r.uncaughtErrors).toBe(0);
      expect(r.queriesOk).toBeGreaterThan(50);
    }
    expect(naiveResult.failedByKind.auth).toBeGreaterThan(0);
    expect(naiveResult.recoveryMs).toEqual([null]);
    expect(naiveResult.getSecretValueCalls).toBe(0);
    expect(dbcredsResult.queriesFailed, dbcredsResult.errorSamples.join('\n')).toBe(0);
    // initial load + AWSCURRENT re-read + AWSPENDING fallback during the rotation window
    expect(dbcredsResult.getSecretValueCalls).toBeGreaterThanOrEqual(1);
    expect(dbcredsResult.getSecretValueCalls).toBeLessThanOrEqual(4);
    // The chart's timeline: the rotation's steps, every ok query in a bucket, the calls as ticks.
    const t = dbcredsResult.timeline;
    expect(t.steps.map((s) => s.step)).toEqual(['createSecret', 'setSecret', 'testSecret', 'finishSecret']);
    const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
    expect(t.ok).toHaveLength(Math.ceil(t.durationMs / t.bucketMs));
    expect(sum(t.ok)).toBeGreaterThan(dbcredsResult.queriesOk * 0.9); // the last in-flight queries end after the run
    expect(sum(t.failed)).toBe(0);
    expect(sum(naiveResult.timeline.failed)).toBeGreaterThan(0);
    expect(t.getSecretValue.length).toBeLessThanOrEqual(dbcredsResult.getSecretValueCalls);
  });

  it('classifies failures by code: auth, killed sessions, other', () => {
    expect(classifyFailure(Object.assign(new Error('x'), { code: '28P01' }))).toBe('auth');
    expect(classifyFailure(new Error('wrapped', { cause: { errno: 1045 } }))).toBe('auth');
    expect(classifyFailure(Object.assign(new Error('x'), { code: '57P01' }))).toBe('killed');
    expect(classifyFailure(new Error('Internal pooled connection failed: password authentication failed'))).toBe(
      'auth',
    );
    expect(classifyFailure(new Error('boom'))).toBe('other');
  });
});

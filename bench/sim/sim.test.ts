// The fleet simulation at N = 100 (seconds, no servers): counts, determinism, and that the quota bites.
import { describe, expect, it } from 'vitest';
import { runSim, SIM_DEFAULTS, type SimOptions } from './run.js';

const small: SimOptions = {
  ...SIM_DEFAULTS,
  processes: 100,
  startupMs: 5_000,
  warmupMs: 10_000,
  rotationIntervalMs: 40_000,
  connIntervalMs: 2_000,
  seed: 7,
};

describe('fleet simulation (real core sources on simulated time)', () => {
  it('single-user rotation: 0 failed, every process on the new version, model and sources agree on the calls', async () => {
    // Act
    const r = await runSim(small);
    // Assess
    expect(r.failed).toBe(0);
    // Every process met the new password at least once after setSecret: the database model bites.
    expect(r.refusedLogins).toBeGreaterThanOrEqual(100);
    expect(r.allHeldMs[0]).toBeGreaterThan(0);
    // 1 initial read, then AWSCURRENT (+ AWSPENDING in the window, + one recheck at most) per process.
    expect(r.perProcess.min).toBeGreaterThanOrEqual(2);
    expect(r.perProcess.max).toBeLessThanOrEqual(4);
    expect(r.byCaller['fleet:GetSecretValue']).toBe(r.perProcess.total);
    expect(r.readsPerSecond.reduce((a, b) => a + b, 0)).toBe(r.perProcess.total);
    expect(r.apis.GetSecretValue.throttled).toBe(0);
    expect(r.apis.Writes.requests).toBe(2);
  });

  it('is deterministic for a seed', async () => {
    const a = await runSim({ ...small, processes: 30 });
    const b = await runSim({ ...small, processes: 30 });
    expect(b.readsPerSecond).toEqual(a.readsPerSecond);
    expect(b.connections).toBe(a.connections);
  });

  it('throttles beyond the quota: with 5 GetSecretValue/s left to the fleet, calls are refused', async () => {
    const r = await runSim({ ...small, processes: 30, backgroundGsvTps: 9_995 });
    expect(r.apis.GetSecretValue.available).toBe(5);
    expect(r.apis.GetSecretValue.throttled).toBeGreaterThan(0);
  });

  it('through one agent per host, Secrets Manager sees far fewer reads than the sources make', async () => {
    const r = await runSim({ ...small, agent: true, perHost: 50 });
    expect(r.hosts).toBe(2);
    expect(r.failed).toBe(0);
    expect(r.allHeldMs[0]).toBeGreaterThan(0);
    expect(r.byCaller['agent:GetSecretValue']).toBeLessThan(r.perProcess.total / 4);
    expect(r.byCaller['fleet:GetSecretValue']).toBeUndefined();
  });
});

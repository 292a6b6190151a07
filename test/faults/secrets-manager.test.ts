/**
 * Secrets Manager faults on the wire, through real @dbcreds/pg and @dbcreds/mysql2 pools.
 *
 * Each test runs every fault at once (its own secret, database user, pool and fault proxy in front of
 * the one local Secrets Manager) plus a control scenario without a fault, 8 workers each. Cache TTL
 * 1 s, so it expires inside each fault; every connection is closed after ~500 ms of use, so new
 * logins (each one a get()) happen throughout. Timeline: steady phase, the fault (at least 3 s, and
 * until what the test asserts about it has happened), recovery (until the source refreshed by itself
 * and 50 queries started after that).
 *
 * Nothing here asserts elapsed time or a percentile: the phases are driven by counts, bounds on calls
 * scale with the fault's real duration, and the only deadlines catch hangs (≥ 10× the expected time).
 * The latency and recovery-time figures are printed (the README's table), not asserted.
 *
 * - warm cache: 0 failed queries; Secrets Manager calls bounded; the source refreshes by itself after
 *   the fault clears; whatever the fault (10 s slow, never answering, errors), no caller waits for
 *   Secrets Manager (stale-while-revalidate): the source's `misses` (gets that awaited a fetch) do not
 *   move during the fault.
 * - rotation during the fault (single-user: the password changes on the server, the new version is
 *   in Secrets Manager but only reachable once the fault clears): refused logins wait, polling through
 *   the fault (awaitRotationMs); bounded calls (no call per failed query), recovery by itself after the
 *   fault clears, then every query succeeds.
 * - cold start during the fault: every failure a typed error with `cause`, none slower than 10 ×
 *   attemptTimeoutMs × attempts (no hang); fewer Secrets Manager attempts than failed queries.
 */
import { PutSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import {
  type CredentialSource,
  createCredentialSource,
  DbCredsError,
  SecretFetchError,
  SecretFormatError,
} from '@dbcreds/core';
import { createPool as createMysqlPool } from '@dbcreds/mysql2';
import { createPool as createPgPool } from '@dbcreds/pg';
import {
  type Admin,
  createAdmin,
  dbSecretFor,
  ENGINES,
  type EngineName,
  moveCurrent,
  type FaultMode,
  type FaultProxy,
  newSecretsManagerClient,
  putDbSecret,
  randomPassword,
  startFaultProxy,
  startTestSecretsManager,
  type TestSecretsManager,
  type UserCreds,
  uniqueSecretName,
} from '@dbcreds/testbed';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

const WORKERS = 8;
const THINK_MS = 20;
/** Connections per pool (8 workers share them). */
const POOL_MAX = 4;
const CONN_AGE_MS = 500;
const ASK_EVERY_MS = 50;
/** Steady phase before the fault: long enough for a p99 on warm-cache runs, just a warm-up otherwise. */
const STEADY_MS = { warm: 1_000, rotation: 500, cold: 0 } as const;
/** Shortest fault; it lasts until what the test asserts about it has happened (see `faultShown`). */
const FAULT_MS = 3_000;
/** Queries in the fault window the warm and control scenarios need before the fault clears. */
const MIN_FAULT_QUERIES = 100;
/** Queries started after the source's recovery that must all succeed. */
const QUERIES_AFTER_RECOVERY = 50;
/** Deadline of every wait: only catches hangs (each takes well under 3 s on a quiet machine). */
const HANG_MS = 30_000;
const WARMUP_MS = 300;
const SOURCE = {
  ttlMs: 1_000,
  maxStaleMs: 60_000,
  // Long enough that the local Secrets Manager answers in time on a loaded machine (a timeout here is the
  // fault, never the machine), short enough that a blackholed fetch ends within seconds.
  attemptTimeoutMs: 2_000,
  retry: { maxAttempts: 3, baseDelayMs: 50, maxDelayMs: 100 },
  errorBackoff: { baseDelayMs: 100, maxDelayMs: 300 },
  minRefreshIntervalMs: 1_000,
};
/** Longest a fetch may take: every attempt times out, plus the retry delays. */
const FETCH_BOUND_MS = SOURCE.attemptTimeoutMs * SOURCE.retry.maxAttempts + 2 * SOURCE.retry.maxDelayMs;
/**
 * GetSecretValue attempts a fault of `faultMs` may cost: 3 per fetch; failed fetches are spaced by the error
 * backoff (100, 200, then 300 ms, not jittered), so at most 3 + faultMs / 300 fetches.
 */
function callBound(faultMs: number): number {
  return SOURCE.retry.maxAttempts * (3 + Math.ceil(faultMs / SOURCE.errorBackoff.maxDelayMs));
}

type Fault = Exclude<FaultMode, 'pass'> | 'broken-json' | 'no-password' | 'none';
type Phase = keyof typeof STEADY_MS;
const WIRE_FAULTS: Fault[] = ['http500', 'throttle', 'latency', 'blackhole', 'refuse', 'reset', 'truncate', 'garbage'];
/** Secrets Manager answering after 10 s or never: the faults that used to make every new connection wait. */
const SLOW_FAULTS: Fault[] = ['latency', 'blackhole'];
const FAULTS: Fault[] = [...WIRE_FAULTS, 'broken-json', 'no-password', 'none'];

interface Sample {
  start: number;
  end: number;
  error?: unknown;
}

interface Pooled {
  query(): Promise<void>;
  end(): Promise<void>;
}

interface Scenario {
  fault: Fault;
  secretId: string;
  user: UserCreds;
  proxy: FaultProxy;
  client: SecretsManagerClient;
  source: CredentialSource | undefined;
  pool: Pooled | undefined;
  samples: Sample[];
  refreshedAt: number[];
  errorEvents: number;
  /** GetSecretValue requests that reached the proxy, with their time. */
  wire: number[];
}

interface Row {
  engine: EngineName;
  phase: string;
  fault: Fault;
  queries: number;
  failed: number;
  attempts: number;
  /** GetSecretValue requests the proxy received during the fault (refused connections never arrive). */
  onWire: number;
  steadyP99: number;
  faultP99: number;
  faultMax: number;
  recoveryMs: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitUntil(cond: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + HANG_MS;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${HANG_MS} ms waiting for ${what}`);
    await sleep(20);
  }
}

function p99(samples: Sample[]): number {
  const d = samples.map((s) => s.end - s.start).sort((a, b) => a - b);
  return d.length === 0 ? 0 : d[Math.min(d.length - 1, Math.ceil(d.length * 0.99) - 1)]!;
}

function within(samples: Sample[], from: number, to: number): Sample[] {
  return samples.filter((s) => s.start >= from && s.start < to);
}

function openPool(engine: EngineName, source: CredentialSource): Pooled {
  const born = new WeakMap<object, number>();
  const old = (conn: object): boolean => {
    const t = born.get(conn);
    if (t === undefined) born.set(conn, Date.now());
    return t !== undefined && Date.now() - t > CONN_AGE_MS;
  };
  if (engine === 'postgres') {
    const pool = createPgPool(source, { max: POOL_MAX, connectionTimeoutMillis: 10_000 });
    return {
      async query() {
        const c = await pool.connect();
        let ok = false;
        try {
          await c.query('SELECT 1');
          ok = true;
        } finally {
          c.release(!ok || old(c));
        }
      },
      end: () => pool.end(),
    };
  }
  const pool = createMysqlPool(source, { connectionLimit: POOL_MAX, connectTimeout: 10_000 }).promise();
  return {
    async query() {
      const c = await pool.getConnection();
      let ok = false;
      try {
        await c.query('SELECT 1');
        ok = true;
      } finally {
        if (!ok || old(c.connection)) c.destroy();
        else c.release();
      }
    },
    end: () => pool.end(),
  };
}

describe.each(ENGINES)('Secrets Manager faults through @dbcreds/%s pools', { timeout: 240_000 }, (engine) => {
  let admin: Admin;
  let tsm: TestSecretsManager;
  const opened: Scenario[] = [];

  beforeAll(async () => {
    [admin, tsm] = await Promise.all([createAdmin(engine), startTestSecretsManager()]);
  });

  // Each test's scenarios stay open for its assertions; the next test (or afterAll) closes them.
  beforeEach(async () => {
    await Promise.all([...opened].map(closeScenario));
  });

  afterAll(async () => {
    await Promise.all([...opened].map(closeScenario));
    await tsm?.close();
    await admin?.close();
  });

  async function newScenario(fault: Fault): Promise<Scenario> {
    const [user, proxy] = await Promise.all([
      admin.createUser({ prefix: 'smf' }),
      startFaultProxy({ target: tsm.endpoint, latencyMs: 10_000 }),
    ]);
    const secretId = uniqueSecretName('smfault');
    await putDbSecret(tsm.client, secretId, dbSecretFor(engine, user));
    const sc: Scenario = {
      fault,
      secretId,
      user,
      proxy,
      client: newSecretsManagerClient(proxy.endpoint, 1),
      source: undefined,
      pool: undefined,
      samples: [],
      refreshedAt: [],
      errorEvents: 0,
      wire: [],
    };
    proxy.onRequest((r) => {
      if (r.target === 'secretsmanager.GetSecretValue') sc.wire.push(Date.now());
    });
    opened.push(sc);
    return sc;
  }

  function start(sc: Scenario): void {
    const source = createCredentialSource({ secretId: sc.secretId, client: sc.client, ...SOURCE });
    source.on('refreshed', () => sc.refreshedAt.push(Date.now()));
    source.on('error', () => {
      sc.errorEvents++;
    });
    sc.source = source;
    sc.pool = openPool(engine, source);
  }

  async function closeScenario(sc: Scenario): Promise<void> {
    const i = opened.indexOf(sc);
    if (i < 0) return;
    opened.splice(i, 1);
    await sc.pool?.end().catch(() => {});
    sc.source?.close();
    sc.client.destroy();
    await sc.proxy.close();
  }

  /**
   * 8 query loops until `stop.at` (set once recovery is shown), plus one caller asking the source every
   * 50 ms, like the rest of an app would: on a loaded machine the pools' own callers can sit for a
   * second in a connection setup, and the source can only recover when someone asks it.
   */
  async function work(sc: Scenario, stop: { at: number }): Promise<void> {
    const asker = async () => {
      while (Date.now() < stop.at) {
        await sc.source!.get().catch(() => {});
        await sleep(ASK_EVERY_MS);
      }
    };
    const one = async () => {
      while (Date.now() < stop.at) {
        const s: Sample = { start: Date.now(), end: 0 };
        try {
          await sc.pool!.query();
        } catch (err) {
          s.error = err;
        }
        s.end = Date.now();
        sc.samples.push(s);
        await sleep(THINK_MS);
      }
    };
    await Promise.all([asker(), ...Array.from({ length: WORKERS }, one)]);
  }

  async function putRaw(secretId: string, SecretString: string): Promise<void> {
    await tsm.client.send(new PutSecretValueCommand({ SecretId: secretId, SecretString }));
  }

  /** Starts the fault; with `rotate`, also changes the password on the server (and proves it). */
  async function applyFault(sc: Scenario, rotate: boolean): Promise<UserCreds | undefined> {
    const next = rotate ? { username: sc.user.username, password: randomPassword() } : undefined;
    if (sc.fault !== 'none' && WIRE_FAULTS.includes(sc.fault)) await sc.proxy.setMode(sc.fault as FaultMode);
    if (sc.fault === 'broken-json') await putRaw(sc.secretId, '{"username": "app", "password": ');
    if (sc.fault === 'no-password') await putRaw(sc.secretId, JSON.stringify({ username: sc.user.username }));
    if (next) {
      // Single-user rotation as AWS runs it: createSecret (AWSPENDING), setSecret (the server's password),
      // finishSecret (AWSCURRENT moves). Behind the fault; for a broken secret, the good version comes at clear.
      const broken = sc.fault === 'broken-json' || sc.fault === 'no-password';
      const pending = broken
        ? undefined
        : await putDbSecret(tsm.client, sc.secretId, dbSecretFor(engine, next), ['AWSPENDING']);
      await admin.setPassword(sc.user.username, next.password);
      await admin.expectLoginRejected(sc.user); // the cached password is dead from here on
      if (pending) await moveCurrent(tsm.client, sc.secretId, pending);
    }
    return next;
  }

  async function clearFault(sc: Scenario, next: UserCreds | undefined): Promise<void> {
    if (WIRE_FAULTS.includes(sc.fault)) await sc.proxy.setMode('pass');
    if (sc.fault === 'broken-json' || sc.fault === 'no-password') {
      await putDbSecret(tsm.client, sc.secretId, dbSecretFor(engine, next ?? sc.user));
    }
  }

  interface Measured {
    sc: Scenario;
    tFault: number;
    tClear: number;
    attempts: number;
    /** get() calls that awaited a fetch while the fault was on. */
    misses: number;
  }

  /**
   * What each phase asserts about the fault, made to happen before the fault clears: enough load in the
   * window; the fault hit (an error event, a failed query); cold start: more failed queries than Secrets
   * Manager attempts (impossible if Secrets Manager were called per failed query: the wait would time out).
   */
  function faultShown(phase: Phase, sc: Scenario, tFault: number, now: number, attemptsAtFault: number): boolean {
    const during = within(sc.samples, tFault, now);
    const failed = during.filter((s) => s.error !== undefined).length;
    if (sc.fault === 'none' || phase === 'warm') {
      if (during.length < MIN_FAULT_QUERIES) return false;
    }
    if (sc.fault === 'none') return true;
    if (phase === 'warm') return sc.errorEvents > 0;
    // A refused login met the fault: since awaitRotationMs it waits (polling) instead of failing.
    if (phase === 'rotation') return sc.source!.stats().refreshes > 0 && sc.source!.stats().fetches > attemptsAtFault;
    return failed > sc.source!.stats().fetches - attemptsAtFault;
  }

  /** The source's first successful fetch after the fault cleared (from then on logins get working credentials). */
  function recoveredAt(sc: Scenario, tClear: number): number | undefined {
    return sc.refreshedAt.find((t) => t >= tClear);
  }

  /** Runs all scenarios of one phase in parallel; returns the measurements per scenario. */
  async function runPhase(phase: Phase, faults = FAULTS): Promise<Measured[]> {
    const scenarios = await Promise.all(faults.map(newScenario));
    return Promise.all(
      scenarios.map(async (sc) => {
        let tFault: number;
        let next: UserCreds | undefined;
        let workers: Promise<void>;
        let attemptsAtFault = 0;
        let missesAtFault = 0;
        const stop = { at: Number.POSITIVE_INFINITY };
        if (phase === 'cold') {
          await applyFault(sc, false);
          tFault = Date.now();
          start(sc);
          workers = work(sc, stop);
        } else {
          start(sc);
          await sc.source!.get();
          workers = work(sc, stop);
          await sleep(STEADY_MS[phase]);
          attemptsAtFault = sc.source!.stats().fetches;
          missesAtFault = sc.source!.stats().misses;
          tFault = Date.now();
          next = await applyFault(sc, phase === 'rotation');
        }
        await sleep(tFault + FAULT_MS - Date.now());
        let tClear = 0; // the moment faultShown held (the assertions look at the same window)
        await waitUntil(() => {
          tClear = Date.now();
          return faultShown(phase, sc, tFault, tClear, attemptsAtFault);
        }, `${sc.fault}: the fault's effect`);
        const attempts = sc.source!.stats().fetches - attemptsAtFault;
        const misses = sc.source!.stats().misses - missesAtFault;
        await clearFault(sc, next);
        await waitUntil(() => {
          const at = recoveredAt(sc, tClear);
          return at !== undefined && sc.samples.filter((s) => s.start > at).length >= QUERIES_AFTER_RECOVERY;
        }, `${sc.fault}: recovery and ${QUERIES_AFTER_RECOVERY} queries after it`);
        stop.at = Date.now();
        await workers;
        // Ended on credentials the server accepts (the rotated password).
        if (next) await admin.expectLoginAccepted(await sc.source!.get());
        return { sc, tFault, tClear, attempts, misses };
      }),
    );
  }

  function record(phase: Phase, m: Measured): Row {
    const { sc, tFault, tClear } = m;
    const steady = within(sc.samples, tFault - STEADY_MS[phase] + WARMUP_MS, tFault);
    const during = within(sc.samples, tFault, tClear);
    // Recovered: the source's first successful fetch after the fault cleared (from then on new
    // connections get working credentials; the tests check that queries started later succeed).
    const recovered = recoveredAt(sc, tClear);
    const recoveryMs = recovered === undefined ? Number.POSITIVE_INFINITY : recovered - tClear;
    const row: Row = {
      engine,
      phase,
      fault: sc.fault,
      queries: sc.samples.length,
      failed: sc.samples.filter((s) => s.error !== undefined).length,
      attempts: m.attempts,
      onWire: sc.wire.filter((t) => t >= tFault && t < tClear).length,
      steadyP99: p99(steady),
      faultP99: p99(during),
      faultMax: Math.max(0, ...during.map((s) => s.end - s.start)),
      recoveryMs,
    };
    return row;
  }

  /** Recovered by itself after the fault cleared (the figure is printed); every query started after that succeeded. */
  function expectRecovered(m: Measured, row: Row, what: string): void {
    expect(row.recoveryMs, `${what}: recovery`).toBeLessThan(Number.POSITIVE_INFINITY);
    const at = m.tClear + row.recoveryMs;
    const after = m.sc.samples.filter((s) => s.start > at);
    expect(after.length, `${what}: load after recovery`).toBeGreaterThanOrEqual(QUERIES_AFTER_RECOVERY);
    expect(
      after.filter((s) => s.error !== undefined).map((s) => String(s.error)),
      `${what}: queries after recovery`,
    ).toEqual([]);
  }

  it('warm cache: every fault → 0 failed queries, bounded calls, recovery by itself, nobody waits for Secrets Manager', async () => {
    // The slow faults run first, on their own, with a control scenario in the same time window (the
    // printed latency figures compare them); then every other fault at once.
    const timed = await runPhase('warm', [...SLOW_FAULTS, 'none']);
    const measured = [
      ...timed,
      ...(await runPhase(
        'warm',
        FAULTS.filter((f) => !SLOW_FAULTS.includes(f)),
      )),
    ];
    const recorded = measured.map((m) => [m, record('warm', m)] as const);
    printRows(recorded.map(([, r]) => r));
    for (const [m, row] of recorded) {
      const what = `${engine} warm ${m.sc.fault}`;
      const bound = callBound(m.tClear - m.tFault);
      expect(row.failed, what).toBe(0);
      expect(within(m.sc.samples, m.tFault, m.tClear).length, `${what}: load during the fault`).toBeGreaterThanOrEqual(
        MIN_FAULT_QUERIES,
      );
      expect(m.attempts, what).toBeLessThanOrEqual(bound);
      expect(row.onWire, `${what}: requests seen by the proxy`).toBeLessThanOrEqual(bound);
      if (m.sc.fault === 'none') continue;
      expect(m.sc.errorEvents, `${what}: the fault was hit`).toBeGreaterThan(0);
      expect(row.recoveryMs, `${what}: refreshed by itself after the fault`).toBeLessThan(Number.POSITIVE_INFINITY);
      // Stale-while-revalidate: every get() in the fault answered from the cache, none awaited Secrets Manager.
      expect(m.misses, `${what}: callers that waited for Secrets Manager`).toBe(0);
    }
  });

  it('rotation during each fault: bounded calls (none per failed query), recovery by itself after the fault clears', async () => {
    // Two halves: failing logins are the expensive part (a PostgreSQL backend per attempt), and callers
    // stuck in them are what the source's recovery waits for on a loaded machine.
    const first: Fault[] = ['http500', 'throttle', 'latency', 'blackhole', 'refuse', 'none'];
    const measured = [
      ...(await runPhase('rotation', first)),
      ...(await runPhase(
        'rotation',
        FAULTS.filter((f) => !first.includes(f)),
      )),
    ];
    const recorded = measured.map((m) => [m, record('rotation', m)] as const);
    printRows(recorded.map(([, r]) => r));
    for (const [m, row] of recorded) {
      const what = `${engine} rotation ${m.sc.fault}`;
      const bound = callBound(m.tClear - m.tFault);
      expect(m.attempts, what).toBeLessThanOrEqual(bound);
      expect(row.onWire, `${what}: requests seen by the proxy`).toBeLessThanOrEqual(bound);
      if (m.sc.fault === 'none') {
        expect(row.failed, `${what}: a rotation alone costs nothing`).toBe(0);
        continue;
      }
      expect(m.sc.source!.stats().refreshes, `${what}: the rotation was hit (logins refused)`).toBeGreaterThan(0);
      expectRecovered(m, row, what);
    }
  });

  it('cold start during each fault: typed errors with cause, no hang, fewer calls than failures, recovery by itself', async () => {
    const measured = await runPhase('cold');
    const recorded = measured.map((m) => [m, record('cold', m)] as const);
    printRows(recorded.map(([, r]) => r));
    for (const [m, row] of recorded) {
      const what = `${engine} cold ${m.sc.fault}`;
      const during = within(m.sc.samples, m.tFault, m.tClear);
      const failures = during.filter((s) => s.error !== undefined);
      const bound = callBound(m.tClear - m.tFault);
      expect(m.attempts, what).toBeLessThanOrEqual(bound);
      expect(row.onWire, `${what}: requests seen by the proxy`).toBeLessThanOrEqual(bound);
      if (m.sc.fault === 'none') {
        expect(row.failed, what).toBe(0);
        continue;
      }
      expectRecovered(m, row, what);
      expect(failures.length, `${what}: the fault was hit`).toBeGreaterThan(0);
      const Expected =
        m.sc.fault === 'broken-json' || m.sc.fault === 'no-password' ? SecretFormatError : SecretFetchError;
      for (const f of failures) {
        expect(f.error, what).toBeInstanceOf(Expected);
        expect(f.error, what).toBeInstanceOf(DbCredsError);
        if (Expected === SecretFetchError) expect((f.error as Error).cause, `${what}: cause`).toBeDefined();
      }
      // A hang guard: a failure waits at most for one fetch (FETCH_BOUND_MS: every attempt timed out).
      expect(Math.max(...failures.map((s) => s.end - s.start)), `${what}: no hang`).toBeLessThan(
        FETCH_BOUND_MS + HANG_MS,
      );
      // Bounded: Secrets Manager is not called once per failed query.
      expect(failures.length, `${what}: failed queries vs Secrets Manager attempts`).toBeGreaterThan(m.attempts);
    }
  });
});

/** The measurement table (printed, so a run's figures can be quoted). */
function printRows(rows: Row[]): void {
  const lines = rows.map(
    (r) =>
      `| ${r.engine} | ${r.phase} | ${r.fault} | ${r.queries} | ${r.failed} | ${r.attempts} | ${r.onWire} | ${r.steadyP99} | ${r.faultP99} | ${r.faultMax} | ${r.recoveryMs} |`,
  );
  console.log(
    [
      '',
      '| engine | phase | fault | queries | failed | SM attempts in fault | on the wire | steady p99 ms | fault p99 ms | fault max ms | recovery ms |',
      ...lines,
    ].join('\n'),
  );
}

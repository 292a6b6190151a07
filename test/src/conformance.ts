/**
 * The conformance suite every adapter runs (in the spirit of Auth.js's `runBasicTests`): real
 * PostgreSQL (scram) and MariaDB, the local Secrets Manager over HTTP, an admin side channel.
 * Each scenario proves the server rejects the old credentials before asserting recovery, and
 * asserts zero failed queries and a bound on GetSecretValue calls.
 */
import {
  ConfigurationError,
  type CredentialSource,
  type CredentialSourceOptions,
  createCredentialSource,
  type DbCredentials,
  isAuthError,
} from '@dbcreds/core';
import type { LibraryClient, LibraryClientOptions, LibraryEntry, LibraryPool } from 'dbcreds/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Admin, createAdmin, randomPassword, type UserCreds } from './admin.js';
import { currentAudit, LeakAudit, rememberPassword, setCurrentAudit } from './leak-audit.js';
import {
  dbSecretFor,
  moveCurrent,
  putDbSecret,
  rdsManagedSecretName,
  SECRET_SHAPE_KEYS,
  type SecretShape,
  secretStringFor,
  startTestSecretsManager,
  type TestSecretsManager,
  uniqueSecretName,
} from './secrets.js';
import { ENGINES, type EngineName, serverFor } from './servers.js';
import { startConnectionWitness } from './witness.js';

/**
 * The client the suite drives, as `create` returns it: `query()` resolves to `current_user` (MySQL:
 * `CURRENT_USER()`), `transaction` is required; `close` must not close `ctx.source` (the suite does).
 */
type SuiteClient = Required<Pick<LibraryClient<string>, 'query' | 'transaction' | 'close'>> &
  Pick<LibraryClient, 'inspectables'>;

export interface ConformanceContext {
  engine: EngineName;
  /** Configured on this scenario's secret (options chosen by the scenario). Pass it to the library. */
  source: CredentialSource;
  /** Another source on the same secret, e.g. to test the adapter's handling of source options. Closed by the suite. */
  createSource(overrides?: Omit<Partial<CredentialSourceOptions>, 'secretId' | 'client'>): CredentialSource;
  /** The same secret as options (`{ secretId, client }`, or `{ secretId, agent }`), for adapters that accept source options. */
  sourceOptions: CredentialSourceOptions;
  /**
   * Pass as the library's host / port / database options. `host` is undefined only in the scenario that
   * checks a secret without a host is refused (pass it through as is: undefined means "not set").
   */
  host: string | undefined;
  port: number;
  database: string;
  /**
   * Use as the pool's idle timeout, in ms: 100 ms where connections must churn (idle ones close after
   * this); a minute where the scenario kills the sessions itself and must find them still open.
   */
  idleTimeoutMs: number;
  /**
   * Idle connections the pool may keep regardless of `idleTimeoutMs` (mysql2's `maxIdle`: its sweep destroys
   * every idle connection above it once a second): 0 where connections must churn, `maxConnections` otherwise.
   */
  maxIdle: number;
  /** Use as the pool's maximum size (the burst scenario opens this many connections at once). */
  maxConnections: number;
}

export interface ConformanceSuiteOptions {
  /** Shown in the describe title, e.g. '@dbcreds/pg'. */
  name: string;
  /** Default: ENGINES (PostgreSQL-scram and MariaDB). */
  engines?: EngineName[];
  /** A client of the library (usually {@link fromCatalog}); `query()` resolves to the session's user. */
  create(ctx: ConformanceContext): Promise<LibraryClient>;
  /** Scenario numbers expected to FAIL (run with `it.fails`): for the naive-pool honesty test. */
  expectFailures?: number[];
  /** Scenario numbers to run (default: all, see SCENARIOS). */
  scenarios?: number[];
  /**
   * Connection creations the library's pool may start per failed query in scenarios 6 and 7
   * (default 1). sequelize-pool starts one more create for the remaining waiters after every failed
   * one, so concurrent failing queries cost up to 2 creates each; every create still retries at most once.
   */
  createsPerFailedQuery?: number;
  /**
   * 'sdk' (default): sources read Secrets Manager with the SDK client. 'agent': through the local
   * Secrets Manager Agent endpoint (TTL 300 s, or the scenario's `ttlMs` when shorter); the asserted
   * GetSecretValue counts are then the agent's calls to Secrets Manager.
   */
  backend?: 'sdk' | 'agent' | MountedBackend;
}

/**
 * A secret the platform delivers (a mounted file kept in sync by a CSI-driver stand-in): the suite's
 * rotations go to Secrets Manager as always, and `mount` keeps the copy the source reads up to date.
 */
export interface MountedBackend {
  /** Shown in the describe title, e.g. 'a kubelet-style mount (lag 1500 ms)'. */
  name: string;
  mount(sm: TestSecretsManager, secretId: string): Promise<Mount>;
}

export interface Mount {
  /** Source options that read the mount (replacing `{ secretId, client }`; `secretKeys` is added by the suite). */
  options: Omit<CredentialSourceOptions, 'secretKeys'>;
  /** Writes the mount made so far. */
  writes(): number;
  /** The versionId a source reading the mount (with `secretKeys`) gives the Secrets Manager version `smVersionId`. */
  versionIdOf(smVersionId: string, secretKeys: CredentialSourceOptions['secretKeys']): Promise<string>;
  close(): Promise<void>;
}

/**
 * Mounted reads are local and the refused-login wait polls the mount (two files a round) until it catches
 * up: per write of the mount, up to this many more reads than the Secrets Manager bounds allow.
 */
const MOUNT_READS_PER_WRITE = 12;
/** Tuning of a catalog client for the suite: pool settings over the scenario's. */
export interface CatalogTuning {
  pool?: Partial<LibraryPool>;
}

/** The catalog's client options for a scenario: its server, source and pool, `current_user` as the query. */
export function catalogOptions(ctx: ConformanceContext, tuning: CatalogTuning = {}): LibraryClientOptions {
  return {
    engine: ctx.engine,
    source: ctx.source,
    host: ctx.host,
    port: ctx.port,
    database: ctx.database,
    pool: { max: ctx.maxConnections, idleTimeoutMs: ctx.idleTimeoutMs, maxIdle: ctx.maxIdle, ...tuning.pool },
    workload: 'current-user',
  };
}

/** `create` for the suite: the catalog entry's client of `library` (dbcreds/testing), tuned. */
export function fromCatalog(
  library: LibraryEntry,
  tuning?: CatalogTuning,
): (ctx: ConformanceContext) => Promise<LibraryClient> {
  return (ctx) => library.connect(catalogOptions(ctx, tuning));
}

/** Scenario numbers and titles. */
export const SCENARIOS = {
  1: 'steady state: churning pool, one GetSecretValue',
  2: 'single-user rotation completed under concurrent load',
  3: 'rotation window: new password only in AWSPENDING',
  4: 'alternating users: new connections use the new user',
  5: 'burst: 50 concurrent new connections refused at once, one refresh',
  6: 'credentials wrong everywhere: original auth error after one retry, rate-limited',
  7: 'non-credential rejection: original error, retried at most once, no hammering',
  8: 'Secrets Manager unreachable while the cache is warm',
  9: 'transactions in flight across a rotation complete',
  10: 'back-to-back single-user rotations inside one TTL',
  11: 'RDS-managed secret (username and password only, endpoint from options): rotation, AWSPENDING staged first',
  12: 'custom nested keys (secretKeys): rotation window',
  13: 'connection URL secret (a DATABASE_URL key, then a whole-URL SecretString): rotation window',
  14: 'secret without a host and no host option: ConfigurationError, no connection attempted',
  15: 'out-of-band change: password changed on the server, secret updated 1.5 s later, no AWSPENDING',
} as const;

/** After killing sessions: lets each client library see the termination before the next checkout
 * (a pooled client the server killed but the pool has not yet noticed fails its next query with 57P01;
 * that is a dropped connection, not a credential problem, and not what this suite measures). */
const SETTLE_AFTER_KILL_MS = 250;
const IDLE_TIMEOUT_MS = 100;
/**
 * Idle timeout of the scenarios that pause the load and kill the sessions (2, 10): the pool keeps its
 * connections across the pause, so the kill always finds sessions of the old login. With 100 ms, how many
 * were still open depended on how long the pause took on a loaded machine (0 is possible).
 */
const KEEP_IDLE_MS = 60_000;
const MAX_CONNECTIONS = 50;
const BURST = 50;
/**
 * A hang guard: a scenario takes 2-10 s on a quiet machine, but Prisma's took 30-55 s with the 2 cores shared
 * by ten test processes (45 s failed them by chance).
 */
const SCENARIO_TIMEOUT_MS = 120_000;

/**
 * `DBCREDS_CONFORMANCE_SCENARIOS=1,2,3`: runs only these of each suite's scenarios. The peer-version matrix legs
 * set it to the scenarios that exercise the library's own hook (`matrixTest` in vitest.config.ts).
 */
function scenarioFilter(value: string | undefined): Set<number> | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  const numbers = value.split(',').map((v) => Number(v.trim()));
  const unknown = numbers.filter((n) => !(n in SCENARIOS));
  if (unknown.length > 0) throw new Error(`DBCREDS_CONFORMANCE_SCENARIOS: no scenario ${unknown.join(', ')}`);
  return new Set(numbers);
}

export function runConformanceSuite(opts: ConformanceSuiteOptions): void {
  const engines = opts.engines ?? ENGINES;
  const wanted = new Set(opts.scenarios ?? Object.keys(SCENARIOS).map(Number));
  const only = scenarioFilter(process.env.DBCREDS_CONFORMANCE_SCENARIOS);
  if (only) for (const n of wanted) if (!only.has(n)) wanted.delete(n);
  const failing = new Set(opts.expectFailures ?? []);
  const creates = opts.createsPerFailedQuery ?? 1;

  const via =
    opts.backend === 'agent'
      ? ' via the Secrets Manager Agent'
      : typeof opts.backend === 'object'
        ? ` via ${opts.backend.name}`
        : '';
  describe.each(engines)(`${opts.name} conformance${via} on %s`, (engine) => {
    let admin: Admin;
    beforeAll(async () => {
      admin = await createAdmin(engine);
    });
    afterAll(async () => {
      await admin?.close();
    });

    const scenario = (
      n: keyof typeof SCENARIOS,
      body: (s: Scenario) => Promise<void>,
      sourceOpts?: SourceOpts,
      { shape = 'rds', idleTimeoutMs = IDLE_TIMEOUT_MS }: { shape?: SecretShape; idleTimeoutMs?: number } = {},
    ) => {
      if (!wanted.has(n)) return;
      const title = `${n}. ${SCENARIOS[n]}`;
      const run = async () => {
        const started = Date.now();
        const s = await Scenario.start(
          engine,
          admin,
          opts.create,
          sourceOpts ?? {},
          opts.backend ?? 'sdk',
          shape,
          idleTimeoutMs,
        );
        try {
          await body(s);
          s.auditEnd();
        } finally {
          if (process.env.DBCREDS_CONFORMANCE_REPORT) {
            // GetSecretValue calls since the scenario's last counter reset (the asserted window).
            console.info(
              `[conformance] ${opts.name} ${engine} #${n}: queries ok=${s.queries.ok} failed=${s.queries.failed} ` +
                `GetSecretValue=${s.getSecretValueCalls()} ` +
                `attempts=${s.attempts} refreshes=${s.source.stats().refreshes} audited=${s.audit.lines} ${Date.now() - started}ms`,
            );
          }
          await s.dispose();
        }
      };
      if (failing.has(n)) it.fails(title, run, SCENARIO_TIMEOUT_MS);
      else it(title, run, SCENARIO_TIMEOUT_MS);
    };

    scenario(1, async (s) => {
      const users: string[] = [];
      for (let round = 0; round < 3; round++) {
        users.push(...(await Promise.all(Array.from({ length: 8 }, () => s.client.query()))));
        // Idle connections close: the next round opens new ones.
        await s.waitForNoSessions(s.user.username);
      }
      expect(users.map(bareUser)).toEqual(Array(24).fill(s.user.username));
      s.expectReads(1, 1);
    });

    scenario(
      2,
      async (s) => {
        const load = new Load(s.client, 4);
        await load.until(20);
        // The four steps of single-user rotation, under load.
        const next = { username: s.user.username, password: randomPassword() };
        const pendingId = await putDbSecret(s.sm.client, s.secretId, dbSecretFor(engine, next), ['AWSPENDING']);
        await admin.setPassword(next.username, next.password);
        await admin.expectLoginRejected(s.user);
        await admin.expectLoginAccepted(next);
        await moveCurrent(s.sm.client, s.secretId, pendingId);
        // Kill every session (between queries: a kill mid-query fails that query by design). The pool keeps
        // idle connections (KEEP_IDLE_MS), so the kill finds the ones the load opened; MikroORM's MySQL pool
        // does not take ctx.maxIdle and may still close them during the pause: hence also the count under load.
        const openUnderLoad = await admin.countSessions(s.user.username);
        await load.pause();
        const killed = await admin.killSessions(s.user.username);
        await sleep(SETTLE_AFTER_KILL_MS);
        load.resume();
        const before = load.ok;
        await load.until(before + 60);
        const result = await load.stop();
        expect(result.failures).toEqual([]);
        expect(Math.max(killed, openUnderLoad)).toBeGreaterThanOrEqual(1); // sessions of the old login existed
        expect(s.source.stats().versionId).toBe(await s.versionIdOf(pendingId));
        // initial read + at most one refresh (AWSCURRENT, + AWSPENDING if it ran in the window)
        s.expectReads(0, 3);
      },
      { minRefreshIntervalMs: 200 },
      { idleTimeoutMs: KEEP_IDLE_MS },
    );

    scenario(3, async (s) => {
      await s.warm(4);
      const next = { username: s.user.username, password: randomPassword() };
      const pendingId = await putDbSecret(s.sm.client, s.secretId, dbSecretFor(engine, next), ['AWSPENDING']);
      await admin.setPassword(next.username, next.password); // setSecret done, finishSecret not yet
      await admin.expectLoginRejected(s.user);
      await admin.killSessions(s.user.username);
      await sleep(SETTLE_AFTER_KILL_MS);
      s.resetCounters();
      const results = await settle(Array.from({ length: 20 }, () => s.client.query()));
      expect(results.failures).toEqual([]);
      expect(results.values.map(bareUser)).toEqual(Array(20).fill(s.user.username));
      // AWSCURRENT re-read (still the rejected version) + AWSPENDING
      s.expectReads(0, 2);
      expect(s.source.stats().fallbacks).toBeGreaterThanOrEqual(1);
      // finishSecret: the pending version becomes current; nothing breaks, no extra reads needed.
      await moveCurrent(s.sm.client, s.secretId, pendingId);
      await admin.killSessions(s.user.username);
      await sleep(SETTLE_AFTER_KILL_MS);
      const after = await settle(Array.from({ length: 10 }, () => s.client.query()));
      expect(after.failures).toEqual([]);
      s.expectReads(0, 2);
    });

    scenario(
      4,
      async (s) => {
        await s.warm(4);
        const started = Date.now();
        const b = { username: `${s.user.username}_b`, password: randomPassword() };
        await admin.cloneUser(s.user.username, b.username, b.password);
        const versionB = await putDbSecret(s.sm.client, s.secretId, dbSecretFor(engine, b));
        await admin.expectLoginAccepted(s.user); // alternating: the old user still works
        await admin.expectLoginAccepted(b);
        // Still fine while the cache holds A (or already B if the TTL (>= ttl/2) ran out meanwhile).
        expect([s.user.username, b.username]).toContain(bareUser(await s.client.query()));
        await sleep(TTL_SHORT_MS + 50); // cache TTL elapsed
        // Only new physical connections read the source (a checkout of an idle one does not): force them.
        await admin.killSessions(s.user.username);
        await sleep(SETTLE_AFTER_KILL_MS);
        // Stale-while-revalidate: the first new connection after expiry still gets A (valid) at once and the
        // source reloads in the background.
        expect([s.user.username, b.username]).toContain(bareUser(await s.client.query()));
        const idB = await s.versionIdOf(versionB);
        await waitFor(() => s.source.stats().versionId === idB, 5_000, 'the background reload of B');
        await admin.killSessions(s.user.username); // only to force new connections (A still valid)
        await sleep(SETTLE_AFTER_KILL_MS);
        const results = await settle(Array.from({ length: 10 }, () => s.client.query()));
        expect(results.failures).toEqual([]);
        expect(results.values.map(bareUser)).toEqual(Array(10).fill(b.username));
        const elapsed = Date.now() - started;
        // initial + one re-read per TTL expiry (each expiry lands in [ttl/2, ttl])
        s.expectReads(2, 2 + Math.ceil(elapsed / (TTL_SHORT_MS / 2)));
        await admin.dropUser(b.username);
      },
      { ttlMs: TTL_SHORT_MS },
    );

    scenario(
      5,
      async (s) => {
        await s.warm(1);
        const next = { username: s.user.username, password: randomPassword() };
        await admin.setPassword(next.username, next.password);
        await putDbSecret(s.sm.client, s.secretId, dbSecretFor(engine, next));
        await admin.expectLoginRejected(s.user);
        await admin.killSessions(s.user.username);
        await sleep(SETTLE_AFTER_KILL_MS);
        s.resetCounters();
        const results = await settle(Array.from({ length: BURST }, () => s.client.query()));
        expect(results.failures).toEqual([]);
        s.expectReads(1, 2);
        expect(s.source.stats().refreshes).toBeGreaterThanOrEqual(1);
      },
      { minRefreshIntervalMs: 1_000 },
    );

    scenario(
      6,
      async (s) => {
        await s.warm(1);
        await admin.setPassword(s.user.username, randomPassword()); // in no secret version
        await admin.expectLoginRejected(s.user);
        await admin.killSessions(s.user.username);
        await sleep(SETTLE_AFTER_KILL_MS);
        s.resetCounters();
        const started = Date.now();
        s.attempts = 0;
        const first = await captureError(s.client.query());
        expect(isAuthError(first)).toBe(true);
        expect(reachableCodes(first)).toContain(authCode(engine));
        expect(s.attempts).toBe(2); // exactly one retry
        // 100 more, in 10 rounds of 10 concurrent queries (keeps scram-heavy PostgreSQL runs short).
        for (let round = 0; round < 10; round++) {
          const errs = await Promise.all(Array.from({ length: 10 }, () => captureError(s.client.query())));
          for (const err of errs) expect(reachableCodes(err)).toContain(authCode(engine));
        }
        const elapsed = Date.now() - started;
        expect(s.attempts).toBeLessThanOrEqual(2 * creates * 101);
        // a fruitless refresh costs 3 calls (AWSCURRENT, no AWSPENDING, AWSCURRENT again: finishSecret may have
        // run in between), at most one per minRefreshIntervalMs
        s.expectReads(0, 3 * (1 + Math.ceil(elapsed / MIN_REFRESH_MS)));
      },
      { minRefreshIntervalMs: MIN_REFRESH_MS, awaitRotationMs: WRONG_EVERYWHERE_WAIT_MS },
    );

    scenario(
      7,
      async (s) => {
        await s.warm(1);
        await admin.setLogin(s.user.username, false);
        const expected = engine === 'postgres' ? '28000' : 4151; // NOLOGIN / ACCOUNT LOCK
        await admin.expectLoginRejected(s.user, { code: expected });
        await admin.killSessions(s.user.username);
        await sleep(SETTLE_AFTER_KILL_MS);
        s.resetCounters();
        const started = Date.now();
        s.attempts = 0;
        const first = await captureError(s.client.query());
        expect(reachableCodes(first)).toContain(String(expected));
        // PostgreSQL 28000 is classified as auth (could be pg_hba): retried once; ACCOUNT LOCK is not.
        expect(s.attempts).toBe(isAuthError(first) ? 2 : 1);
        for (let i = 0; i < 20; i++)
          expect(reachableCodes(await captureError(s.client.query()))).toContain(String(expected));
        const elapsed = Date.now() - started;
        expect(s.attempts).toBeLessThanOrEqual(2 * creates * 21);
        // a fruitless refresh: 3 calls (see scenario 6), at most one per minRefreshIntervalMs
        s.expectReads(0, 3 * (1 + Math.ceil(elapsed / MIN_REFRESH_MS)));
        // Once the account is usable again, the same client recovers. A pool that starts one more create for its
        // waiters after each failed one (createsPerFailedQuery > 1: sequelize-pool) may hand the late refusals of
        // creates begun before the unlock to the next queries: the last query's retry and its replacement, at most
        // `creates` of them, with the same code. Every other pool: none.
        const lateAllowed = creates > 1 ? creates : 0;
        await admin.setLogin(s.user.username, true);
        for (let late = 0; ; late++) {
          const r = await s.client.query().then(
            (user) => ({ user }),
            (err: unknown) => ({ err }),
          );
          if ('user' in r) {
            expect(bareUser(r.user)).toBe(s.user.username);
            break;
          }
          expect(late).toBeLessThan(lateAllowed);
          expect(reachableCodes(r.err)).toContain(String(expected));
        }
      },
      // No out-of-band wait here (scenario 6 covers the wait's failure path): with it, Sequelize 6.31's pool hands the
      // late failure of a connection it created during the wait to the next caller, the query after the unlock below.
      { minRefreshIntervalMs: MIN_REFRESH_MS, awaitRotationMs: 0 },
    );

    scenario(
      8,
      async (s) => {
        await s.warm(2);
        await s.sm.close(); // Secrets Manager gone
        await sleep(TTL_SHORT_MS + 50); // cache expired: the library must try, fail, and serve stale
        await admin.killSessions(s.user.username);
        await sleep(SETTLE_AFTER_KILL_MS);
        const users: string[] = [];
        for (let round = 0; round < 3; round++) {
          const r = await settle(Array.from({ length: 10 }, () => s.client.query()));
          expect(r.failures).toEqual([]);
          users.push(...r.values);
          await admin.killSessions(s.user.username);
          await sleep(SETTLE_AFTER_KILL_MS);
        }
        expect(users.map(bareUser)).toEqual(Array(30).fill(s.user.username));
        // The outage was actually hit: the background reload after the expiry failed. Waited for (a hang guard),
        // not read at once: that reload runs beside the queries and may end after them on a loaded machine.
        await waitFor(() => s.source.stats().errors >= 1, 10_000, 'the failed background reload');
      },
      { ttlMs: TTL_SHORT_MS, retry: { maxAttempts: 1 }, errorBackoff: { baseDelayMs: 200, maxDelayMs: 1_000 } },
    );

    scenario(
      9,
      async (s) => {
        await s.warm(3);
        let release!: () => void;
        const gate = new Promise<void>((r) => {
          release = r;
        });
        let inside = 0;
        const seen: string[] = [];
        const hold = (): Promise<void> =>
          s.client.transaction(async (q) => {
            seen.push(await q());
            inside++;
            await gate;
            seen.push(await q());
          });
        const held = settle(Array.from({ length: 3 }, hold));
        await waitFor(() => inside === 3, 10_000, 'three transactions to start');
        // A full single-user rotation while they are open.
        const next = { username: s.user.username, password: randomPassword() };
        const pendingId = await putDbSecret(s.sm.client, s.secretId, dbSecretFor(engine, next), ['AWSPENDING']);
        await admin.setPassword(next.username, next.password);
        await admin.expectLoginRejected(s.user);
        await moveCurrent(s.sm.client, s.secretId, pendingId);
        // More transactions need new connections (the pooled ones are checked out).
        const fresh = await settle(
          Array.from({ length: 3 }, () =>
            s.client.transaction(async (q) => {
              seen.push(await q());
            }),
          ),
        );
        release();
        const old = await held;
        expect(old.failures).toEqual([]);
        expect(fresh.failures).toEqual([]);
        expect(seen.map(bareUser)).toEqual(Array(9).fill(s.user.username));
        s.expectReads(0, 3);
      },
      { minRefreshIntervalMs: 200 },
    );

    scenario(
      10,
      async (s) => {
        // Regression: after rotation 1 the cache holds v2 labelled AWSPENDING (the window fallback);
        // once finishSecret promotes v2, rotation 2 rejects v2 and must still find the new AWSPENDING.
        const load = new Load(s.client, 4);
        const pendingIds: string[] = [];
        const killed: number[] = [];
        let previous: UserCreds = s.user;
        /** Kills every session between queries (a kill mid-query fails that query by design), then waits for `n` more successes. */
        const killThenQueries = async (n: number) => {
          await load.pause();
          killed.push(await admin.killSessions(s.user.username));
          await sleep(SETTLE_AFTER_KILL_MS);
          load.resume();
          await load.until(load.ok + n);
        };
        let result: { ok: number; failures: string[] };
        try {
          await load.until(10);
          for (let r = 0; r < ROTATIONS_BACK_TO_BACK && load.failureCount === 0; r++) {
            const next = { username: s.user.username, password: randomPassword() };
            const pendingId = await putDbSecret(s.sm.client, s.secretId, dbSecretFor(engine, next), ['AWSPENDING']);
            pendingIds.push(pendingId);
            await admin.setPassword(next.username, next.password);
            await admin.expectLoginRejected(previous); // the password being rotated away from no longer works
            previous = next;
            // Rotation window: AWSCURRENT still is the rejected version; new connections must authenticate.
            await killThenQueries(15);
            await moveCurrent(s.sm.client, s.secretId, pendingId); // finishSecret
            await killThenQueries(15);
          }
        } finally {
          result = await load.stop();
        }
        expect(result.failures).toEqual([]);
        expect(pendingIds).toHaveLength(ROTATIONS_BACK_TO_BACK);
        // The kills found sessions (the pools keep idle ones, KEEP_IDLE_MS; MikroORM's MySQL pool may close some
        // during a pause, so the total, not each kill).
        expect(killed).toHaveLength(2 * ROTATIONS_BACK_TO_BACK);
        expect(killed.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(2 * ROTATIONS_BACK_TO_BACK);
        expect(s.source.stats().versionId).toBe(await s.versionIdOf(pendingIds.at(-1)!));
        // initial read + per rotation: AWSCURRENT (still the rejected version) + AWSPENDING. No TTL expiry.
        s.expectReads(1 + ROTATIONS_BACK_TO_BACK, 1 + 2 * ROTATIONS_BACK_TO_BACK);
      },
      { minRefreshIntervalMs: 200 },
      { idleTimeoutMs: KEEP_IDLE_MS },
    );

    /**
     * Single-user rotation of a secret in another shape: AWSPENDING staged first, the password changed,
     * the old one refused; every query succeeds in the window (AWSPENDING fallback) and after finishSecret.
     * `nextPassword` lets the URL scenario rotate to a password that needs percent-encoding.
     */
    const rotateShaped = async (s: Scenario, nextPassword = randomPassword()) => {
      await s.warm(4);
      // Counted from here: a pool that reconnects by itself after the kill (knex's `min`) refreshes before any query.
      s.resetCounters();
      const next = { username: s.user.username, password: rememberPassword(nextPassword) };
      const pendingId = await putDbSecret(s.sm.client, s.secretId, s.secretFor(next), ['AWSPENDING']);
      await admin.setPassword(next.username, next.password);
      await admin.expectLoginRejected(s.user);
      await admin.expectLoginAccepted(next);
      await admin.killSessions(s.user.username);
      await sleep(SETTLE_AFTER_KILL_MS);
      const during = await settle(Array.from({ length: 20 }, () => s.client.query()));
      expect(during.failures).toEqual([]);
      expect(during.values.map(bareUser)).toEqual(Array(20).fill(s.user.username));
      expect(s.source.stats().fallbacks).toBeGreaterThanOrEqual(1);
      await moveCurrent(s.sm.client, s.secretId, pendingId); // finishSecret
      await admin.killSessions(s.user.username);
      await sleep(SETTLE_AFTER_KILL_MS);
      const after = await settle(Array.from({ length: 10 }, () => s.client.query()));
      expect(after.failures).toEqual([]);
      expect(s.source.stats().versionId).toBe(await s.versionIdOf(pendingId));
      // AWSCURRENT re-read (still the rejected version) + AWSPENDING; nothing after finishSecret.
      s.expectReads(1, 2);
    };

    scenario(11, (s) => rotateShaped(s), {}, { shape: 'rds-managed' });
    scenario(12, (s) => rotateShaped(s), {}, { shape: 'custom-keys' });
    scenario(
      13,
      async (s) => {
        // The next version is a whole-URL SecretString, its password full of characters URLs escape.
        s.shape = 'url';
        await rotateShaped(s, `${randomPassword()} @:/%#+?&='"\\é`);
      },
      {},
      { shape: 'url-key' },
    );

    if (wanted.has(14)) {
      it(
        `14. ${SCENARIOS[14]}`,
        async () => {
          const witness = await startConnectionWitness();
          const sm = await startTestSecretsManager();
          const user = await admin.createUser({ prefix: 'conf' });
          const secretId = rdsManagedSecretName();
          await putDbSecret(sm.client, secretId, secretStringFor('rds-managed', engine, user));
          const source = createCredentialSource({ secretId, client: sm.client });
          let client: LibraryClient | undefined;
          try {
            await witness.selfCheck(); // a client defaulting to localhost:<port> would be counted
            const baseline = witness.connections;
            // The library may connect while being created (TypeORM, MikroORM) or at the first query.
            const err = await captureError(
              (async () => {
                client = await opts.create({
                  engine,
                  source,
                  createSource: () => {
                    throw new Error('not used in scenario 14');
                  },
                  sourceOptions: { secretId, client: sm.client },
                  host: undefined,
                  port: witness.port,
                  database: serverFor(engine).database,
                  idleTimeoutMs: IDLE_TIMEOUT_MS,
                  maxIdle: 0,
                  maxConnections: MAX_CONNECTIONS,
                });
                await client.query();
              })(),
            );
            expect(witness.connections).toBe(baseline); // nothing went to localhost:<port>
            expect(await admin.countSessions(user.username)).toBe(0);
            const found = errorChain(err).find((e) => e instanceof ConfigurationError);
            // Libraries that rebuild errors (Prisma) keep only the message.
            const message = found instanceof Error ? found.message : describeError(err);
            expect(message).toMatch(/has no host.*set `host`/s);
            expect(message).not.toContain(user.password);
          } finally {
            await client?.close().catch(() => {});
            source.close();
            await sm.close();
            await witness.close();
            await admin.dropUser(user.username);
          }
        },
        SCENARIO_TIMEOUT_MS,
      );
    }

    scenario(
      15,
      async (s) => {
        const load = new Load(s.client, 4);
        await load.until(20);
        // A console, Terraform or a DBA: the password changes on the server first, then the secret.
        const next = { username: s.user.username, password: randomPassword() };
        const changeStarted = Date.now(); // no login can be refused before this
        await admin.setPassword(next.username, next.password);
        const changedAt = Date.now();
        await admin.expectLoginRejected(s.user);
        // The secret follows the database by the gap, and never before a login was refused (on a loaded machine
        // the first new login may come later than the gap: the test makes the condition it asserts below).
        const refusedBefore = s.source.stats().refreshes;
        let putAfterMs = 0;
        const put = (async () => {
          await sleep(Math.max(0, OUT_OF_BAND_GAP_MS - (Date.now() - changedAt)));
          // (or a failed query: a pool that never refreshes, the honesty check, fails here at once, not after 30 s)
          await waitFor(
            () => s.source.stats().refreshes > refusedBefore || load.failureCount > 0,
            30_000,
            'a refused login',
          );
          putAfterMs = Date.now() - changeStarted;
          return putDbSecret(s.sm.client, s.secretId, dbSecretFor(engine, next));
        })();
        // New logins during the gap (kill between queries: a kill mid-query fails that query by design). The pool
        // keeps idle connections (KEEP_IDLE_MS), so the kill finds the ones it holds (MikroORM's MySQL pool may
        // close them itself during the pause: hence also the count under load); after it, the admin connection
        // sees none left: every later query needs a new login, which the server refuses until the secret follows.
        const openUnderLoad = await admin.countSessions(s.user.username);
        await load.pause();
        const killed = await admin.killSessions(s.user.username);
        await sleep(SETTLE_AFTER_KILL_MS);
        const left = await admin.countSessions(s.user.username);
        load.resume();
        const versionId = await put;
        await load.until(load.ok + 40);
        const result = await load.stop();
        expect(result.failures).toEqual([]);
        expect(Math.max(killed, openUnderLoad)).toBeGreaterThanOrEqual(1); // sessions of the old login existed
        expect(left).toBe(0); // …and none survived the kill
        expect(s.source.stats().refreshes).toBeGreaterThanOrEqual(1); // logins were refused during the gap
        // The wait's next poll installs the new version; the queries above may all have run on connections the
        // pool already had (MikroORM 6's knex pool), so it is waited for, not read at once (a hang guard).
        const id = await s.versionIdOf(versionId);
        await waitFor(() => s.source.stats().versionId === id, 10_000, 'the new version');
        // Until the put: the initial read, the first lookup (AWSCURRENT, AWSPENDING, AWSCURRENT again) and two
        // reads per poll of the wait, polls no closer than its schedule; then the poll that finds the new version
        // (two reads when it raced the put). Counted against the time the put really came (1.5 s on a quiet
        // machine: 1 + 3 + 2 x 2 + 1 = 9), so a slow machine cannot fail it by chance.
        s.expectReads(0, 1 + 3 + 2 * pollsStartedWithin(putAfterMs) + 2);
      },
      // The wait's budget only has to outlast the put; its running out is scenario 6's.
      { awaitRotationMs: OUT_OF_BAND_BUDGET_MS },
      { idleTimeoutMs: KEEP_IDLE_MS },
    );
  });
}

const ROTATIONS_BACK_TO_BACK = 3;
/** Scenario 15's gap between the server's password change and the secret's. */
const OUT_OF_BAND_GAP_MS = 1_500;
/** Scenario 15's wait budget: a hang guard (the put comes after the gap; scenario 6 covers the budget running out). */
const OUT_OF_BAND_BUDGET_MS = 60_000;
/**
 * How many polls of the out-of-band wait can have started `ms` after the first refusal: its delays are 250, 500,
 * 1000, then 2000 ms, jitter only lengthening them (packages/core/src/await-rotation.ts).
 */
function pollsStartedWithin(ms: number): number {
  let polls = 0;
  for (let at = 250, d = 250; at <= ms; d = Math.min(2 * d, 2_000), at += d) polls++;
  return polls;
}
/** Scenario 6: a short wait for an out-of-band change (the default 10 s would only slow the suite). */
const WRONG_EVERYWHERE_WAIT_MS = 1_000;

const TTL_SHORT_MS = 400;
/** The agent's default ttl_seconds (300). */
const AGENT_TTL_MS = 300_000;
const MIN_REFRESH_MS = 500;

type SourceOpts = Omit<Partial<CredentialSourceOptions>, 'secretId' | 'client'>;

/** Per-scenario fixture: user, secret, local SM, source (instrumented), the adapter's client. */
class Scenario {
  /** Calls of the adapter's attempt function inside `source.withAuthRetry` (each = one login try). */
  attempts = 0;
  /** `client.query()` outcomes over the scenario (DBCREDS_CONFORMANCE_REPORT). */
  readonly queries = { ok: 0, failed: 0 };
  client!: SuiteClient;
  /** The shape new secret versions are written in (`secretFor`). */
  shape: SecretShape = 'rds';
  /** The shape the secret was created in (the sources' `secretKeys`). */
  initialShape: SecretShape = 'rds';
  private readonly extraSources: CredentialSource[] = [];
  /** With a mounted backend: the mount the sources read, and the counts at the last resetCounters(). */
  mount: Mount | undefined;
  private readsAtReset = 0;
  private writesAtReset = 0;

  private constructor(
    readonly engine: EngineName,
    readonly admin: Admin,
    readonly sm: TestSecretsManager,
    readonly user: UserCreds,
    readonly secretId: string,
    readonly source: CredentialSource,
    readonly audit: LeakAudit,
  ) {}

  /** The SecretString of a new version for `creds`, in this scenario's shape. */
  secretFor(creds: { username: string; password: string }): string {
    return secretStringFor(this.shape, this.engine, creds);
  }

  /** Leak audit: inspect the source and the library's objects, then no password of the run anywhere. */
  auditEnd(): void {
    this.audit.addGraph('source', this.source);
    for (const o of this.client.inspectables?.() ?? []) this.audit.addGraph('client', o);
    this.audit.assertClean();
  }

  static async start(
    engine: EngineName,
    admin: Admin,
    create: ConformanceSuiteOptions['create'],
    sourceOpts: SourceOpts,
    backend: 'sdk' | 'agent' | MountedBackend,
    shape: SecretShape,
    idleTimeoutMs: number,
  ): Promise<Scenario> {
    const agentTtlMs = Math.min(AGENT_TTL_MS, sourceOpts.ttlMs ?? AGENT_TTL_MS);
    const sm = await startTestSecretsManager(backend === 'agent' ? { agent: { ttlMs: agentTtlMs } } : {});
    const user = await admin.createUser({ prefix: 'conf' });
    const secretId = shape === 'rds-managed' ? rdsManagedSecretName() : uniqueSecretName('conformance');
    await putDbSecret(sm.client, secretId, secretStringFor(shape, engine, user));
    const secretKeys = SECRET_SHAPE_KEYS[shape];
    const mount = typeof backend === 'object' ? await backend.mount(sm, secretId) : undefined;
    // A mounted secret is read from the mount only: no secretId, no client.
    const reader: CredentialSourceOptions = {
      ...(mount ? mount.options : sm.agent ? { secretId, agent: sm.agent } : { secretId, client: sm.client }),
      ...(secretKeys ? { secretKeys } : {}),
    };
    const audit = new LeakAudit();
    setCurrentAudit(audit);
    const source = createCredentialSource({ ...reader, logger: audit.logger, ...sourceOpts });
    audit.watch(source);
    const s = new Scenario(engine, admin, sm, user, secretId, source, audit);
    s.mount = mount;
    s.shape = shape;
    s.initialShape = shape;
    s.instrument();
    sm.sm.resetCounters();
    const server = serverFor(engine);
    const client = await create({
      engine,
      source,
      createSource: (overrides = {}) => {
        const extra = createCredentialSource({
          ...reader,
          logger: audit.logger,
          ...sourceOpts,
          ...overrides,
        });
        audit.watch(extra);
        s.extraSources.push(extra);
        return extra;
      },
      sourceOptions: reader,
      host: server.host,
      port: server.port,
      database: server.database,
      idleTimeoutMs,
      maxIdle: idleTimeoutMs === KEEP_IDLE_MS ? MAX_CONNECTIONS : 0,
      maxConnections: MAX_CONNECTIONS,
    });
    // Counts queries for the report (failures include those scenarios 6 and 7 provoke on purpose).
    const { transaction } = client;
    if (!transaction) throw new TypeError(`${engine}: the conformance suite needs the client's transaction()`);
    s.client = {
      close: () => client.close(),
      transaction: (body) => transaction.call(client, (q) => body(async () => String(await q()))),
      ...(client.inspectables ? { inspectables: client.inspectables.bind(client) } : {}),
      query: () =>
        client.query().then(
          (u) => {
            s.queries.ok++;
            return String(u);
          },
          (err: unknown) => {
            s.queries.failed++;
            throw err;
          },
        ),
    };
    return s;
  }

  /** Counts login attempts: wraps the attempt function the adapter hands to withAuthRetry. */
  private instrument(): void {
    const original = this.source.withAuthRetry.bind(this.source);
    const counted = <T>(attempt: (creds: DbCredentials) => Promise<T>): Promise<T> =>
      original((creds) => {
        this.attempts++;
        return attempt(creds);
      });
    Object.defineProperty(this.source, 'withAuthRetry', { value: counted, configurable: true, writable: true });
  }

  /**
   * GetSecretValue calls Secrets Manager received: from the sources, or from the agent in front of it.
   * With a mounted backend: the sources' reads of the mount.
   */
  getSecretValueCalls(): number {
    if (this.mount) return this.mountReads() - this.readsAtReset;
    return this.sm.sm.callCount('GetSecretValue') + (this.sm.sm.agent?.callCount('GetSecretValue') ?? 0);
  }

  private mountReads(): number {
    return [this.source, ...this.extraSources].reduce((n, src) => n + src.stats().fetches, 0);
  }

  /** Counts from here (Secrets Manager's counters, or the mount's reads and writes). */
  resetCounters(): void {
    this.sm.sm.resetCounters();
    this.readsAtReset = this.mount ? this.mountReads() : 0;
    this.writesAtReset = this.mount?.writes() ?? 0;
  }

  /**
   * The reads since the last reset are in [min, max]. A mounted backend may read up to
   * MOUNT_READS_PER_WRITE more per write of the mount (its lag is waited for by polling the files).
   */
  expectReads(min: number, max: number): void {
    const reads = this.getSecretValueCalls();
    expect(reads).toBeGreaterThanOrEqual(min);
    const writes = this.mount ? this.mount.writes() - this.writesAtReset : 0;
    expect(reads).toBeLessThanOrEqual(max + MOUNT_READS_PER_WRITE * writes);
  }

  /** The versionId a source of this scenario gives the Secrets Manager version `smVersionId`. */
  versionIdOf(smVersionId: string): Promise<string> {
    const keys = SECRET_SHAPE_KEYS[this.initialShape];
    return this.mount ? this.mount.versionIdOf(smVersionId, keys) : Promise.resolve(smVersionId);
  }

  async warm(n: number): Promise<void> {
    const users = await Promise.all(Array.from({ length: n }, () => this.client.query()));
    expect(users.map(bareUser)).toEqual(Array(n).fill(this.user.username));
  }

  async waitForNoSessions(username: string, timeoutMs = 5_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while ((await this.admin.countSessions(username)) > 0) {
      if (Date.now() > deadline) {
        throw new Error(`idle connections of ${username} did not close within ${timeoutMs} ms (use ctx.idleTimeoutMs)`);
      }
      await sleep(IDLE_TIMEOUT_MS / 2);
    }
  }

  async dispose(): Promise<void> {
    await this.client?.close().catch(() => {});
    this.source.close();
    for (const s of this.extraSources) s.close();
    await this.mount?.close();
    await this.sm.close();
    await this.admin.dropUser(this.user.username);
  }
}

/** Concurrent query workers that record every failure. */
class Load {
  ok = 0;
  private readonly failures: unknown[] = [];
  get failureCount(): number {
    return this.failures.length;
  }
  private readonly workers: Promise<void>[];
  private stopped = false;
  private gate: Promise<void> | undefined;
  private openGate: (() => void) | undefined;
  private inFlight = 0;

  constructor(
    private readonly client: SuiteClient,
    concurrency: number,
  ) {
    this.workers = Array.from({ length: concurrency }, () => this.work());
  }

  private async work(): Promise<void> {
    while (!this.stopped) {
      if (this.gate) {
        await this.gate;
        continue;
      }
      this.inFlight++;
      try {
        await this.client.query();
        this.ok++;
      } catch (err) {
        this.failures.push(err);
        currentAudit?.error(err);
      } finally {
        this.inFlight--;
      }
      await sleep(Math.random() * 5);
    }
  }

  async until(ok: number, timeoutMs = 15_000): Promise<void> {
    await waitFor(() => this.ok >= ok || this.failures.length > 0, timeoutMs, `${ok} successful queries`);
  }

  /** Stops issuing queries and waits for the in-flight ones. */
  async pause(): Promise<void> {
    this.gate = new Promise((r) => {
      this.openGate = r;
    });
    await waitFor(() => this.inFlight === 0, 15_000, 'in-flight queries to finish');
  }

  resume(): void {
    const open = this.openGate;
    this.gate = undefined;
    open?.();
  }

  async stop(): Promise<{ ok: number; failures: string[] }> {
    this.stopped = true;
    this.resume();
    await Promise.all(this.workers);
    return { ok: this.ok, failures: this.failures.map(describeError) };
  }
}

async function settle<T>(promises: Promise<T>[]): Promise<{ values: T[]; failures: string[] }> {
  const results = await Promise.allSettled(promises);
  const values: T[] = [];
  const failures: string[] = [];
  for (const r of results) {
    if (r.status === 'fulfilled') values.push(r.value);
    else {
      currentAudit?.error(r.reason);
      failures.push(describeError(r.reason));
    }
  }
  return { values, failures };
}

async function captureError(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    currentAudit?.error(err);
    return err;
  }
  throw new Error('expected the query to fail, but it succeeded');
}

/** `err` and every error reachable from it through wrapper chains (cause, original, parent, driverError…). */
function errorChain(err: unknown): Array<Record<string, unknown>> {
  const out: Array<Record<string, unknown>> = [];
  const seen = new Set<object>();
  const queue: unknown[] = [err];
  while (queue.length > 0 && seen.size < 50) {
    const node = queue.shift();
    if (node === null || typeof node !== 'object' || seen.has(node)) continue;
    seen.add(node);
    const e = node as Record<string, unknown>;
    out.push(e);
    for (const key of ['cause', 'original', 'parent', 'driverError', 'originalError', 'error']) queue.push(e[key]);
    const meta = e.meta as Record<string, unknown> | undefined;
    if (meta && typeof meta === 'object') queue.push(meta.driverAdapterError); // Prisma known request errors
    if (Array.isArray(e.errors)) queue.push(...e.errors);
  }
  return out;
}

/** Every error code reachable from `err` through wrapper chains, as strings (Prisma reports '1045'). */
export function reachableCodes(err: unknown): string[] {
  const out: string[] = [];
  for (const e of errorChain(err)) {
    for (const key of ['code', 'errno', 'originalCode'] as const) {
      const v = e[key];
      if (typeof v === 'string' || typeof v === 'number') out.push(String(v));
    }
  }
  return out;
}

function describeError(err: unknown): string {
  const codes = reachableCodes(err);
  const msg = err instanceof Error ? err.message : String(err);
  return `${codes.join('/')}: ${msg}`;
}

function authCode(engine: EngineName): string {
  return engine === 'postgres' ? '28P01' : '1045';
}

/** `user@%` (MySQL CURRENT_USER()) → `user`. */
function bareUser(u: string): string {
  return String(u).split('@')[0]!;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

async function waitFor(cond: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(5);
  }
}

/**
 * End to end: the `@dbcreds/pg` and `@dbcreds/mysql2` pools under concurrent load while the real
 * `@dbcreds/rotation` handler rotates their secret through real RotateSecret runs
 * (`@aws-sdk/client-secrets-manager` → local Secrets Manager over HTTP → `registerRotator`), on
 * scram PostgreSQL and MariaDB, for both strategies, and once driven by the rotation scheduler.
 *
 * Per case: 8 workers read and write through the pool (connections churn: short idle timeout, pg
 * `maxUses`). Each rotation is interrupted after setSecret (the window: AWSCURRENT still old): the
 * test proves the server already rejects the old password (single-user), kills the app's sessions
 * between queries (a kill mid-query fails that query by design) and requires the load to go on
 * (core's AWSPENDING fallback). After finishSecret it proves what the server rejects and accepts
 * (alternating: previous user still works, credentials two versions back rejected), kills again and
 * asserts recovery: zero failed queries, the new version and current_user, bounded GetSecretValue.
 *
 * GetSecretValue is counted three ways: the local Secrets Manager's total, the core source's
 * `stats().fetches` (the application), and an SDK middleware on each of the three clients
 * (application, rotation handler, this test), so the rotator's own reads are kept apart.
 * `DBCREDS_E2E_REPORT=1` prints the figures of each case.
 */
import { randomBytes } from 'node:crypto';
import {
  DescribeSecretCommand,
  GetSecretValueCommand,
  RotateSecretCommand,
  type SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { type CredentialSource, createCredentialSource } from '@dbcreds/core';
import { type LocalSecretsManager, startLocalSecretsManager } from '@dbcreds/local-secrets-manager';
import { createPool as createMysqlPool } from '@dbcreds/mysql2';
import { createPool as createPgPool } from '@dbcreds/pg';
import { createRotationHandler } from '@dbcreds/rotation';
import {
  type Admin,
  createAdmin,
  type DbSecretValue,
  dbSecretFor,
  ENGINES,
  type EngineName,
  newSecretsManagerClient,
  putDbSecret,
  serverFor,
  type UserCreds,
  uniqueName,
  uniqueSecretName,
} from '@dbcreds/testbed';
import type { RowDataPacket } from 'mysql2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

type Strategy = 'single-user' | 'alternating-users';
type Trigger = 'RotateSecret' | 'scheduler';

const WORKERS = 8;
const ROTATIONS = 3;
/** Successful queries required after each recovery (all on connections opened after the kill). */
const QUERIES_PER_PHASE = 120;
/** Successful queries required inside each rotation window (between setSecret and finishSecret). */
const WINDOW_QUERIES = 60;
/** Alternating-users: the app only learns the new user when its cached secret expires. */
const ALTERNATING_TTL_MS = 600;
/** Scheduler case: `rate(10 seconds)` (needs allowShortRotationIntervals), driven by a skewed clock. */
const SCHEDULE_SECONDS = 10;

const CASES: Array<{ strategy: Strategy; trigger: Trigger }> = [
  { strategy: 'single-user', trigger: 'RotateSecret' },
  { strategy: 'alternating-users', trigger: 'RotateSecret' },
  { strategy: 'single-user', trigger: 'scheduler' },
];

describe.each(ENGINES)('%s pools under RotateSecret', (engine) => {
  let admin: Admin;
  beforeAll(async () => {
    admin = await createAdmin(engine);
  });
  afterAll(async () => {
    await admin?.close();
  });

  it.each(CASES)(
    '$strategy via $trigger: zero failed queries, bounded GetSecretValue',
    async ({ strategy, trigger }) => {
      const c = await Case.start(engine, admin, strategy, trigger);
      try {
        await c.load.until(QUERIES_PER_PHASE);
        if (trigger === 'scheduler') await c.configureSchedule();

        const versions: Array<UserCreds & { versionId: string }> = [await c.readCurrent()];
        for (let i = 0; i < ROTATIONS; i++) {
          const before = versions[versions.length - 1]!;
          // Inside the rotation window (setSecret done, finishSecret not yet): AWSCURRENT still
          // names `before`; force every connection to be new and require the load to go on.
          c.onWindow = async (pendingId) => {
            expect((await c.readCurrent()).versionId).toBe(before.versionId);
            if (strategy === 'single-user')
              await admin.expectLoginRejected(before); // setSecret replaced it
            else await admin.expectLoginAccepted(before);
            c.figures.killedInWindow.push(await c.killAndResume([before.username]));
            await c.load.until(c.load.ok + WINDOW_QUERIES);
            expect(c.load.failureList(), `failed queries in the window of rotation ${i + 1}`).toEqual([]);
            expect([...c.load.seenUsers()]).toEqual([before.username]);
            // single-user: the cached AWSCURRENT was rejected; core fell back to AWSPENDING.
            if (strategy === 'single-user') expect(c.source.stats()).toMatchObject({ versionId: pendingId });
          };
          const okBefore = c.load.ok;
          const versionId = trigger === 'RotateSecret' ? await c.rotateSecret() : await c.runScheduledRotation();
          c.figures.queriesDuringRotations.push(c.load.ok - okBefore);
          const after = await c.readCurrent();
          versions.push(after);
          expect(after.versionId).toBe(versionId);

          // The server's side of the finished rotation, through an independent admin connection.
          if (strategy === 'single-user') {
            expect(after.username).toBe(before.username);
            await admin.expectLoginRejected(before);
          } else {
            expect(after.username).toBe(i % 2 === 0 ? `${c.user.username}_clone` : c.user.username);
            await admin.expectLoginAccepted(before); // the previous user keeps working
            const twoBack = versions[versions.length - 3];
            if (twoBack) await admin.expectLoginRejected(twoBack); // same username, replaced password
            await sleep(ALTERNATING_TTL_MS); // the app's cached secret has expired (jittered ≤ ttl)
            // Stale-while-revalidate: after the expiry the source still answers the previous (valid) user at once
            // and reloads in the background; the new connections below must see the reloaded version.
            await c.source.get();
            await waitFor(() => c.source.stats().versionId === versionId, 5_000, 'the background reload');
          }
          await admin.expectLoginAccepted(after);

          // Kill the app's sessions again: every later query runs on a connection opened now.
          const killed = await c.killAndResume([before.username, after.username]);
          await c.load.until(c.load.ok + QUERIES_PER_PHASE);

          expect(c.load.failureList(), `failed queries after rotation ${i + 1}`).toEqual([]);
          expect(killed).toBeGreaterThanOrEqual(1);
          expect(c.source.stats().versionId).toBe(versionId);
          expect([...c.load.seenUsers()]).toEqual([after.username]); // current_user on the new connections
          const held = await c.app.hold(); // a session of the app, opened after the kill
          try {
            expect(held.user).toBe(after.username);
            expect(await admin.countSessions(after.username)).toBeGreaterThanOrEqual(1);
          } finally {
            held.discard();
          }
          if (strategy === 'alternating-users') expect(await admin.countSessions(before.username)).toBe(0);
          c.figures.killed.push(killed);
        }

        const { ok, failures } = await c.load.stop();
        expect(failures).toEqual([]);
        expect(ok).toBeGreaterThanOrEqual(QUERIES_PER_PHASE * (ROTATIONS + 1));
        expect(Math.min(...c.figures.queriesDuringRotations)).toBeGreaterThanOrEqual(WINDOW_QUERIES);
        expect(Math.min(...c.figures.killedInWindow)).toBeGreaterThanOrEqual(1);
        expect(await c.rowsInTable()).toBe(c.load.inserted);
        expect(c.app.opened()).toBeGreaterThan(ROTATIONS); // connections really churned

        const stats = c.source.stats();
        const rotationsDone = c.sm.rotationStats().succeeded;
        expect(rotationsDone).toBe(ROTATIONS + (trigger === 'scheduler' ? 1 : 0)); // + the test-only run
        expect(c.sm.rotationStats().failed).toBe(0);
        // GetSecretValue: every request the server saw is attributed to exactly one client.
        const total = c.sm.callCount('GetSecretValue');
        expect(c.appClient.gets()).toBe(stats.fetches);
        expect(total).toBe(stats.fetches + c.rotatorClient.gets() + c.testClient.gets());
        // The application: one read per version it must learn; single-user at most one more per
        // rotation (AWSPENDING fallback in the window); alternating: one per expired TTL.
        expect(stats.fetches).toBeGreaterThanOrEqual(1 + ROTATIONS);
        if (strategy === 'single-user') {
          expect(stats.fetches).toBeLessThanOrEqual(1 + 2 * ROTATIONS);
          expect(stats.refreshes).toBeGreaterThanOrEqual(ROTATIONS); // rejected logins were retried
          expect(stats.fallbacks).toBeGreaterThanOrEqual(ROTATIONS); // one AWSPENDING fallback per window
        } else {
          const elapsed = Date.now() - c.startedAt;
          expect(stats.fetches).toBeLessThanOrEqual(1 + Math.ceil(elapsed / (ALTERNATING_TTL_MS / 2)));
          expect(stats.refreshes).toBe(0); // no login was ever rejected
        }
        // The rotation handler's reads stay independent of the load.
        expect(c.rotatorClient.gets()).toBeLessThanOrEqual(8 * rotationsDone);

        if (process.env.DBCREDS_E2E_REPORT === '1') {
          console.log(
            `[e2e] ${engine} ${strategy} via ${trigger}: queries ok=${ok} failed=${failures.length} ` +
              `(during rotations ${c.figures.queriesDuringRotations.join('/')}), rows=${c.load.inserted}, ` +
              `connections opened=${c.app.opened()}, killed in window/after=${c.figures.killedInWindow.join('/')} ` +
              `${c.figures.killed.join('/')}, ` +
              `rotations=${rotationsDone}, GetSecretValue total=${total} app=${stats.fetches} ` +
              `rotator=${c.rotatorClient.gets()} test=${c.testClient.gets()}, refreshes=${stats.refreshes} ` +
              `fallbacks=${stats.fallbacks} rateLimited=${stats.rateLimited}, ${Date.now() - c.startedAt} ms`,
          );
        }
      } finally {
        await c.dispose();
      }
    },
  );
});

// ---- fixture ------------------------------------------------------------------------------------

/** One case: its own local Secrets Manager, user (and master), secret, rotator, source, pool, load. */
class Case {
  readonly startedAt = Date.now();
  readonly figures = { queriesDuringRotations: [] as number[], killedInWindow: [] as number[], killed: [] as number[] };
  /** Runs after the rotator's setSecret step, before finishSecret (receives the pending VersionId). */
  onWindow: ((pendingVersionId: string) => Promise<void>) | undefined;
  private windowError: unknown;
  source!: CredentialSource;
  app!: AppPool;
  load!: Load;
  private skewMs = 0;
  private readonly table = uniqueName('rows');
  private readonly lambdaArn = `arn:aws:lambda:us-east-1:000000000000:function:e2e-${randomBytes(4).toString('hex')}`;
  private readonly extraUsers: string[] = [];
  private readonly cleanups: Array<() => unknown> = [];
  sm!: LocalSecretsManager;
  appClient!: CountingClient;
  rotatorClient!: CountingClient;
  testClient!: CountingClient;
  secretId = uniqueSecretName('e2e');

  private constructor(
    readonly engine: EngineName,
    readonly admin: Admin,
    readonly strategy: Strategy,
    readonly user: UserCreds,
  ) {}

  static async start(engine: EngineName, admin: Admin, strategy: Strategy, trigger: Trigger): Promise<Case> {
    const user = await admin.createUser({ prefix: strategy === 'single-user' ? 'es' : 'ea' });
    const c = new Case(engine, admin, strategy, user);
    try {
      await c.init(trigger);
    } catch (err) {
      await c.dispose();
      throw err;
    }
    return c;
  }

  private async init(trigger: Trigger): Promise<void> {
    this.sm = await startLocalSecretsManager({
      rotationMode: 'async', // RotateSecret answers at once, as on AWS; the steps run under the load
      allowShortRotationIntervals: trigger === 'scheduler',
      schedulerIntervalMs: 0, // the scheduler case calls runDueRotations() after moving the clock
      clock: () => Date.now() + this.skewMs,
    });
    this.cleanups.push(() => this.sm.close());
    this.appClient = countingClient(this.sm.endpoint);
    this.rotatorClient = countingClient(this.sm.endpoint);
    this.testClient = countingClient(this.sm.endpoint);
    for (const cc of [this.appClient, this.rotatorClient, this.testClient])
      this.cleanups.push(() => cc.client.destroy());

    const value: DbSecretValue = dbSecretFor(this.engine, this.user);
    if (this.strategy === 'alternating-users') {
      this.extraUsers.push(`${this.user.username}_clone`); // created by the rotation
      value.masterarn = await this.createMasterSecret();
    }
    await putDbSecret(this.testClient.client, this.secretId, value);
    const rotate = createRotationHandler({
      strategy: this.strategy,
      client: this.rotatorClient.client,
      connectTimeoutMs: 5_000,
    });
    this.sm.registerRotator(this.lambdaArn, async (event) => {
      await rotate(event);
      if (event.Step !== 'setSecret' || !this.onWindow) return;
      try {
        await this.onWindow(event.ClientRequestToken);
      } catch (err) {
        this.windowError ??= err; // reported by the test, not as a rotation failure
      }
    });

    this.source = createCredentialSource({
      secretId: this.secretId,
      client: this.appClient.client,
      minRefreshIntervalMs: 200,
      ...(this.strategy === 'alternating-users' ? { ttlMs: ALTERNATING_TTL_MS } : {}),
    });
    this.cleanups.push(() => this.source.close());
    this.app = this.engine === 'postgres' ? pgApp(this.source, this.table) : mysqlApp(this.source, this.table);
    this.cleanups.push(() => this.app.end());
    await this.app.createTable();
    this.load = new Load(this.app, WORKERS);
    this.cleanups.push(() => this.load.stop());
  }

  /** PG: the test server's administrator. MariaDB: a user that may create users and grant. Returns its ARN. */
  private async createMasterSecret(): Promise<string> {
    let master: UserCreds;
    if (this.engine === 'postgres') {
      const s = serverFor(this.engine);
      master = { username: s.adminUser, password: s.adminPassword };
    } else {
      master = await this.admin.createUser({ prefix: 'em' });
      this.extraUsers.push(master.username);
      await this.admin.exec("GRANT ALL PRIVILEGES ON *.* TO ?@'%' WITH GRANT OPTION", [master.username]);
    }
    const name = uniqueSecretName('e2e-master');
    await putDbSecret(this.testClient.client, name, dbSecretFor(this.engine, master));
    const d = await this.testClient.client.send(new DescribeSecretCommand({ SecretId: name }));
    return d.ARN!;
  }

  /** AWSCURRENT as the server holds it (read by the test's own client). */
  async readCurrent(): Promise<UserCreds & { versionId: string }> {
    const out = await this.testClient.client.send(new GetSecretValueCommand({ SecretId: this.secretId }));
    const v = JSON.parse(out.SecretString!) as DbSecretValue;
    return { username: v.username, password: v.password, versionId: out.VersionId! };
  }

  /** One RotateSecret through the SDK; resolves with the new VersionId once the four steps ran. */
  async rotateSecret(): Promise<string> {
    const out = await this.testClient.client.send(
      new RotateSecretCommand({
        SecretId: this.secretId,
        RotationLambdaARN: this.lambdaArn,
        RotationRules: { AutomaticallyAfterDays: 30 },
      }),
    );
    await this.sm.idle();
    this.assertNoRotationError();
    return out.VersionId!;
  }

  /** Enables a `rate(10 seconds)` schedule without rotating now (the SM runs only testSecret). */
  async configureSchedule(): Promise<void> {
    await this.testClient.client.send(
      new RotateSecretCommand({
        SecretId: this.secretId,
        RotationLambdaARN: this.lambdaArn,
        RotationRules: { ScheduleExpression: `rate(${SCHEDULE_SECONDS} seconds)` },
        RotateImmediately: false,
      }),
    );
    await this.sm.idle();
    this.assertNoRotationError();
  }

  /** Nothing is due until the clock reaches NextRotationDate; then the scheduler rotates once. */
  async runScheduledRotation(): Promise<string> {
    expect(await this.sm.runDueRotations()).toEqual([]);
    const d = await this.testClient.client.send(new DescribeSecretCommand({ SecretId: this.secretId }));
    const dueInMs = d.NextRotationDate!.getTime() - (Date.now() + this.skewMs);
    expect(dueInMs).toBeGreaterThan(0);
    expect(dueInMs).toBeLessThanOrEqual(SCHEDULE_SECONDS * 1000);
    this.skewMs += SCHEDULE_SECONDS * 1000;
    const results = await this.sm.runDueRotations();
    expect(results.map((r) => ({ ok: r.ok, secretArn: r.secretArn }))).toEqual([{ ok: true, secretArn: d.ARN }]);
    this.assertNoRotationError();
    return results[0]!.versionId;
  }

  private assertNoRotationError(): void {
    if (this.windowError) throw this.windowError;
    const failure = this.sm.lastRotationError(this.secretId);
    if (failure) throw new Error(`rotation failed in ${failure.step}: ${failure.message}`);
  }

  /**
   * Pauses the load between queries (a kill mid-query fails that query by design), kills every
   * session of `usernames`, waits until the server shows none, resumes. Resolves to the number killed.
   *
   * The kill must hit at least one session of the app, whatever its pool did while the load paused
   * (idle connections time out after 200 ms): one connection is checked out from the app's pool and
   * held across the kill, then discarded, so the count never depends on timing.
   */
  async killAndResume(usernames: string[]): Promise<number> {
    await this.load.pause();
    const held = await this.app.hold();
    let killed = 0;
    try {
      expect(usernames).toContain(held.user);
      expect(await this.admin.countSessions(held.user)).toBeGreaterThanOrEqual(1);
      for (const u of new Set(usernames)) {
        killed += await this.admin.killSessions(u);
        await this.waitForNoSessions(u);
      }
    } finally {
      held.discard();
    }
    await sleep(50); // let the pool see the closed sockets
    this.load.resume();
    return killed;
  }

  async waitForNoSessions(username: string): Promise<void> {
    await waitForAsync(
      async () => (await this.admin.countSessions(username)) === 0,
      5_000,
      `${username} sessions to end`,
    );
  }

  async rowsInTable(): Promise<number> {
    const rows = (await this.admin.exec(
      this.engine === 'postgres'
        ? `SELECT count(*)::int AS n FROM ${pgIdent(this.table)}`
        : 'SELECT COUNT(*) AS n FROM ??.??',
      this.engine === 'postgres' ? [] : [serverFor(this.engine).database, this.table],
    )) as Array<{ n: number }>;
    return Number(rows[0]?.n);
  }

  async dispose(): Promise<void> {
    for (const fn of this.cleanups.reverse()) {
      try {
        await fn();
      } catch {
        // best effort: keep cleaning up
      }
    }
    const dropTable =
      this.engine === 'postgres'
        ? this.admin.exec(`DROP TABLE IF EXISTS ${pgIdent(this.table)}`)
        : this.admin.exec('DROP TABLE IF EXISTS ??.??', [serverFor(this.engine).database, this.table]);
    await dropTable.catch(() => {});
    for (const u of this.extraUsers) await this.admin.dropUser(u).catch(() => {});
    await this.admin.dropUser(this.user.username).catch(() => {});
  }
}

// ---- the application: a pool and its queries ------------------------------------------------------

interface AppPool {
  createTable(): Promise<void>;
  /** INSERT one row for `worker`; resolves with current_user when the engine can return it. */
  write(worker: number): Promise<string | undefined>;
  /** Rows of `worker` and current_user. */
  read(worker: number): Promise<{ n: number; who: string }>;
  /** A checked-out connection: BEGIN, INSERT, count, COMMIT. */
  transaction(worker: number): Promise<{ n: number; who: string }>;
  /**
   * Checks out one connection and holds it (idle, outside the pool) until `discard()` destroys it:
   * the session a kill is guaranteed to find. `user` is its current_user.
   */
  hold(): Promise<{ user: string; discard(): void }>;
  /** Connections the pool has opened so far. */
  opened(): number;
  end(): Promise<void>;
}

function pgApp(source: CredentialSource, table: string): AppPool {
  const pool = createPgPool(source, {
    max: WORKERS,
    idleTimeoutMillis: 200,
    maxUses: 25, // connections churn even under steady load
    connectionTimeoutMillis: 5_000,
  });
  let opened = 0;
  pool.on('connect', () => {
    opened++;
  });
  const t = pgIdent(table);
  const count = `SELECT count(*)::int AS n, current_user::text AS who FROM ${t} WHERE worker = $1`;
  const insert = `INSERT INTO ${t} (worker, who) VALUES ($1, current_user) RETURNING who`;
  return {
    async createTable() {
      await pool.query(`CREATE TABLE ${t} (id serial PRIMARY KEY, worker int NOT NULL, who text NOT NULL)`);
    },
    async write(worker) {
      return (await pool.query<{ who: string }>(insert, [worker])).rows[0]?.who;
    },
    async read(worker) {
      return (await pool.query<{ n: number; who: string }>(count, [worker])).rows[0]!;
    },
    async transaction(worker) {
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        await client.query(insert, [worker]);
        const row = (await client.query<{ n: number; who: string }>(count, [worker])).rows[0]!;
        await client.query('COMMIT');
        return row;
      } catch (err) {
        await client.query('ROLLBACK').catch(() => {});
        throw err;
      } finally {
        client.release();
      }
    },
    async hold() {
      const client = await pool.connect();
      // A checked-out pg client has no pool listener: the server's termination must not crash the process.
      client.on('error', () => {});
      const who = (await client.query<{ who: string }>('SELECT current_user::text AS who')).rows[0]!.who;
      return { user: who, discard: () => client.release(true) };
    },
    opened: () => opened,
    end: () => pool.end(),
  };
}

function mysqlApp(source: CredentialSource, table: string): AppPool {
  const core = createMysqlPool(source, {
    connectionLimit: WORKERS,
    maxIdle: 2,
    idleTimeout: 200,
    connectTimeout: 5_000,
  });
  let opened = 0;
  core.on('connection', () => {
    opened++;
  });
  const pool = core.promise();
  const count = "SELECT COUNT(*) AS n, SUBSTRING_INDEX(CURRENT_USER(), '@', 1) AS who FROM ?? WHERE worker = ?";
  const insert = "INSERT INTO ?? (worker, who) VALUES (?, SUBSTRING_INDEX(CURRENT_USER(), '@', 1))";
  const row = (rows: RowDataPacket[]) => ({ n: Number(rows[0]?.n), who: String(rows[0]?.who) });
  return {
    async createTable() {
      await pool.query(
        'CREATE TABLE ?? (id INT AUTO_INCREMENT PRIMARY KEY, worker INT NOT NULL, who VARCHAR(80) NOT NULL)',
        [table],
      );
    },
    async write(worker) {
      await pool.query(insert, [table, worker]);
      return undefined;
    },
    async read(worker) {
      const [rows] = await pool.query<RowDataPacket[]>(count, [table, worker]);
      return row(rows);
    },
    async transaction(worker) {
      const conn = await pool.getConnection();
      try {
        await conn.beginTransaction();
        await conn.query(insert, [table, worker]);
        const [rows] = await conn.query<RowDataPacket[]>(count, [table, worker]);
        await conn.commit();
        return row(rows);
      } catch (err) {
        await conn.rollback().catch(() => {});
        throw err;
      } finally {
        conn.release();
      }
    },
    async hold() {
      const conn = await pool.getConnection();
      const [rows] = await conn.query<RowDataPacket[]>("SELECT SUBSTRING_INDEX(CURRENT_USER(), '@', 1) AS who");
      return { user: String(rows[0]?.who), discard: () => conn.destroy() };
    },
    opened: () => opened,
    end: () => pool.end(),
  };
}

// ---- load -----------------------------------------------------------------------------------------

/**
 * Concurrent workers cycling write / read / transaction. Each worker owns its rows, so every read must
 * count exactly the rows it inserted; any error or wrong count is a failure.
 */
class Load {
  ok = 0;
  inserted = 0;
  private readonly failures: string[] = [];
  private readonly seen = new Set<string>();
  private readonly workers: Promise<void>[];
  private stopped = false;
  private gate: Promise<void> | undefined;
  private openGate: (() => void) | undefined;
  private inFlight = 0;

  constructor(
    private readonly app: AppPool,
    concurrency: number,
  ) {
    this.workers = Array.from({ length: concurrency }, (_, w) => this.work(w));
  }

  private async work(worker: number): Promise<void> {
    let mine = 0;
    for (let i = 0; !this.stopped; i++) {
      if (this.gate) {
        await this.gate;
        continue;
      }
      this.inFlight++;
      try {
        const op = i % 3;
        if (op === 0) {
          const who = await this.app.write(worker);
          mine++;
          this.inserted++;
          if (who !== undefined) this.seen.add(who);
        } else {
          const r = op === 1 ? await this.app.read(worker) : await this.app.transaction(worker);
          if (op === 2) {
            mine++;
            this.inserted++;
          }
          this.seen.add(r.who);
          if (r.n !== mine) throw new Error(`worker ${worker} counted ${r.n} rows, expected ${mine}`);
        }
        this.ok++;
      } catch (err) {
        this.failures.push(describeError(err));
      } finally {
        this.inFlight--;
      }
      await sleep(Math.random() * 3);
    }
  }

  /** Waits for `ok` successful queries in total; returns early on the first failure. */
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

  /** Resumes the workers and starts a new record of the users seen. */
  resume(): void {
    this.seen.clear();
    const open = this.openGate;
    this.gate = undefined;
    open?.();
  }

  seenUsers(): Set<string> {
    return this.seen;
  }

  failureList(): string[] {
    return [...this.failures];
  }

  async stop(): Promise<{ ok: number; failures: string[] }> {
    this.stopped = true;
    const open = this.openGate;
    this.gate = undefined;
    open?.();
    await Promise.all(this.workers);
    return { ok: this.ok, failures: this.failureList() };
  }
}

// ---- helpers --------------------------------------------------------------------------------------

interface CountingClient {
  client: SecretsManagerClient;
  /** GetSecretValue requests this client sent (per HTTP attempt). */
  gets(): number;
}

/** A real SDK client (1 attempt per call) that counts its GetSecretValue requests. */
function countingClient(endpoint: string): CountingClient {
  const client = newSecretsManagerClient(endpoint, 1);
  let gets = 0;
  client.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName === 'GetSecretValueCommand') gets++;
      return next(args);
    },
    { step: 'finalizeRequest', name: 'dbcredsE2eCountGetSecretValue' },
  );
  return { client, gets: () => gets };
}

function pgIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

function describeError(err: unknown): string {
  const e = err as { code?: unknown; errno?: unknown; message?: unknown };
  return `${String(e?.code ?? e?.errno ?? 'no code')}: ${String(e?.message ?? err)}`;
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

async function waitForAsync(cond: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(10);
  }
}

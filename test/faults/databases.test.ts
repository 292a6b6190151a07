/**
 * Database faults, through the `@dbcreds/pg` pool (private scram PostgreSQL of this file, so it can be
 * restarted and its pg_hba.conf edited) and the `@dbcreds/mysql2` pool (the shared MariaDB, reached
 * through the test bed's TCP fault proxy: the shared server is never restarted).
 *
 * Per fault: no crash or unhandled rejection, no query outliving the configured timeouts, the driver's
 * own error for the caller (its code, no credential text), nothing lost (every insert reported as
 * successful is in the table, read through the admin side channel), and Secrets Manager calls counted:
 * only an authentication failure may refresh the secret, and then one retry per acquisition.
 *
 * What "restart" means: PostgreSQL — the private server stops (fast shutdown: every session ended with
 * 57P01) and starts again on the same port and data. MariaDB — the proxy drops every connection and
 * refuses new ones (ECONNREFUSED) for a while, then lets them through again (what clients of a
 * restarting server see). Connection limits: PostgreSQL `ALTER ROLE … CONNECTION LIMIT` (53300);
 * MariaDB per-user `MAX_USER_CONNECTIONS` (1226 ER_USER_LIMIT_REACHED), not the global `max_connections` (1040) of a shared
 * server. `DBCREDS_FAULTS_REPORT=1` prints the figures.
 */
import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { type CredentialSource, createCredentialSource, type DbCredentials, isAuthError } from '@dbcreds/core';
import { isLoginRefused } from '@dbcreds/core/adapter';
import { createPool as createMysqlPool } from '@dbcreds/mysql2';
import { createPool as createPgPool } from '@dbcreds/pg';
import {
  type FaultProxy,
  putDbSecret,
  randomPassword,
  serverFor,
  startFaultProxy,
  startTestSecretsManager,
  type TestSecretsManager,
  uniqueName,
  uniqueSecretName,
} from '@dbcreds/testbed';
import { createDbAdmin, type DbAdmin, type EmbeddedPostgres, freePort, startEmbeddedPostgres } from 'dbcreds/testing';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

type Engine = 'postgres' | 'mysql';
const REPORT = Boolean(process.env.DBCREDS_FAULTS_REPORT);
/**
 * Pool timeouts: connect (pg connectionTimeoutMillis, mysql2 connectTimeout). No fault here needs one to fire
 * (refused, reset and dropped connections fail at once): 2 s timed out real logins on a loaded machine.
 */
const CONNECT_TIMEOUT_MS = 10_000;
/** No query may take longer than this: a hang guard (queries take milliseconds; a failing one, a connect timeout at most). */
const QUERY_BOUND_MS = 3 * CONNECT_TIMEOUT_MS;
const MIN_REFRESH_MS = 500;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `cond` until it holds; the deadline only catches a hang. */
async function waitForAsync(cond: () => Promise<boolean>, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(20);
  }
}

const unhandled: unknown[] = [];
const onUnhandled = (err: unknown) => unhandled.push(err);

interface Env {
  engine: Engine;
  admin: DbAdmin;
  /** Where the app connects (PG: the private server; MariaDB: the fault proxy). */
  app: { host: string; port: number; database: string };
  restart(): Promise<void>;
}

interface AppPool {
  query(sql: string, params?: unknown[]): Promise<unknown[]>;
  end(): Promise<void>;
}

function appPool(engine: Engine, source: CredentialSource, app: Env['app'], max = 6): AppPool {
  if (engine === 'postgres') {
    const pool = createPgPool(source, {
      ...app,
      max,
      idleTimeoutMillis: 200,
      connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    });
    pool.on('error', () => undefined); // idle clients ended by the server (57P01): the pool drops them
    return { query: async (sql, params) => (await pool.query(sql, params)).rows, end: () => pool.end() };
  }
  const pool = createMysqlPool(source, {
    ...app,
    connectionLimit: max,
    maxIdle: 0,
    idleTimeout: 200,
    connectTimeout: CONNECT_TIMEOUT_MS,
  });
  const promise = pool.promise();
  return {
    query: async (sql, params) => (await promise.query(sql.replace(/\$\d+/g, '?'), params))[0] as unknown[],
    end: () => promise.end(),
  };
}

/** Codes of an error and its causes, for the report and assertions. */
function codes(err: unknown): string {
  const out: string[] = [];
  for (let e: any = err, i = 0; e && i < 5; e = e.cause, i++) {
    out.push([e.code, e.errno].filter((c) => c !== undefined).join('/') || String(e.name));
  }
  return out.join('←');
}

/** Concurrent inserters; acked ids are the writes the caller was told succeeded. */
class WriteLoad {
  readonly acked: string[] = [];
  readonly failures: unknown[] = [];
  lastFailureAt = 0;
  maxLatencyMs = 0;
  private stopped = false;
  private readonly workers: Promise<void>[];
  constructor(
    private readonly pool: AppPool,
    private readonly table: string,
    n: number,
  ) {
    this.workers = Array.from({ length: n }, () => this.work());
  }
  private async work(): Promise<void> {
    while (!this.stopped) {
      const id = randomBytes(8).toString('hex');
      const t0 = Date.now();
      try {
        await this.pool.query(`INSERT INTO ${this.table} (id) VALUES ($1)`, [id]);
        this.acked.push(id);
      } catch (err) {
        this.failures.push(err);
        this.lastFailureAt = Date.now();
        await sleep(20);
      } finally {
        this.maxLatencyMs = Math.max(this.maxLatencyMs, Date.now() - t0);
      }
      await sleep(2);
    }
  }
  async until(n: number, timeoutMs = 20_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.acked.length < n) {
      if (Date.now() > deadline) throw new Error(`only ${this.acked.length}/${n} writes acknowledged`);
      await sleep(10);
    }
  }
  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all(this.workers);
  }
}

/** Runs `queries` one after the other; each must fail; returns the errors. */
async function failures(pool: AppPool, queries: number): Promise<unknown[]> {
  const errs: unknown[] = [];
  for (let i = 0; i < queries; i++) {
    const err = await pool.query('SELECT 1').then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err, `query ${i} should fail`).toBeDefined();
    errs.push(err);
  }
  return errs;
}

describe.each<Engine>(['postgres', 'mysql'])('database faults on %s', (engine) => {
  let env: Env;
  let sm: TestSecretsManager;
  let pg: EmbeddedPostgres | undefined;
  let proxy: FaultProxy | undefined;
  let user: { username: string; password: string };
  let source: CredentialSource;
  let pool: AppPool | undefined;
  let attempts = 0;
  let table: string;

  beforeAll(async () => {
    process.on('unhandledRejection', onUnhandled);
    sm = await startTestSecretsManager();
    if (engine === 'postgres') {
      pg = await startEmbeddedPostgres({ maxConnections: 60 });
      const server = pg.server;
      env = {
        engine,
        admin: createDbAdmin(server),
        app: { host: server.host, port: server.port, database: server.database },
        restart: () => pg!.restart(),
      };
    } else {
      const server = serverFor('mysql');
      proxy = await startFaultProxy({ target: server, protocol: 'tcp' });
      const p = proxy;
      env = {
        engine,
        admin: createDbAdmin(server),
        app: { host: p.host, port: p.port, database: server.database },
        restart: async () => {
          await p.setMode('refuse'); // every connection dropped, new ones refused
          await sleep(1_000);
          await p.setMode('pass');
        },
      };
    }
  });
  afterAll(async () => {
    process.off('unhandledRejection', onUnhandled);
    await env?.admin.close();
    await proxy?.close();
    await pg?.stop();
    await sm?.close();
  });

  async function setup(secretOverrides: Partial<Record<'host' | 'port', unknown>> = {}) {
    user = { username: uniqueName('fault'), password: randomPassword() };
    await env.admin.createUser(user);
    await env.admin.grantDatabase(user.username, env.app.database);
    const secretId = uniqueSecretName('faults');
    const secret = { engine, ...env.app, dbname: env.app.database, ...user, ...secretOverrides };
    await putDbSecret(sm.client, secretId, secret as never);
    source = createCredentialSource({ secretId, client: sm.client, minRefreshIntervalMs: MIN_REFRESH_MS });
    attempts = 0;
    const original = source.withAuthRetry.bind(source);
    const counted = <T>(attempt: (creds: DbCredentials) => Promise<T>): Promise<T> =>
      original((creds) => {
        attempts++;
        return attempt(creds);
      });
    Object.defineProperty(source, 'withAuthRetry', { value: counted, configurable: true, writable: true });
    // Endpoint from the secret (a wrong host there must surface as is).
    pool = appPool(engine, source, { database: env.app.database } as Env['app']);
    table = `w_${randomBytes(4).toString('hex')}`;
    sm.sm.resetCounters();
  }

  afterEach(async () => {
    await pool?.end().catch(() => undefined);
    pool = undefined;
    source?.close();
    if (user) await env.admin.dropUser(user.username).catch(() => undefined);
    if (engine === 'mysql' && table) await env.admin.exec(`DROP TABLE IF EXISTS ${env.app.database}.${table}`);
    expect(unhandled).toEqual([]);
  });

  const report = (what: string, fields: Record<string, unknown>) => {
    if (REPORT) console.info(`[faults] ${engine} ${what}: ${JSON.stringify(fields)}`);
  };

  it('server restart under write load: clear errors while down, recovery, no write lost, no refresh', async () => {
    await setup();
    await pool!.query(`CREATE TABLE ${table} (id varchar(32) PRIMARY KEY)`);
    const load = new WriteLoad(pool!, table, 4);
    await load.until(30);
    await env.restart();
    const cleared = Date.now();
    const before = load.acked.length;
    await load.until(before + 60);
    const recoveredMs = Math.max(0, load.lastFailureAt - cleared); // last failure after the fault cleared
    await load.stop();
    const qualified = engine === 'postgres' ? table : `${env.app.database}.${table}`;
    const rows = (await env.admin.exec(`SELECT id FROM ${qualified}`)) as Array<{ id: string }>;
    const stored = new Set(rows.map((r) => r.id));
    const lost = load.acked.filter((id) => !stored.has(id));
    const failureCodes = [...new Set(load.failures.map(codes))];
    report('restart', {
      acked: load.acked.length,
      failed: load.failures.length,
      failureCodes,
      lost: lost.length,
      recoveredMs,
      maxLatencyMs: load.maxLatencyMs,
      getSecretValue: sm.sm.callCount('GetSecretValue'),
    });
    expect(lost).toEqual([]);
    expect(load.failures.length).toBeGreaterThan(0); // the fault was real: in-flight or new queries failed
    for (const f of load.failures) {
      expect(f).toBeInstanceOf(Error);
      expect(isAuthError(f)).toBe(false);
      expect(String((f as Error).message)).not.toContain(user.password);
    }
    expect(load.maxLatencyMs).toBeLessThan(QUERY_BOUND_MS);
    expect(sm.sm.callCount('GetSecretValue')).toBe(1); // the initial read: a restart is no credential problem
    expect(source.stats().refreshes).toBe(0);
  });

  it('connection limit reached (PG 53300 CONNECTION LIMIT / MariaDB 1226 MAX_USER_CONNECTIONS): errors, no refresh', async () => {
    await setup();
    await env.admin.exec(
      engine === 'postgres'
        ? `ALTER ROLE "${user.username}" CONNECTION LIMIT 2`
        : `ALTER USER '${user.username}'@'%' WITH MAX_USER_CONNECTIONS 2`,
    );
    // The two admitted sessions stay busy for 1 s (then idle 200 ms): every other login of the six started at
    // once reaches the limit check inside that time, even on a loaded machine (0.3 s was a close call).
    const sleepSql = engine === 'postgres' ? 'SELECT pg_sleep(1)' : 'SELECT SLEEP(1)';
    const results = await Promise.allSettled(Array.from({ length: 6 }, () => pool!.query(sleepSql)));
    const errs = results.flatMap((r) => (r.status === 'rejected' ? [r.reason] : []));
    report('connection limit', { ok: results.length - errs.length, failed: errs.length, codes: errs.map(codes) });
    expect(errs.length).toBeGreaterThan(0);
    expect(results.length - errs.length, `admitted (errors: ${errs.map(codes).join(', ')})`).toBeGreaterThanOrEqual(1);
    const expected = engine === 'postgres' ? '53300' : 'ER_USER_LIMIT_REACHED';
    for (const e of errs) {
      expect(codes(e)).toContain(expected);
      expect(isAuthError(e)).toBe(false);
    }
    expect(sm.sm.callCount('GetSecretValue')).toBe(1);
    expect(source.stats().refreshes).toBe(0);
    expect(attempts).toBe(results.length); // no retry
  });

  it('app user locked: the server error, retried at most once, Secrets Manager calls rate-limited', async () => {
    await setup();
    await pool!.query('SELECT 1');
    await env.admin.setLogin(user.username, false);
    await env.admin.killSessions(user.username);
    await sleep(300); // the pools notice the killed idle connections (see the idle-kill test)
    const t0 = Date.now();
    attempts = 0;
    const errs = await failures(pool!, 20);
    const elapsed = Date.now() - t0;
    const expected = engine === 'postgres' ? '28000' : '4151'; // mysql2 names MariaDB's 4151 after MySQL's 4151
    report('locked', {
      codes: [...new Set(errs.map(codes))],
      attempts,
      elapsed,
      gsv: sm.sm.callCount('GetSecretValue'),
    });
    for (const e of errs) expect(codes(e)).toContain(expected);
    // PG 28000 counts as an auth error (it may be pg_hba): one retry per query; MariaDB 4151 is not.
    expect(attempts).toBe(engine === 'postgres' ? 40 : 20);
    // a fruitless refresh: AWSCURRENT, no AWSPENDING, AWSCURRENT again; at most one per minRefreshIntervalMs
    expect(sm.sm.callCount('GetSecretValue')).toBeLessThanOrEqual(3 * (1 + Math.ceil(elapsed / MIN_REFRESH_MS)));
    await env.admin.setLogin(user.username, true);
    expect(await pool!.query('SELECT 1')).toHaveLength(1); // recovers by itself
  });

  it('app user dropped: the auth error after one retry, no refresh loop', async () => {
    await setup();
    await pool!.query('SELECT 1');
    await env.admin.dropUser(user.username);
    await sleep(300);
    const t0 = Date.now();
    attempts = 0;
    const errs = await failures(pool!, 20);
    const elapsed = Date.now() - t0;
    report('dropped', {
      codes: [...new Set(errs.map(codes))],
      attempts,
      elapsed,
      gsv: sm.sm.callCount('GetSecretValue'),
    });
    // PG answers 28P01 for an unknown role; MariaDB 1045, or 1698 when it authenticates the unknown user as a
    // random unix_socket account: both auth errors (one refresh, one retry per query).
    for (const e of errs) expect(isLoginRefused(e), codes(e)).toBe(true);
    const retried = errs.filter((e) => isAuthError(e)).length;
    expect(attempts).toBe(errs.length + retried);
    expect(retried).toBe(errs.length);
    // a fruitless refresh: AWSCURRENT, no AWSPENDING, AWSCURRENT again; at most one per minRefreshIntervalMs
    expect(sm.sm.callCount('GetSecretValue')).toBeLessThanOrEqual(3 * (1 + Math.ceil(elapsed / MIN_REFRESH_MS)));
  });

  it.each([
    ['refused port', 'ECONNREFUSED'],
    ['unresolvable host', 'ENOTFOUND'],
  ])(
    'secret with a wrong host (%s): %s for every query, no refresh, within the connect timeout',
    async (what, code) => {
      const port = await freePort();
      await setup(what === 'refused port' ? { host: '127.0.0.1', port } : { host: 'dbcreds-no-such-host.invalid' });
      const t0 = Date.now();
      const errs = await failures(pool!, 10);
      const elapsed = Date.now() - t0;
      report(`wrong host (${what})`, { codes: [...new Set(errs.map(codes))], elapsed, attempts });
      for (const e of errs) {
        // resolvers without network answer EAI_AGAIN for a name they cannot look up
        expect(code === 'ENOTFOUND' ? /ENOTFOUND|EAI_AGAIN/.test(codes(e)) : codes(e).includes(code)).toBe(true);
        expect(isAuthError(e)).toBe(false);
      }
      expect(attempts).toBe(10);
      expect(sm.sm.callCount('GetSecretValue')).toBe(1);
      expect(elapsed).toBeLessThan(QUERY_BOUND_MS); // a hang guard: 10 refused connects take 1-3 s
    },
  );

  it.runIf(engine === 'postgres')('pg_hba rejection (28000): one retry, then the original error', async () => {
    await setup();
    await pool!.query('SELECT 1');
    const hba = `${pg!.dataDir}/pg_hba.conf`;
    const original = await readFile(hba, 'utf8');
    try {
      await writeFile(hba, `host all "${user.username}" 127.0.0.1/32 reject\n${original}`);
      await env.admin.exec('SELECT pg_reload_conf()');
      // pg_reload_conf() only signals the postmaster: wait until a fresh login is refused by the new rule
      // (a fixed 200 ms sleep let the first queries log in on a loaded machine). A hang guard, not a bound.
      await waitForAsync(async () => codes(await env.admin.tryLogin(user)).includes('28000'), 'the pg_hba.conf reload');
      await env.admin.killSessions(user.username);
      attempts = 0;
      const errs = await failures(pool!, 5);
      report('pg_hba reject', { codes: [...new Set(errs.map(codes))], attempts });
      for (const e of errs) {
        expect(codes(e)).toContain('28000');
        expect(String((e as Error).message)).toMatch(/pg_hba\.conf rejects connection/);
      }
      expect(attempts).toBe(10); // one retry each
    } finally {
      await writeFile(hba, original);
      await env.admin.exec('SELECT pg_reload_conf()');
    }
  });
});

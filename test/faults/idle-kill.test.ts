/**
 * Idle connections ended by the server while the app is busy (what failovers, proxies and rotations do):
 * after every 40 queries the admin side channel terminates every *idle* session of the app user (PG
 * `pg_terminate_backend` on state 'idle'; MariaDB `KILL` on Command 'Sleep') while 4 workers query. A
 * pool that hands out a connection the server has already ended fails that query (57P01 /
 * "Connection terminated" / ECONNRESET / PROTOCOL_CONNECTION_LOST / 45009): the count is the figure.
 * `DBCREDS_FAULTS_REPORT=1` prints it. See the pools' READMEs ("Connections ended by the server").
 */
import { type CredentialSource, createCredentialSource } from '@dbcreds/core';
import { createPool as createMysqlPool } from '@dbcreds/mysql2';
import { createPool as createPgPool } from '@dbcreds/pg';
import { RotatingMariaDbPool } from '@dbcreds/mariadb';
import {
  type Admin,
  createAdmin,
  dbSecretFor,
  type EngineName,
  putDbSecret,
  serverFor,
  startTestSecretsManager,
  type TestSecretsManager,
  type UserCreds,
  uniqueSecretName,
} from '@dbcreds/testbed';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

const QUERIES = 3_000;
/**
 * A kill round per this many queries, paced by the load rather than the clock: with a round every 40 ms and the
 * CPU shared, a round followed nearly every query, each query paid a new login (8 queries/s measured) and the
 * 3,000 took minutes, past the test timeout.
 */
const QUERIES_PER_KILL = 40;
/** Sessions the killer must have ended before the load stops (the queries go on until then). */
const MIN_KILLED = 21;
const REPORT = Boolean(process.env.DBCREDS_FAULTS_REPORT);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

type Query = () => Promise<unknown>;
interface Case {
  name: string;
  engine: EngineName;
  /** Failures allowed in QUERIES: what the adapter cannot close (see the package README). */
  maxFailed: number;
  /** Codes those failures may carry (a connection the server ended). */
  codes: RegExp;
  open(source: CredentialSource): { query: Query; end(): Promise<void> };
}

const server = (engine: EngineName) => {
  const s = serverFor(engine);
  return { host: s.host, port: s.port, database: s.database };
};

const CASES: Case[] = [
  {
    name: '@dbcreds/pg pool.query',
    engine: 'postgres',
    // 57P01 is retried on another connection; left: a client pg-pool hands out in the instant its
    // connection error is being processed ("not queryable", no code), about 1 in 3,000 here.
    maxFailed: 10,
    codes: /^(57P01|Client has encountered)/,
    open(source) {
      const pool = createPgPool(source, { ...server('postgres'), max: 4 });
      return { query: () => pool.query('SELECT 1'), end: () => pool.end() };
    },
  },
  {
    name: '@dbcreds/mysql2 pool.query',
    engine: 'mysql',
    // Not retried: whether the server ran the statement before it ended the connection is unknown.
    maxFailed: QUERIES,
    codes: /^(PROTOCOL_CONNECTION_LOST|ECONNRESET|EPIPE)$/,
    open(source) {
      const pool = createMysqlPool(source, { ...server('mysql'), connectionLimit: 4 }).promise();
      return { query: () => pool.query('SELECT 1'), end: () => pool.end() };
    },
  },
  {
    name: '@dbcreds/prisma RotatingMariaDbPool.query',
    engine: 'mysql',
    maxFailed: QUERIES, // as mysql2
    codes: /^(ER_SOCKET_UNEXPECTED_CLOSE|ECONNRESET|EPIPE)$/,
    open(source) {
      const pool = new RotatingMariaDbPool(source, { ...server('mysql'), connectionLimit: 4 });
      return { query: () => pool.query('SELECT 1'), end: () => pool.end() };
    },
  },
];

function code(err: unknown): string {
  const e = err as { code?: unknown; errno?: unknown; message?: string };
  return String(e?.code ?? e?.errno ?? e?.message?.slice(0, 40));
}

describe.each(CASES)('idle sessions ended by the server under load: $name', (c) => {
  let sm: TestSecretsManager;
  let admin: Admin;
  let user: UserCreds;
  let source: CredentialSource;
  let pool: ReturnType<Case['open']> | undefined;

  beforeAll(async () => {
    sm = await startTestSecretsManager();
    admin = await createAdmin(c.engine);
  });
  afterEach(async () => {
    await pool?.end().catch(() => undefined);
    source?.close();
  });
  afterAll(async () => {
    await admin?.close();
    await sm?.close();
  });

  const killIdle = async (username: string): Promise<number> => {
    if (c.engine === 'postgres') {
      const rows = await admin.exec(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1 AND state = 'idle'",
        [username],
      );
      return rows.length;
    }
    const rows = (await admin.exec(
      "SELECT id FROM information_schema.processlist WHERE user = ? AND command = 'Sleep'",
      [username],
    )) as Array<{ id: number }>;
    for (const { id } of rows) await admin.exec(`KILL CONNECTION ${Number(id)}`).catch(() => undefined);
    return rows.length;
  };

  it(`${QUERIES} queries while idle sessions are ended every ${QUERIES_PER_KILL} queries: failures counted and bounded`, async () => {
    user = await admin.createUser({ prefix: 'idlekill' });
    const secretId = uniqueSecretName('idle-kill');
    await putDbSecret(sm.client, secretId, dbSecretFor(c.engine, user));
    source = createCredentialSource({ secretId, client: sm.client });
    pool = c.open(source);
    await pool.query();
    let done = 0;
    let killed = 0;
    const failed: string[] = [];
    let stop = false;
    const killer = (async () => {
      let next = QUERIES_PER_KILL;
      while (!stop) {
        if (done + failed.length < next) {
          await sleep(1);
          continue;
        }
        killed += await killIdle(user.username);
        next += QUERIES_PER_KILL;
      }
    })();
    // Driven by counts: QUERIES queries and at least MIN_KILLED sessions ended, whichever comes last (how many
    // kill rounds fit in 3,000 queries depends on the machine's speed). The test timeout catches a hang.
    const worker = async () => {
      while (done + failed.length < QUERIES || killed < MIN_KILLED) {
        try {
          await pool!.query();
          done++;
        } catch (err) {
          failed.push(code(err));
        }
        await sleep(Math.random() * 3); // short idle gaps: the window the kills hit
      }
    };
    await Promise.all(Array.from({ length: 4 }, worker));
    stop = true;
    await killer;
    const byCode: Record<string, number> = {};
    for (const f of failed) byCode[f] = (byCode[f] ?? 0) + 1;
    if (REPORT)
      console.info(
        `[idle-kill] ${c.name}: ${done} ok, ${failed.length} failed ${JSON.stringify(byCode)}, ${killed} sessions ended`,
      );
    expect(killed).toBeGreaterThanOrEqual(MIN_KILLED); // the fault happened, many times
    expect(done + failed.length).toBeGreaterThanOrEqual(QUERIES);
    expect(failed.length).toBeLessThanOrEqual(c.maxFailed);
    for (const f of new Set(failed)) expect(f).toMatch(c.codes);
    expect(sm.sm.callCount('GetSecretValue')).toBe(1); // a dropped connection is no credential problem
  }, 240_000); // a hang guard: past the former 60 s with the 2 cores shared by ten test processes
});

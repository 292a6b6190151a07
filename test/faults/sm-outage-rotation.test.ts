/**
 * A rotation behind a Secrets Manager outage, through real @dbcreds/pg and @dbcreds/mysql2 pools with the
 * default error backoff (1 s doubling, the setting that used to leave the new version unread for seconds
 * after Secrets Manager answered again).
 *
 * Order and counts, no elapsed time: the password changes on the server while Secrets Manager answers 500;
 * every session is ended, so each query needs a new login, which the server refuses; the fault is held until
 * the proxy answered 500 to 9 GetSecretValue requests (3 failed fetches: the old backoff had reached 4 s);
 * then it clears. Asserted: the next GetSecretValue after the clear succeeds, the new version is installed
 * after it, with at most 2 requests in between, and every query that ended after the clear succeeded
 * (N = 40 of them started after the install). Deadlines only catch hangs.
 */
import { createCredentialSource } from '@dbcreds/core';
import { createPool as createMysqlPool } from '@dbcreds/mysql2';
import { createPool as createPgPool } from '@dbcreds/pg';
import {
  createAdmin,
  dbSecretFor,
  ENGINES,
  type EngineName,
  moveCurrent,
  newSecretsManagerClient,
  putDbSecret,
  randomPassword,
  startFaultProxy,
  startTestSecretsManager,
  uniqueSecretName,
} from '@dbcreds/testbed';
import { describe, expect, it } from 'vitest';

const WORKERS = 8;
const QUERIES_AFTER_INSTALL = 40;
/** 3 failed fetches of 3 attempts each: the old error backoff stood at 4 s. */
const FAILED_REQUESTS = 9;
const HANG_MS = 60_000;
/** Lets the pools see the ended sessions before the next checkout (a kill mid-query fails that query by design). */
const SETTLE_AFTER_KILL_MS = 250;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitUntil(cond: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + HANG_MS;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${HANG_MS} ms waiting for ${what}`);
    await sleep(20);
  }
}

type Event = 'clear' | 'fetch-500' | 'fetch-ok' | 'rotated' | 'query-ok' | 'query-failed';

function openPool(engine: EngineName, source: ReturnType<typeof createCredentialSource>) {
  if (engine === 'postgres') {
    const pool = createPgPool(source, { max: 4, connectionTimeoutMillis: 30_000 });
    pool.on('error', () => {}); // idle clients whose sessions the test ended
    return { query: () => pool.query('SELECT 1'), end: () => pool.end() };
  }
  const pool = createMysqlPool(source, { connectionLimit: 4, connectTimeout: 30_000 }).promise();
  return { query: () => pool.query('SELECT 1'), end: () => pool.end() };
}

describe.each(ENGINES)('a rotation behind a Secrets Manager outage (%s)', { timeout: 120_000 }, (engine) => {
  it('the next fetch after the clear succeeds, the new version is installed, then every query succeeds: 0 failed after the clear', async () => {
    const [admin, tsm] = await Promise.all([createAdmin(engine), startTestSecretsManager()]);
    const user = await admin.createUser({ prefix: 'smo' });
    const proxy = await startFaultProxy({ target: tsm.endpoint });
    const client = newSecretsManagerClient(proxy.endpoint, 1);
    const secretId = uniqueSecretName('smoutage');
    await putDbSecret(tsm.client, secretId, dbSecretFor(engine, user));
    const log: Event[] = [];
    proxy.onRequest((r) => {
      if (r.target === 'secretsmanager.GetSecretValue') log.push(r.mode === 'pass' ? 'fetch-ok' : 'fetch-500');
    });
    // Default error backoff and awaitRotationMs (10 s): what an app gets without tuning.
    const source = createCredentialSource({ secretId, client });
    source.on('rotated', () => log.push('rotated'));
    const pool = openPool(engine, source);
    let stop = false;
    const worker = async () => {
      while (!stop) {
        try {
          await pool.query();
          log.push('query-ok');
        } catch {
          log.push('query-failed');
        }
        await sleep(10);
      }
    };
    let workers: Promise<unknown> | undefined;
    try {
      await Promise.all(Array.from({ length: 4 }, () => pool.query())); // logins that worked
      await proxy.setMode('http500');
      // Single-user rotation behind the fault: AWSPENDING, the server's password, AWSCURRENT moves.
      const next = { username: user.username, password: randomPassword() };
      const pending = await putDbSecret(tsm.client, secretId, dbSecretFor(engine, next), ['AWSPENDING']);
      await admin.setPassword(next.username, next.password);
      await admin.expectLoginRejected(user);
      await moveCurrent(tsm.client, secretId, pending);
      await admin.killSessions(user.username); // every query from here needs a new login
      await sleep(SETTLE_AFTER_KILL_MS);
      workers = Promise.all(Array.from({ length: WORKERS }, worker));
      await waitUntil(
        () => log.filter((e) => e === 'fetch-500').length >= FAILED_REQUESTS && source.stats().refreshes >= 1,
        `${FAILED_REQUESTS} failed GetSecretValue requests after a refused login`,
      );
      await proxy.setMode('pass');
      log.push('clear');
      const clear = log.length - 1;
      await waitUntil(() => {
        const at = log.indexOf('rotated', clear);
        return at >= 0 && log.slice(at).filter((e) => e === 'query-ok').length >= QUERIES_AFTER_INSTALL;
      }, `the new version and ${QUERIES_AFTER_INSTALL} queries after it`);
      stop = true;
      await workers;

      const after = log.slice(clear + 1);
      const fetches = after.filter((e) => e === 'fetch-ok' || e === 'fetch-500');
      const rotated = after.indexOf('rotated');
      expect(fetches[0]).toBe('fetch-ok'); // the first request after the clear is answered
      expect(after.indexOf('fetch-ok')).toBeLessThan(rotated); // …and installs the new version
      expect(after.slice(0, rotated).filter((e) => e === 'fetch-ok').length).toBeLessThanOrEqual(2);
      expect(after.filter((e) => e === 'query-failed')).toEqual([]);
      expect(after.slice(rotated).filter((e) => e === 'query-ok').length).toBeGreaterThanOrEqual(QUERIES_AFTER_INSTALL);
      // Bounded calls during the fault: the 9 awaited plus at most one lookup in flight at the clear.
      expect(log.slice(0, clear).filter((e) => e === 'fetch-500').length).toBeLessThanOrEqual(FAILED_REQUESTS + 3);
      expect(source.stats()).toMatchObject({ versionId: pending, rotations: 1 });
      await admin.expectLoginAccepted(await source.get());
    } finally {
      stop = true;
      await workers?.catch(() => {});
      await pool.end().catch(() => {});
      source.close();
      client.destroy();
      await proxy.close();
      await tsm.close();
      await admin.close();
    }
  });
});

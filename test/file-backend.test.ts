/**
 * The file backend under the conformance suite: the secret is mounted by a CSI-driver stand-in that copies
 * it from the local Secrets Manager with the kubelet's atomic writer, `LAG_MS` after each change (inside
 * the refused-login wait budget), AWSPENDING mounted as the rotation-window fallback. Both engines, through
 * @dbcreds/pg and @dbcreds/mysql2 unchanged. Then a lag past the budget: the driver's auth error, then recovery.
 */
import { randomPassword } from '@dbcreds/testbed';
import type { CredentialSource } from '@dbcreds/core';
import { createCredentialSource, isAuthError } from '@dbcreds/core';
import { createPool as createMysqlPool } from '@dbcreds/mysql2';
import { createPool as createPgPool } from '@dbcreds/pg';
import { mysql2, pg } from 'dbcreds/testing';
import type { RowDataPacket } from 'mysql2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Admin, createAdmin } from './src/admin.js';
import { fromCatalog, runConformanceSuite } from './src/conformance.js';
import { csiMount } from './src/csi-mount.js';
import { dbSecretFor, putDbSecret, startTestSecretsManager, uniqueSecretName } from './src/secrets.js';
import { type EngineName, serverFor } from './src/servers.js';

/** The mount's lag behind Secrets Manager (the CSI driver's poll and write), inside awaitRotationMs (10 s). */
const LAG_MS = 1_500;
/** 8: Secrets Manager down does not reach a mounted secret; 14 does not read the source's backend. */
const SCENARIOS = [1, 2, 3, 4, 5, 6, 7, 9, 10, 11, 12, 13, 15];

runConformanceSuite({
  name: '@dbcreds/pg',
  backend: csiMount({ lagMs: LAG_MS }),
  engines: ['postgres'],
  scenarios: SCENARIOS,
  create: fromCatalog(pg),
});

runConformanceSuite({
  name: '@dbcreds/mysql2',
  backend: csiMount({ lagMs: LAG_MS }),
  engines: ['mysql'],
  scenarios: SCENARIOS,
  create: fromCatalog(mysql2),
});

/** One query through the engine's adapter on `source`. */
function clientFor(engine: EngineName, source: CredentialSource): { query(): Promise<string>; close(): Promise<void> } {
  const s = serverFor(engine);
  if (engine === 'postgres') {
    const pool = createPgPool(source, {
      host: s.host,
      port: s.port,
      database: s.database,
      max: 4,
      idleTimeoutMillis: 100,
    });
    return {
      query: async () => (await pool.query('SELECT current_user AS u')).rows[0].u as string,
      close: () => pool.end(),
    };
  }
  const pool = createMysqlPool(source, {
    host: s.host,
    port: s.port,
    database: s.database,
    maxIdle: 0,
    idleTimeout: 100,
  });
  return {
    query: async () => String((await pool.promise().query<RowDataPacket[]>('SELECT CURRENT_USER() AS u'))[0][0]!.u),
    close: () => pool.promise().end(),
  };
}

describe.each(['postgres', 'mysql'] as const)('file backend on %s: the mount lags past awaitRotationMs', (engine) => {
  let admin: Admin;
  beforeAll(async () => {
    admin = await createAdmin(engine);
  });
  afterAll(async () => {
    await admin?.close();
  });

  it('a refused login waits the budget, then fails with the driver auth error; the late mount recovers', async () => {
    const budgetMs = 500;
    const lagMs = 8_000; // 16× the budget: the mount is still behind when the budget runs out, however slow the machine
    const sm = await startTestSecretsManager();
    const user = await admin.createUser({ prefix: 'filelag' });
    const secretId = uniqueSecretName('file-lag');
    await putDbSecret(sm.client, secretId, dbSecretFor(engine, user));
    const mount = await csiMount({ lagMs, pending: false }).mount(sm, secretId);
    const source = createCredentialSource({ ...mount.options, awaitRotationMs: budgetMs, minRefreshIntervalMs: 200 });
    const client = clientFor(engine, source);
    try {
      expect(String(await client.query()).split('@')[0]).toBe(user.username);
      const next = { username: user.username, password: randomPassword() };
      const writes = mount.writes(); // the first mount
      await admin.setPassword(next.username, next.password);
      await putDbSecret(sm.client, secretId, dbSecretFor(engine, next));
      await admin.expectLoginRejected(user);
      await admin.killSessions(user.username);
      await new Promise((r) => setTimeout(r, 250));
      const started = Date.now();
      const err = await client.query().then(
        () => undefined,
        (e: unknown) => e,
      );
      const waited = Date.now() - started;
      expect(isAuthError(err)).toBe(true);
      expect(String((err as { code?: unknown; errno?: unknown }).code ?? '')).toMatch(
        engine === 'postgres' ? /^28P01$/ : /ACCESS_DENIED/,
      );
      expect(waited).toBeGreaterThanOrEqual(budgetMs - 50);
      expect(mount.writes()).toBe(writes); // the mount was still behind when the budget ran out
      // The mount catches up: the watcher expires the cache and the next logins use the new password.
      const deadline = Date.now() + 30_000;
      while (mount.writes() === writes && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      let ok: string | undefined;
      while (ok === undefined && Date.now() < deadline) {
        ok = await client.query().catch(() => undefined);
        if (ok === undefined) await new Promise((r) => setTimeout(r, 50));
      }
      expect(String(ok).split('@')[0]).toBe(user.username);
    } finally {
      await client.close().catch(() => {});
      source.close();
      await mount.close();
      await sm.close();
      await admin.dropUser(user.username);
    }
  }, 60_000);
});

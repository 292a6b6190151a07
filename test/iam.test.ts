/**
 * RDS IAM authentication through @dbcreds/pg (and knex's pg dialect) against a private PostgreSQL
 * with TLS on (self-signed certificate, verified by the client as the RDS CA bundle would be). The
 * test stands in for RDS's token check: it sets the user's password to the token the real signer
 * produced (static fake AWS credentials: presigning needs no network), and to the newest token only,
 * so an older one is refused as an expired one would be.
 *
 * What this exercises: token signing and caching, the token as the password of a TLS (verified
 * certificate) scram login, the background re-sign and the switch to the new token for new
 * connections, the auth-failure path (one fresh token, one retry, then the driver's error), and the
 * adapters' TLS requirement. What only real RDS can: that RDS accepts the signature (IAM policy
 * `rds-db:connect` on the dbuser ARN, the `rds_iam` grant, clock skew), PAM-based verification (RDS
 * answers 28000 "PAM authentication failed" rather than 28P01), and RDS's own certificate chain.
 */
import { createIamAuthSource } from '@dbcreds/core/iam';
import { withRotatingCredentials } from '@dbcreds/knex';
import { type EmbeddedPostgres, startEmbeddedPostgres } from 'dbcreds/testing';
import * as knexModule from 'knex';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPool as createMysqlPool } from '@dbcreds/mysql2';
import { createPool } from '@dbcreds/pg';
import { withRotatingCredentials as withSequelize } from '@dbcreds/sequelize';

const knex = knexModule.knex ?? (knexModule.default as unknown as typeof knexModule.knex);
const USER = 'app_iam';
const credentials = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' };

let server: EmbeddedPostgres;
let admin: pg.Client;
let ca: string;

beforeAll(async () => {
  server = await startEmbeddedPostgres({ tls: true, maxConnections: 40 });
  ca = server.tlsCertificate!;
  const s = server.server;
  admin = new pg.Client({
    host: s.host,
    port: s.port,
    user: s.adminUser,
    password: s.adminPassword,
    database: s.database,
  });
  await admin.connect();
  await admin.query(`CREATE ROLE ${admin.escapeIdentifier(USER)} LOGIN`);
}, 120_000);
afterAll(async () => {
  await admin?.end().catch(() => {});
  await server?.stop();
});

/** RDS's check, stood in for: only `token` logs in as USER from now on. */
const acceptOnly = (token: string) =>
  admin.query(`ALTER ROLE ${admin.escapeIdentifier(USER)} PASSWORD ${admin.escapeLiteral(token)}`);

const killSessions = () =>
  admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1', [USER]);

async function loginError(password: string): Promise<{ code?: string } | undefined> {
  const c = new pg.Client({
    host: server.server.host,
    port: server.server.port,
    user: USER,
    password,
    database: 'postgres',
    ssl: { ca },
  });
  try {
    await c.connect();
    return undefined;
  } catch (err) {
    return err as { code?: string };
  } finally {
    await c.end().catch(() => {});
  }
}

function iamSource(clock: { now(): number }) {
  return createIamAuthSource({
    hostname: server.server.host,
    port: server.server.port,
    username: USER,
    region: 'us-east-1',
    credentials,
    database: 'postgres',
    clock,
    retry: { maxAttempts: 1 },
  });
}

const SQL = 'SELECT current_user AS u, (SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()) AS tls';

describe('RDS IAM auth tokens through @dbcreds/pg, TLS on', () => {
  it('logs in with the token over verified TLS; a re-signed token replaces it for new connections', async () => {
    let now = Date.now();
    const source = iamSource({ now: () => now });
    const pool = createPool(source, { ssl: { ca }, max: 4, idleTimeoutMillis: 50 });
    try {
      const t1 = await source.get();
      await acceptOnly(t1.password);
      const first = await pool.query(SQL);
      expect(first.rows).toEqual([{ u: USER, tls: true }]);
      // SigV4 presigning has 1 s resolution: a token signed in the same second is the same token.
      await new Promise((r) => setTimeout(r, 1_000 - (Date.now() % 1_000) + 5));
      // 12.5 min later (source clock): the token is past its replacement point. The next get() still
      // answers with it and re-signs in the background.
      now += 12.5 * 60_000;
      const refreshed = new Promise((r) => source.once('refreshed', r));
      expect((await source.get()).password).toBe(t1.password);
      await refreshed;
      const t2 = await source.get();
      expect(t2.password).not.toBe(t1.password);
      await acceptOnly(t2.password); // t1 is now refused, as an expired token would be
      expect((await loginError(t1.password))?.code).toBe('28P01');
      await killSessions();
      await new Promise((r) => setTimeout(r, 100));
      const results = await Promise.allSettled(Array.from({ length: 12 }, () => pool.query(SQL)));
      expect(results.filter((r) => r.status === 'rejected')).toEqual([]);
      expect(source.stats().fetches).toBe(2);
    } finally {
      await pool.end();
      source.close();
    }
  });

  it('an auth failure gets one fresh token and one retry, then the server error', async () => {
    const source = iamSource({ now: () => Date.now() });
    const pool = createPool(source, { ssl: { ca }, max: 2 });
    try {
      await acceptOnly('neither-token-'.repeat(4)); // the server accepts no token we could sign
      let attempts = 0;
      const counted = source.withAuthRetry.bind(source);
      Object.defineProperty(source, 'withAuthRetry', {
        value: <T>(attempt: (c: never) => Promise<T>) =>
          counted((c) => {
            attempts++;
            return attempt(c as never);
          }),
      });
      const err = (await pool.query('SELECT 1').catch((e: unknown) => e)) as { code?: string };
      expect(err.code).toBe('28P01');
      expect(attempts).toBe(2);
      expect(source.stats().fetches).toBe(2); // the first token and one fresh token
    } finally {
      await pool.end();
      source.close();
    }
  });

  it('without TLS the adapters refuse the IAM source at construction, saying what to set', () => {
    const source = iamSource({ now: () => Date.now() });
    try {
      expect(() => createPool(source, {})).toThrow(/@dbcreds\/pg: an RDS IAM auth source needs TLS: set ssl: \{ ca:/);
      expect(() => withRotatingCredentials({ client: 'pg', connection: { database: 'postgres' } }, source)).toThrow(
        /@dbcreds\/knex: .* set connection\.ssl/,
      );
    } finally {
      source.close();
    }
  });

  it('mysql2: TLS required, mysql_clear_password enabled (the token goes in clear text inside TLS)', () => {
    const source = createIamAuthSource({
      hostname: 'db.example',
      port: 3306,
      username: 'app',
      region: 'us-east-1',
      credentials,
    });
    try {
      expect(() => createMysqlPool(source, {})).toThrow(/@dbcreds\/mysql2: an RDS IAM auth source needs TLS: set ssl/);
      const pool = createMysqlPool(source, { ssl: { ca } });
      const cfg = (pool as unknown as { config: { connectionConfig: Record<string, unknown> } }).config
        .connectionConfig;
      expect(cfg.enableCleartextPlugin).toBe(true);
      pool.end();
    } finally {
      source.close();
    }
  });

  it('Sequelize: dialectOptions.ssl required; mysql gets the clear-text plugin (the mariadb connector has it)', () => {
    const source = iamSource({ now: () => Date.now() });
    try {
      expect(() => withSequelize({ dialect: 'postgres' }, source)).toThrow(
        /@dbcreds\/sequelize: an RDS IAM auth source needs TLS: set dialectOptions\.ssl/,
      );
      const ssl = { ca };
      expect(withSequelize({ dialect: 'mysql', dialectOptions: { ssl } }, source).dialectOptions).toEqual({
        ssl,
        enableCleartextPlugin: true,
      });
      expect(withSequelize({ dialect: 'mariadb', dialectOptions: { ssl } }, source).dialectOptions).toEqual({ ssl });
    } finally {
      source.close();
    }
  });

  it('knex (pg dialect) logs in with the token over TLS', async () => {
    const source = iamSource({ now: () => Date.now() });
    await acceptOnly((await source.get()).password);
    const db = knex(withRotatingCredentials({ client: 'pg', connection: { ssl: { ca } } }, source));
    try {
      const r = await db.raw(SQL);
      expect(r.rows).toEqual([{ u: USER, tls: true }]);
    } finally {
      await db.destroy();
      source.close();
    }
  });
});

/**
 * Secrets in other shapes through real pools, the endpoint taken from the secret itself (no host, port
 * or database option): nested custom keys, a URL key, a whole-URL SecretString with a password that
 * needs percent-encoding, and a Redshift-engine secret (PostgreSQL protocol). The conformance suite
 * covers rotation in these shapes with the endpoint from options (scenarios 11–14).
 */
import { createCredentialSource, type CredentialSourceOptions } from '@dbcreds/core';
import { createPool as createMysqlPool } from '@dbcreds/mysql2';
import { createPool as createPgPool } from '@dbcreds/pg';
import {
  type Admin,
  createAdmin,
  ENGINES,
  type EngineName,
  putDbSecret,
  randomPassword,
  SECRET_SHAPE_KEYS,
  type SecretShape,
  secretStringFor,
  serverFor,
  startTestSecretsManager,
  type TestSecretsManager,
  uniqueSecretName,
} from '@dbcreds/testbed';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/** `current_user` through a fresh pool of the engine's driver adapter, endpoint from the secret only. */
async function whoami(engine: EngineName, options: CredentialSourceOptions): Promise<string> {
  const source = createCredentialSource(options);
  try {
    if (engine === 'postgres') {
      const pool = createPgPool(source, { max: 1 });
      try {
        return (await pool.query<{ u: string }>('SELECT current_user AS u')).rows[0]!.u;
      } finally {
        await pool.end();
      }
    }
    const pool = createMysqlPool(source, { connectionLimit: 1 }).promise();
    try {
      const [rows] = await pool.query('SELECT CURRENT_USER() AS u');
      return String((rows as Array<{ u: string }>)[0]!.u).split('@')[0]!;
    } finally {
      await pool.end();
    }
  } finally {
    source.close();
  }
}

describe.each(ENGINES)('secret shapes through a real pool on %s (endpoint from the secret)', (engine) => {
  let sm: TestSecretsManager;
  let admin: Admin;
  beforeAll(async () => {
    sm = await startTestSecretsManager();
    admin = await createAdmin(engine);
  });
  afterAll(async () => {
    await admin?.close();
    await sm?.close();
  });

  it.each<[SecretShape, string]>([
    ['custom-keys', randomPassword()],
    ['url-key', randomPassword()],
    // Every character a URL escapes, and non-ASCII: the URL carries it percent-encoded.
    ['url', `${randomPassword()} @:/%#+?&='"\\é€`],
  ])('%s: logs in as the secret says, and the old password is refused after a change', async (shape, password) => {
    const user = await admin.createUser({ prefix: 'shape', password });
    try {
      const secretId = uniqueSecretName('shape');
      await putDbSecret(sm.client, secretId, secretStringFor(shape, engine, user));
      const keys = SECRET_SHAPE_KEYS[shape];
      const options = { secretId, client: sm.client, ...(keys ? { secretKeys: keys } : {}) };
      expect(await whoami(engine, options)).toBe(user.username);
      // The login really used the secret's password: with another one on the server it fails.
      await admin.setPassword(user.username, randomPassword());
      await admin.expectLoginRejected(user);
      await expect(whoami(engine, options)).rejects.toThrow();
    } finally {
      await admin.dropUser(user.username);
    }
  });
});

describe('a Redshift-engine secret is served by the PostgreSQL adapter', () => {
  it('engine "redshift" with the endpoint in the secret: pg logs in', async () => {
    const sm = await startTestSecretsManager();
    const admin = await createAdmin('postgres');
    const user = await admin.createUser({ prefix: 'rs' });
    try {
      const s = serverFor('postgres');
      const secretId = uniqueSecretName('redshift');
      const secret = {
        engine: 'redshift',
        host: s.host,
        port: String(s.port), // the secret's port wins over Redshift's 5439
        username: user.username,
        password: user.password,
        dbname: s.database,
        dbClusterIdentifier: 'examplecluster',
      };
      await putDbSecret(sm.client, secretId, JSON.stringify(secret));
      expect(await whoami('postgres', { secretId, client: sm.client })).toBe(user.username);
    } finally {
      await admin.dropUser(user.username);
      await admin.close();
      await sm.close();
    }
  });
});

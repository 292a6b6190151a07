import { GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import {
  type Admin,
  createAdmin,
  dbSecretFor,
  ENGINES,
  putDbSecret,
  serverFor,
  startTestSecretsManager,
  type TestSecretsManager,
  uniqueSecretName,
} from '@dbcreds/testbed';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRotationHandler, DatabaseLoginError, RotationStateError, type RotationHandler } from '../src/index.js';
import {
  createUserNamed,
  expectNoSecrets,
  nastyPassword,
  nastyUsername,
  putPending,
  runSteps,
  stagesOf,
  valueAt,
} from './helpers.js';

let tsm: TestSecretsManager;
beforeAll(async () => {
  tsm = await startTestSecretsManager();
});
afterAll(async () => {
  await tsm?.close();
});

describe.each(ENGINES)('%s', (engine) => {
  let admin: Admin;
  let single: RotationHandler;
  beforeAll(async () => {
    admin = await createAdmin(engine);
    single = createRotationHandler({ strategy: 'single-user', client: tsm.client, connectTimeoutMs: 3000 });
  });
  afterAll(async () => {
    await admin?.close();
  });

  /** A master secret that can create users and grant: the server admin (PG) / a GRANT OPTION user (MariaDB). */
  async function masterSecret(): Promise<string> {
    const name = uniqueSecretName('master');
    if (engine === 'postgres') {
      const s = serverFor(engine);
      await putDbSecret(tsm.client, name, dbSecretFor(engine, { username: s.adminUser, password: s.adminPassword }));
    } else {
      const m = await admin.createUser({ prefix: 'm' });
      await admin.exec("GRANT ALL PRIVILEGES ON *.* TO ?@'%' WITH GRANT OPTION", [m.username]);
      await putDbSecret(tsm.client, name, dbSecretFor(engine, m));
    }
    return name;
  }

  it('single-user: rotates a quote/backslash/%/unicode user and password; old password rejected; steps re-run harmlessly', async () => {
    const username = nastyUsername();
    const oldPassword = nastyPassword();
    await createUserNamed(admin, engine, username, oldPassword);
    try {
      const secretId = uniqueSecretName('single');
      const v1 = await putDbSecret(tsm.client, secretId, dbSecretFor(engine, { username, password: oldPassword }));
      const newPassword = nastyPassword();
      const token = await putPending(tsm.client, secretId, {
        ...dbSecretFor(engine, { username, password: newPassword }),
      });
      tsm.sm.resetCounters();

      await runSteps(single, secretId, token, { times: 2 });

      await admin.expectLoginRejected({ username, password: oldPassword });
      await admin.expectLoginAccepted({ username, password: newPassword });
      expect(await stagesOf(tsm.client, secretId)).toEqual({
        [v1]: ['AWSPREVIOUS'],
        [token]: ['AWSCURRENT', 'AWSPENDING'].sort(),
      });
      expect((await valueAt(tsm.client, secretId, 'AWSCURRENT')).password).toBe(newPassword);
      // Second finishSecret etc. are no-ops after the guard: 8 DescribeSecret, one stage move.
      expect(tsm.sm.callCount('UpdateSecretVersionStage')).toBe(1);
      expect(tsm.sm.callCount('PutSecretValue')).toBe(0);
      // After the rotation every step is a no-op.
      await runSteps(single, secretId, token);
      await admin.expectLoginAccepted({ username, password: newPassword });
    } finally {
      await admin.dropUser(username);
    }
  });

  it('single-user: createSecret generates the password with GetRandomPassword (default exclusions)', async () => {
    // The createSecret generation path needs a value-less AWSPENDING version, which only RotateSecret
    // registers; here we check the generated-password round trip through setSecret instead.
    const user = await admin.createUser({ prefix: 'g' });
    const secretId = uniqueSecretName('gen');
    await putDbSecret(tsm.client, secretId, dbSecretFor(engine, user));
    const { RandomPassword } = await tsm.client.send(
      new (await import('@aws-sdk/client-secrets-manager')).GetRandomPasswordCommand({
        ExcludeCharacters: (await import('../src/index.js')).DEFAULT_EXCLUDE_CHARACTERS,
      }),
    );
    const token = await putPending(tsm.client, secretId, dbSecretFor(engine, { ...user, password: RandomPassword! }));
    await runSteps(single, secretId, token);
    await admin.expectLoginRejected(user);
    await admin.expectLoginAccepted({ ...user, password: RandomPassword! });
  });

  it('single-user: falls back to AWSPREVIOUS when AWSCURRENT no longer logs in', async () => {
    const user = await admin.createUser({ prefix: 'p' });
    const secretId = uniqueSecretName('prev');
    await putDbSecret(tsm.client, secretId, dbSecretFor(engine, user));
    // AWSCURRENT holds a password the server never had (e.g. someone overwrote the secret).
    await putDbSecret(tsm.client, secretId, dbSecretFor(engine, { ...user, password: 'never-set-on-server' }));
    const next = nastyPassword();
    const token = await putPending(tsm.client, secretId, dbSecretFor(engine, { ...user, password: next }));
    await runSteps(single, secretId, token);
    await admin.expectLoginRejected(user);
    await admin.expectLoginAccepted({ ...user, password: next });
  });

  it('alternating-users: u → u_clone → u → u_clone with a quote/backslash/%/unicode name; previous user keeps working; grants follow', async () => {
    const user = { username: nastyUsername(), password: nastyPassword() };
    await createUserNamed(admin, engine, user.username, user.password);
    const clone = `${user.username}_clone`;
    const alternating = createRotationHandler({
      strategy: 'alternating-users',
      client: tsm.client,
      connectTimeoutMs: 3000,
    });
    try {
      const masterarn = await masterSecret();
      const secretId = uniqueSecretName('alt');
      await putDbSecret(tsm.client, secretId, { ...dbSecretFor(engine, user), masterarn });
      const seen: Array<{ username: string; password: string }> = [user];
      for (let i = 1; i <= 3; i++) {
        const current = await valueAt(tsm.client, secretId, 'AWSCURRENT');
        const pendingUser = i % 2 === 1 ? clone : user.username;
        const password = nastyPassword();
        const token = await putPending(tsm.client, secretId, {
          ...dbSecretFor(engine, { username: pendingUser, password }),
          masterarn,
        });
        await runSteps(alternating, secretId, token, { times: i === 2 ? 2 : 1 });

        const now = await valueAt(tsm.client, secretId, 'AWSCURRENT');
        expect(now).toMatchObject({ versionId: token, username: pendingUser, password });
        await admin.expectLoginAccepted(now);
        // The user behind the previous AWSCURRENT still works with its password.
        await admin.expectLoginAccepted({ username: current.username, password: current.password });
        expect((await valueAt(tsm.client, secretId, 'AWSPREVIOUS')).versionId).toBe(current.versionId);
        seen.push({ username: pendingUser, password });
      }
      // Rotation 3 rewrote u_clone: its rotation-1 password is gone. Rotation 2 rewrote u: the original is gone.
      await admin.expectLoginRejected(seen[1]!);
      await admin.expectLoginRejected(seen[0]!);
      // The clone holds the original's privileges (MySQL: replayed grants; PostgreSQL: role membership).
      if (engine === 'postgres') {
        expect(await admin.exec('SELECT pg_has_role($1, $2, $3) AS m', [clone, user.username, 'MEMBER'])).toEqual([
          { m: true },
        ]);
      } else {
        const grants = JSON.stringify(await admin.exec("SHOW GRANTS FOR ?@'%'", [clone]));
        expect(grants).toContain(`ON \`${admin.server.database}\`.*`);
      }
    } finally {
      await admin.dropUser(clone);
      await admin.dropUser(user.username);
    }
  });

  it('alternating-users: a wrong master password fails setSecret cleanly; fixing it and re-running completes', async () => {
    const user = await admin.createUser({ prefix: 'f' });
    const clone = `${user.username}_clone`;
    const alternating = createRotationHandler({
      strategy: 'alternating-users',
      client: tsm.client,
      connectTimeoutMs: 3000,
    });
    try {
      const masterarn = await masterSecret();
      const master = await valueAt(tsm.client, masterarn, 'AWSCURRENT');
      const wrong = `wrong-${nastyPassword()}`;
      await putDbSecret(tsm.client, masterarn, { ...dbSecretFor(engine, master), password: wrong });
      const secretId = uniqueSecretName('fail');
      const v1 = await putDbSecret(tsm.client, secretId, { ...dbSecretFor(engine, user), masterarn });
      const pendingPassword = nastyPassword();
      const token = await putPending(tsm.client, secretId, {
        ...dbSecretFor(engine, { username: clone, password: pendingPassword }),
        masterarn,
      });
      await runSteps(alternating, secretId, token, { steps: ['createSecret'] });
      const err = await alternating({ Step: 'setSecret', SecretId: secretId, ClientRequestToken: token }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(DatabaseLoginError);
      expect(err).toMatchObject({ step: 'setSecret', code: 'DBCREDS_ROTATION_DB_LOGIN', username: master.username });
      expect((err as Error).cause).toMatchObject(engine === 'postgres' ? { code: '28P01' } : { errno: 1045 });
      expectNoSecrets(err, [wrong, pendingPassword, user.password, master.password]);

      // AWSCURRENT untouched and working, AWSPENDING still in place, clone not created.
      expect(await stagesOf(tsm.client, secretId)).toEqual({ [v1]: ['AWSCURRENT'], [token]: ['AWSPENDING'] });
      await admin.expectLoginAccepted(user);
      const cloneRows = await admin.exec(
        engine === 'postgres' ? 'SELECT 1 FROM pg_roles WHERE rolname = $1' : 'SELECT 1 FROM mysql.user WHERE User = ?',
        [clone],
      );
      expect(cloneRows).toEqual([]);
      await expect(
        alternating({ Step: 'testSecret', SecretId: secretId, ClientRequestToken: token }),
      ).rejects.toBeInstanceOf(DatabaseLoginError);

      // Fix the master secret; re-run from setSecret (as Secrets Manager's retry would, from createSecret).
      await putDbSecret(tsm.client, masterarn, dbSecretFor(engine, master));
      await runSteps(alternating, secretId, token);
      expect((await valueAt(tsm.client, secretId, 'AWSCURRENT')).versionId).toBe(token);
      await admin.expectLoginAccepted({ username: clone, password: pendingPassword });
      await admin.expectLoginAccepted(user);
    } finally {
      await admin.dropUser(clone);
    }
  });

  it('entry guards: unknown token, token without AWSPENDING, AWSCURRENT no-op, unknown step', async () => {
    const user = await admin.createUser({ prefix: 'e' });
    const secretId = uniqueSecretName('guard');
    const v1 = await putDbSecret(tsm.client, secretId, dbSecretFor(engine, user));
    const call = (Step: string, token: string) => single({ Step, SecretId: secretId, ClientRequestToken: token });
    await expect(call('setSecret', '00000000-0000-4000-8000-000000000000')).rejects.toThrow(
      /not a version of this secret/,
    );
    // AWSCURRENT: every step is a no-op (no DB login, no SM writes).
    tsm.sm.resetCounters();
    for (const step of ['createSecret', 'setSecret', 'testSecret', 'finishSecret']) await call(step, v1);
    expect(tsm.sm.counters()).toEqual({ DescribeSecret: 4 });
    await expect(call('nextSecret', v1)).rejects.toBeInstanceOf(RotationStateError);
    // A version with no label at all is not listed; one with only a custom label lacks AWSPENDING.
    const other = await putDbSecret(tsm.client, secretId, dbSecretFor(engine, user), ['CUSTOM']);
    await expect(call('setSecret', other)).rejects.toThrow(/not set as AWSPENDING/);
    const cur = await tsm.client.send(new GetSecretValueCommand({ SecretId: secretId }));
    expect(cur.VersionId).toBe(v1);
  });
});

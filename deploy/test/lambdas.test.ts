/**
 * The two Lambda bundles the stack deploys, run as Lambda would run them: each invocation in a fresh
 * Node process, from a folder with nothing but the bundle (no node_modules to fall back on), against
 * the test bed's real servers (scram-sha-256 PostgreSQL, MariaDB) and the local Secrets Manager.
 * bootstrap creates the app user → RotateSecret drives the bundled @dbcreds/rotation handler
 * (single-user, then alternating users twice) → the server rejects the old password each time.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { CreateSecretCommand, GetSecretValueCommand, RotateSecretCommand } from '@aws-sdk/client-secrets-manager';
import {
  type Admin,
  createAdmin,
  ENGINES,
  randomPassword,
  serverFor,
  startTestSecretsManager,
  type TestSecretsManager,
  uniqueName,
} from '@dbcreds/testbed';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleLambda } from '../src/lambda-bundle.js';

const run = promisify(execFile);
const root = mkdtempSync(join(tmpdir(), 'dbcreds-lambda-'));
const RUNNER = join(root, 'invoke.mjs');
writeFileSync(
  RUNNER,
  'const { handler } = await import(process.argv[2]); await handler(JSON.parse(process.argv[3]));\n',
);
const bundles = { rotation: '', bootstrap: '' };

beforeAll(() => {
  bundles.rotation = join(bundleLambda('rotation', root), 'index.mjs');
  bundles.bootstrap = join(bundleLambda('bootstrap', root), 'index.mjs');
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** One Lambda invocation: a new process in the bundle's folder, environment as the stack sets it. */
async function invoke(bundle: string, event: unknown, env: Record<string, string>): Promise<void> {
  await run(process.execPath, [RUNNER, bundle, JSON.stringify(event)], {
    cwd: root,
    env: { PATH: process.env.PATH ?? '', ...env },
    timeout: 30_000,
  });
}

describe.each(ENGINES)('Lambda bundles on %s', (engine) => {
  const server = serverFor(engine);
  let admin: Admin;
  let tsm: TestSecretsManager;
  let cfn: Server;
  let cfnUrl: string;
  const responses: any[] = [];
  let env: Record<string, string>;
  const username = uniqueName('dep');
  let appArn: string;
  let masterArn: string;
  let database: string;

  const current = async (stage = 'AWSCURRENT') => {
    const out = await tsm.client.send(new GetSecretValueCommand({ SecretId: appArn, VersionStage: stage }));
    return JSON.parse(out.SecretString!) as { username: string; password: string };
  };

  beforeAll(async () => {
    admin = await createAdmin(engine);
    tsm = await startTestSecretsManager();
    database = await admin.createDatabase('dep');
    // Stand-in for CloudFormation's pre-signed response URL.
    cfn = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        responses.push(JSON.parse(body));
        res.end();
      });
    });
    await new Promise<void>((r) => cfn.listen(0, '127.0.0.1', r));
    cfnUrl = `http://127.0.0.1:${(cfn.address() as AddressInfo).port}/response`;
    env = {
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'AKIDLOCALTEST',
      AWS_SECRET_ACCESS_KEY: 'local-test-secret',
      AWS_ENDPOINT_URL_SECRETS_MANAGER: tsm.endpoint,
      SECRETS_MANAGER_ENDPOINT: tsm.endpoint,
      // The test servers have no TLS; on Aurora the stack sets PGSSLMODE=no-verify (PostgreSQL).
      PGSSLMODE: 'disable',
      DB_SSL: 'false',
    };
    const family = engine === 'postgres' ? 'aurora-postgresql' : 'aurora-mysql';
    const base = { engine: family, host: server.host, port: server.port, dbname: database };
    const master = await tsm.client.send(
      new CreateSecretCommand({
        Name: `${username}-master`,
        SecretString: JSON.stringify({ ...base, username: server.adminUser, password: server.adminPassword }),
      }),
    );
    masterArn = master.ARN!;
    const app = await tsm.client.send(
      new CreateSecretCommand({
        Name: `${username}-app`,
        SecretString: JSON.stringify({ ...base, username, password: randomPassword(), masterarn: masterArn }),
      }),
    );
    appArn = app.ARN!;
    for (const strategy of ['single-user', 'alternating-users'] as const) {
      tsm.sm.registerRotator(`arn:aws:lambda:us-east-1:000000000000:function:${strategy}`, (event) =>
        invoke(bundles.rotation, event, { ...env, ROTATION_STRATEGY: strategy }),
      );
    }
  });
  afterAll(async () => {
    for (const u of [username, `${username}_clone`]) await admin?.dropUser(u).catch(() => {});
    await admin?.close();
    await tsm?.close();
    await new Promise((r) => cfn?.close(r));
  });

  const bootstrap = async (appUsername = username) => {
    responses.length = 0;
    const event = {
      RequestType: 'Create',
      ResponseURL: cfnUrl,
      StackId: 'arn:aws:cloudformation:us-east-1:000000000000:stack/test/1',
      RequestId: 'r1',
      LogicalResourceId: 'Bootstrap',
      ResourceProperties: { MasterSecretArn: masterArn, AppSecretArn: appArn, AppUsername: appUsername },
    };
    await invoke(bundles.bootstrap, event, env);
    expect(responses).toHaveLength(1);
    return responses[0];
  };

  const rotate = async (strategy: 'single-user' | 'alternating-users') => {
    const before = await current();
    await tsm.client.send(
      new RotateSecretCommand({
        SecretId: appArn,
        RotationLambdaARN: `arn:aws:lambda:us-east-1:000000000000:function:${strategy}`,
        RotateImmediately: true,
      }),
    );
    expect(tsm.sm.lastRotationError(appArn)).toBeUndefined();
    const after = await current();
    expect(after.password).not.toBe(before.password);
    return { before, after };
  };

  it('bootstrap creates the app user with the secret’s password, the notes table and grants; idempotent', async () => {
    const app = await current();
    await admin.expectLoginRejected(app, { database }); // no such user yet
    const first = await bootstrap();
    expect(first).toMatchObject({ Status: 'SUCCESS', Reason: `user ${username}: created` });
    await admin.expectLoginAccepted(app, { database });
    const again = await bootstrap();
    expect(again).toMatchObject({ Status: 'SUCCESS', Reason: `user ${username}: exists` });
    expect(JSON.stringify(responses)).not.toContain(app.password);
  });

  it('bootstrap answers FAILED (never hangs the stack) when it cannot create the user', async () => {
    const failed = await bootstrap(`${username}_other`);
    expect(failed.Status).toBe('FAILED');
    expect(failed.Reason).toContain(`user ${username}_other is missing and the app secret is for another user`);
    expect(JSON.stringify(failed)).not.toContain((await current()).password);
  });

  it('the bundled rotation handler rotates single-user: the old password is refused', async () => {
    const { before, after } = await rotate('single-user');
    expect(after.username).toBe(username);
    await admin.expectLoginRejected(before, { database });
    await admin.expectLoginAccepted(after, { database });
  });

  it('alternating users: the clone gets the app user’s access to notes, the user rotated back is refused its old password', async () => {
    const first = await rotate('alternating-users');
    expect(first.after.username).toBe(`${username}_clone`);
    await admin.expectLoginAccepted(first.after, { database });
    await admin.expectLoginAccepted(first.before, { database }); // still valid for a whole interval
    const second = await rotate('alternating-users');
    expect(second.after.username).toBe(username);
    await admin.expectLoginRejected(first.before, { database }); // its password changed
    await admin.expectLoginAccepted(second.after, { database });
    // The clone reads and writes notes through the grants bootstrap gave the app user.
    const clone = first.after;
    const mod = engine === 'postgres' ? await import('pg') : null;
    if (mod) {
      const c = new mod.default.Client({ ...server, user: clone.username, password: clone.password, database });
      await c.connect();
      await c.query("INSERT INTO notes (author, body) VALUES ('clone', 'hi')");
      expect((await c.query('SELECT count(*)::int AS n FROM notes')).rows[0].n).toBe(1);
      await c.end();
    } else {
      const mysql = await import('mysql2/promise');
      const c = await mysql.createConnection({
        host: server.host,
        port: server.port,
        user: clone.username,
        password: clone.password,
        database,
      });
      await c.query("INSERT INTO notes (author, body) VALUES ('clone', 'hi')");
      const [rows] = await c.query('SELECT COUNT(*) AS n FROM notes');
      expect(Number((rows as any)[0].n)).toBe(1);
      await c.end();
    }
  });
});

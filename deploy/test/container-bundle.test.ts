/**
 * The bundle deploy/Dockerfile copies into the image (deploy/scripts/bundle.sh: `pnpm deploy --prod`
 * plus the compiled entry point), started the way the image starts it — `node dist/main.js` from its
 * own folder outside the repository, with only its production dependencies and the environment the
 * ECS task gets (secret id, region, PORT, HOST) — against the local stack (private scram-sha-256
 * PostgreSQL + local Secrets Manager). Base images cannot be pulled here, so this is the image minus
 * the Node base layer.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { serverFor } from '@dbcreds/testbed';
import { freePort, type LocalStack, startLocalStack } from 'dbcreds/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEPLOY_DIR } from '../src/lambda-bundle.js';

const run = promisify(execFile);
const root = mkdtempSync(join(tmpdir(), 'dbcreds-bundle-'));
const EXAMPLES = ['knex', 'typeorm'] as const;
// Both bundles at once (two `pnpm deploy --prod` runs into separate folders).
const built = Promise.all(
  EXAMPLES.map((example) =>
    run('bash', [join(DEPLOY_DIR, 'scripts', 'bundle.sh'), example, join(root, example)], { timeout: 120_000 }),
  ),
);
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe.each(EXAMPLES)('container bundle of the %s example', (example) => {
  const dir = join(root, example);
  let stack: LocalStack;
  let app: ChildProcess | undefined;
  let url: string;
  let port: number;
  let output = '';

  beforeAll(async () => {
    const [, s] = await Promise.all([
      built,
      startLocalStack({ server: serverFor('postgres'), name: `dbcdep_${example}` }),
    ]);
    stack = s;
    port = await freePort();
    // Only what the task definition sets (plus the local endpoint and dummy credentials): no repository paths.
    const env = {
      PATH: process.env.PATH ?? '',
      ...stack.env,
      PORT: String(port),
      HOST: '127.0.0.1',
      NODE_ENV: 'production',
    };
    const child = spawn(process.execPath, ['dist/main.js'], { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
    app = child;
    url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no start-up line in 30 s:\n${output}`)), 30_000);
      const onData = (chunk: Buffer) => {
        output += chunk.toString();
        const m = / notes service on (http:\/\/\S+)/.exec(output);
        if (m) {
          clearTimeout(timer);
          resolve(m[1]!);
        }
      };
      child.stdout.on('data', onData);
      child.stderr.on('data', onData);
      child.once('exit', (code) => reject(new Error(`exited with ${code}:\n${output}`)));
    });
  });
  afterAll(async () => {
    if (app && app.exitCode === null) {
      const exited = new Promise((r) => app!.once('exit', r));
      app.kill('SIGTERM');
      await exited;
    }
    await stack?.close();
  });

  it('holds production dependencies only and the compiled entry point', () => {
    const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
    expect(pkg.devDependencies).toBeUndefined();
    expect(pkg.scripts).toEqual({ start: 'node dist/main.js' });
    for (const dev of ['tsx', 'vitest', '@dbcreds/testbed', 'typescript']) {
      expect(existsSync(join(dir, 'node_modules', dev)), dev).toBe(false);
    }
    expect(existsSync(join(dir, 'node_modules', example))).toBe(true);
    expect(existsSync(join(dir, 'dist', 'main.js'))).toBe(true);
  });

  it('answers GET /health as the app user, and the container health check passes', async () => {
    const res = await fetch(`${url}/health`);
    const body = await res.json();
    expect(res.status, JSON.stringify(body)).toBe(200);
    expect(body).toMatchObject({ status: 'ok', library: example, dbUser: stack.usernames[0] });
    const check = await run(process.execPath, ['dist/healthcheck.js'], { cwd: dir, env: { PORT: String(port) } });
    expect(check.stderr).toBe('');
    expect(output).not.toContain((await stack.credentials('AWSCURRENT')).password);
  });

  it('keeps serving after a rotation and killed sessions (reads the secret at run time)', async () => {
    await stack.rotate('single-user');
    const old = await stack.credentials('AWSPREVIOUS');
    expect(await stack.admin.loginError(old, stack.database.dbname)).toBeTruthy();
    await stack.admin.killSessions([...stack.usernames]);
    const write = await fetch(`${url}/notes`, {
      method: 'POST',
      body: JSON.stringify({ author: 'ci', body: 'after' }),
    });
    expect(write.status).toBe(201);
    const res = await fetch(`${url}/health`);
    const body = (await res.json()) as { secret: { versionId: string } };
    expect(res.status, JSON.stringify(body)).toBe(200);
    expect(body.secret.versionId).toBe((await stack.credentials('AWSCURRENT')).versionId);
  });

  it('the health check fails when nothing answers', async () => {
    const other = await freePort();
    await expect(
      run(process.execPath, ['dist/healthcheck.js'], { cwd: dir, env: { PORT: String(other) } }),
    ).rejects.toMatchObject({
      code: 1,
    });
  });
});

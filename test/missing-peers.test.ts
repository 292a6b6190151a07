/**
 * Every adapter without its driver/ORM peer installed: a ConfigurationError naming the package to
 * install, never a raw MODULE_NOT_FOUND. Each case is an app tree holding the adapter's sources (its
 * `require.cts` as it compiles: the CommonJS module's own `require`) and no peer anywhere up the tree,
 * run by plain Node (tsx only strips types; @dbcreds/core maps to its sources through the tree's
 * tsconfig), so the peer resolves from the adapter's folder exactly as in an installed app. The same
 * tree with the peer linked into node_modules is the control.
 */
import { execFile } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

interface Case {
  pkg: string;
  /** The adapter's first call, given its module `m` (a module-load failure is caught the same way). */
  call: string;
  /** The peer the control links in (resolved from the adapter's own folder). */
  peer?: string;
  message: string;
  keys: string[];
  /** 'none': the adapter checks before loading (no loader error as cause); default MODULE_NOT_FOUND. */
  cause?: 'none';
}

/** A package's folder; `postgres` exports no `./package.json`, so it is cut from its main module's path. */
function packageDir(from: NodeJS.Require, name: string): string {
  try {
    return dirname(from.resolve(`${name}/package.json`));
  } catch {
    const main = from.resolve(name);
    return main.slice(0, main.lastIndexOf(`node_modules/${name}`) + `node_modules/${name}`.length);
  }
}

const install = (adapter: string, peer: string, why = '') =>
  `@dbcreds/${adapter} needs the package '${peer}'${why}: install it next to @dbcreds/${adapter} (npm install ${peer})`;

const CASES: Case[] = [
  {
    pkg: 'knex',
    call: "m.withRotatingCredentials({ client: 'pg', connection: { host: 'db' } }, src)",
    peer: 'knex',
    message: install('knex', 'knex'),
    keys: ['client'],
  },
  { pkg: 'pg', call: 'm.createPool(src)', peer: 'pg', message: install('pg', 'pg'), keys: [] },
  // postgres.js (issue #25; to move into the library catalog)
  {
    pkg: 'postgres-js',
    call: 'm.createSql(src).options',
    peer: 'postgres',
    message: install('postgres-js', 'postgres'),
    keys: [],
  },
  { pkg: 'mysql2', call: 'm.createPool(src)', peer: 'mysql2', message: install('mysql2', 'mysql2'), keys: [] },
  { pkg: 'mariadb', call: 'm.createPool(src)', peer: 'mariadb', message: install('mariadb', 'mariadb'), keys: [] },
  {
    pkg: 'typeorm',
    call: "m.withRotatingCredentials({ type: 'postgres', database: 'app' }, src)",
    message: install('typeorm', 'pg', ' for this database type'),
    keys: ['type'],
  },
  {
    pkg: 'typeorm',
    call: "m.withRotatingCredentials({ type: 'mysql', database: 'app' }, src)",
    message: install('typeorm', 'mysql2', ' for this database type'),
    keys: ['type'],
  },
  {
    pkg: 'prisma',
    call: 'm.withRotatingCredentials({}, src)',
    message:
      "Set the adapter option provider: 'postgres' or 'mysql' (neither @prisma/adapter-pg nor @prisma/adapter-mariadb is installed: install the one for your database), e.g. withRotatingCredentials({}, source, { provider: 'postgres' })",
    keys: ['provider'],
    cause: 'none',
  },
];

const trees: string[] = [];
afterAll(() => {
  for (const t of trees) rmSync(t, { recursive: true, force: true });
});

function appTree(c: Case, withPeer: boolean): string {
  const root = mkdtempSync(join(tmpdir(), `dbcreds-${c.pkg}-peer-`));
  trees.push(root);
  const src = join(root, 'lib', `dbcreds-${c.pkg}`, 'src');
  cpSync(join(ROOT, 'packages', c.pkg, 'src'), src, { recursive: true });
  writeFileSync(join(src, 'require.cjs'), 'module.exports = require;\n');
  const core = (p: string) => [join(ROOT, 'packages/core/src', p)];
  const paths = { '@dbcreds/core': core('index.ts'), '@dbcreds/core/adapter': core('adapter/index.ts') };
  writeFileSync(join(root, 'tsconfig.json'), JSON.stringify({ compilerOptions: { paths } }));
  writeFileSync(
    join(root, 'app.mts'),
    [
      "const src = { secretId: 'app', clientConfig: { region: 'us-east-1' } };",
      'try {',
      `  const m = await import('./lib/dbcreds-${c.pkg}/src/index.ts');`,
      `  const out = ${c.call};`,
      '  console.log(JSON.stringify({ ok: typeof out }));',
      '  out.end?.();',
      '} catch (e) {',
      '  console.log(JSON.stringify({ name: e.name, message: e.message, keys: e.keys, cause: e.cause?.code }));',
      '}',
    ].join('\n'),
  );
  if (withPeer && c.peer) {
    const from = createRequire(join(ROOT, 'packages', c.pkg, 'package.json'));
    mkdirSync(join(root, 'node_modules'));
    symlinkSync(packageDir(from, c.peer), join(root, 'node_modules', c.peer), 'dir');
  }
  return root;
}

async function runApp(c: Case, withPeer: boolean): Promise<unknown> {
  const root = appTree(c, withPeer);
  const tsx = createRequire(join(ROOT, 'package.json')).resolve('tsx');
  const { stdout } = await promisify(execFile)(process.execPath, ['--import', tsx, 'app.mts'], {
    cwd: root,
    // No NODE_PATH: `pnpm exec` points it at the workspace's hoisted packages (every peer among them).
    env: { ...process.env, NODE_OPTIONS: '', NODE_PATH: '' },
  });
  return JSON.parse(stdout.trim().split('\n').at(-1)!);
}

describe.concurrent('an adapter without its peer installed', () => {
  it.each(CASES.map((c) => [`${c.pkg}: ${c.call}`, c] as const))(
    '%s → ConfigurationError naming the peer',
    async (_, c) => {
      expect(await runApp(c, false)).toEqual({
        name: 'ConfigurationError',
        message: c.message,
        keys: c.keys,
        ...(c.cause === 'none' ? {} : { cause: 'MODULE_NOT_FOUND' }),
      });
    },
  );

  it.each(CASES.filter((c) => c.peer).map((c) => [c.pkg, c] as const))(
    'control: %s with the peer linked in works',
    async (_, c) => {
      expect(await runApp(c, true)).toEqual({ ok: 'object' });
    },
  );
});

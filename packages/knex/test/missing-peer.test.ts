import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/**
 * An app tree with @dbcreds/knex (this package's sources, and its `require.cts` as it compiles: the
 * CommonJS module's own `require`) but no knex anywhere up the tree, run by plain Node (tsx only
 * strips types; @dbcreds/core maps to its sources): Node resolves `knex` from the copy's folder
 * exactly as in an installed app. The same tree with knex linked into node_modules is the control.
 */
function appTree(withKnex: boolean): string {
  const root = mkdtempSync(join(tmpdir(), 'dbcreds-knex-peer-'));
  const src = join(root, 'lib', 'dbcreds-knex', 'src');
  mkdirSync(src, { recursive: true });
  for (const f of ['index.ts', 'dialect.ts']) copyFileSync(join(ROOT, 'packages/knex/src', f), join(src, f));
  writeFileSync(join(src, 'require.cjs'), 'module.exports = require;\n');
  const core = (p: string) => [join(ROOT, 'packages/core/src', p)];
  const paths = { '@dbcreds/core': core('index.ts'), '@dbcreds/core/adapter': core('adapter/index.ts') };
  writeFileSync(join(root, 'tsconfig.json'), JSON.stringify({ compilerOptions: { paths } }));
  writeFileSync(
    join(root, 'app.mts'),
    [
      "import { withRotatingCredentials } from './lib/dbcreds-knex/src/index.ts';",
      'try {',
      "  const config = withRotatingCredentials({ client: 'pg', connection: { host: 'db' } }, { secretId: 'app' });",
      '  console.log(JSON.stringify({ client: typeof config.client }));',
      '} catch (e) {',
      '  console.log(JSON.stringify({ name: e.name, message: e.message, keys: e.keys, cause: e.cause?.code }));',
      '}',
    ].join('\n'),
  );
  if (withKnex) {
    const knexDir = dirname(createRequire(import.meta.url).resolve('knex/package.json'));
    mkdirSync(join(root, 'node_modules'));
    symlinkSync(knexDir, join(root, 'node_modules', 'knex'), 'dir');
  }
  return root;
}

const trees: string[] = [];
afterAll(() => {
  for (const t of trees) rmSync(t, { recursive: true, force: true });
});

async function runApp(withKnex: boolean): Promise<unknown> {
  const root = appTree(withKnex);
  trees.push(root);
  const tsx = createRequire(join(ROOT, 'package.json')).resolve('tsx');
  const { stdout } = await promisify(execFile)(process.execPath, ['--import', tsx, 'app.mts'], {
    cwd: root,
    // No NODE_PATH: `pnpm exec` points it at the workspace's hoisted packages (knex among them).
    env: { ...process.env, NODE_OPTIONS: '', NODE_PATH: '', AWS_REGION: 'us-east-1' },
  });
  return JSON.parse(stdout.trim().split('\n').at(-1)!);
}

describe('@dbcreds/knex without knex installed', () => {
  it('withRotatingCredentials throws a ConfigurationError naming knex, the loader error as cause', async () => {
    expect(await runApp(false)).toEqual({
      name: 'ConfigurationError',
      message: "@dbcreds/knex needs the package 'knex': install it next to @dbcreds/knex (npm install knex)",
      keys: ['client'],
      cause: 'MODULE_NOT_FOUND',
    });
  });

  it('control: the same tree with knex in node_modules returns a knex config', async () => {
    expect(await runApp(true)).toEqual({ client: 'function' });
  });
});

import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig, type Plugin } from 'vitest/config';
import type { InlineConfig } from 'vitest/node';

const r = (p: string) => fileURLToPath(new URL(p, import.meta.url));
const pkgs = [
  'core',
  'pg',
  'mysql2',
  'mariadb',
  'knex',
  'typeorm',
  'mikro-orm',
  'prisma',
  'sequelize',
  'rotation',
  'local-secrets-manager',
  // postgres.js (issue #25)
  'postgres-js',
];

/**
 * The `unit` project: no database, no test bed (its globalSetup is not run, so a file here that asks for
 * the test bed fails). Everything else is `integration` (real PostgreSQL + MariaDB from the test bed).
 * `npm test` runs both; `pnpm exec vitest run --project unit` runs the unit tests alone in seconds.
 */
const UNIT = [
  'packages/core/test/**/*.test.ts',
  'packages/local-secrets-manager/test/**/*.test.ts',
  'packages/cli/test/args.test.ts',
  'packages/cli/test/exec-args.test.ts',
  'packages/rotation/test/unit.test.ts',
  // deploy: synth/nag and manifest checks; its Lambda and container-bundle tests need the test bed
  'deploy/test/stack.test.ts',
  'deploy/test/k8s.test.ts',
  // child processes against a closed port: no database
  'test/startup-exit.test.ts',
  // temp app trees without the adapters' peers, run by plain Node: no database
  'test/missing-peers.test.ts',
];
const UNIT_EXCLUDED = ['packages/core/test/integration.test.ts'];
const ALL = [
  'packages/*/test/**/*.test.ts',
  'test/**/*.test.ts',
  'examples/*/test/**/*.test.ts',
  'bench/**/*.test.ts',
  'deploy/test/**/*.test.ts',
];

/**
 * Adapters load optional peers with their own `require` (`src/require.cts`, imported as `./require.cjs`)
 * at the call that needs them. In tests that `require` serves the workspace packages loaded that way
 * (@dbcreds/pg, @dbcreds/mysql2, @dbcreds/mariadb) from their sources, like the aliases below; every other name resolves
 * from the importing package's folder, as in production.
 */
const PEER_REQUIRE = '\0dbcreds-peer-require:';
/**
 * `redirects`: module names a peer-version matrix leg serves from another folder, e.g. `knex` and `knex/...`
 * from the aliased knex 2.5 (an absolute path `require` loads as is), like its `resolve.alias` for imports.
 */
export const peerRequireFromSources = (redirects: Array<[RegExp, string]> = []): Plugin => ({
  name: 'dbcreds-peer-require',
  enforce: 'pre',
  resolveId(id, importer) {
    if (id.endsWith('/require.cjs') && importer?.startsWith(r('./packages/')))
      return `${PEER_REQUIRE}${dirname(importer)}/${id}`;
    return undefined;
  },
  load(id) {
    if (!id.startsWith(PEER_REQUIRE)) return undefined;
    return [
      "import { createRequire } from 'node:module';",
      "import * as pg from '@dbcreds/pg';",
      "import * as mysql2 from '@dbcreds/mysql2';",
      "import * as mariadb from '@dbcreds/mariadb';",
      `const native = createRequire(${JSON.stringify(id.slice(PEER_REQUIRE.length))});`,
      "const sources = { '@dbcreds/pg': pg, '@dbcreds/mysql2': mysql2, '@dbcreds/mariadb': mariadb };",
      `const redirects = [${redirects.map(([re, dir]) => `[${re}, ${JSON.stringify(dir)}]`).join(', ')}];`,
      'const redirect = (name) => redirects.reduce((n, [re, dir]) => n.replace(re, dir), name);',
      'const load = (name) => sources[name] ?? native(redirect(name));',
      'export default Object.assign(load, { resolve: (name, o) => native.resolve(redirect(name), o) });',
    ].join('\n');
  },
});

/** Test options shared by every project and by the peer-version matrix configs (packages/<name>/vitest.<leg>.config.ts). */
const common: InlineConfig = {
  pool: 'forks',
  maxWorkers: 2,
  testTimeout: 60_000,
  hookTimeout: 120_000,
  reporters: ['default'],
};
/** The test bed (PostgreSQL + MariaDB) for integration tests. */
export const testbedSetup = [r('./test/src/global-setup.ts')];
/** Base `test` options for a matrix config: one project, with the test bed. */
export const matrixTest: InlineConfig = { ...common, globalSetup: testbedSetup };

export default defineConfig({
  plugins: [peerRequireFromSources()],
  resolve: {
    // Tests run against the sources, never a stale dist/.
    alias: [
      ...pkgs.map((p) => ({ find: new RegExp(`^@dbcreds/${p}$`), replacement: r(`./packages/${p}/src/index.ts`) })),
      { find: /^@dbcreds\/core\/adapter$/, replacement: r('./packages/core/src/adapter/index.ts') },
      { find: /^@dbcreds\/core\/iam$/, replacement: r('./packages/core/src/iam.ts') },
      { find: /^@dbcreds\/knex\/dialect$/, replacement: r('./packages/knex/src/dialect.ts') },
      { find: /^@dbcreds\/testbed$/, replacement: r('./test/src/index.ts') },
      { find: /^dbcreds$/, replacement: r('./packages/cli/src/index.ts') },
      { find: /^dbcreds\/testing$/, replacement: r('./packages/cli/src/testing.ts') },
    ],
  },
  test: {
    ...common,
    projects: [
      { extends: true, test: { name: 'unit', include: UNIT, exclude: UNIT_EXCLUDED } },
      {
        extends: true,
        test: {
          name: 'integration',
          include: ALL,
          // The unit globs, except the files the unit project leaves out (they need the test bed): those run here.
          exclude: [
            ...UNIT.filter((g) => g !== 'packages/core/test/**/*.test.ts'),
            'packages/core/test/**/!(integration).test.ts',
            '**/node_modules/**',
          ],
          globalSetup: testbedSetup,
        },
      },
    ],
  },
});

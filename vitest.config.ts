import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig, type Plugin } from 'vitest/config';
import type { InlineConfig } from 'vitest/node';

const r = (p: string) => fileURLToPath(new URL(p, import.meta.url));
/**
 * The workspace packages (packages/<dir>/package.json name → its src/index.ts), read at config time so a
 * new package needs no edit here.
 */
const pkgs = readdirSync(r('./packages'))
  .filter((dir) => existsSync(r(`./packages/${dir}/package.json`)) && existsSync(r(`./packages/${dir}/src/index.ts`)))
  .map((dir) => ({ dir, name: JSON.parse(readFileSync(r(`./packages/${dir}/package.json`), 'utf8')).name as string }));

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
  // child processes reading through the local Secrets Manager's agent: no database
  'test/lazy-sdk.test.ts',
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
const CORE_REQUIRE = '\0dbcreds-core-require:';
/**
 * `redirects`: module names a peer-version matrix leg serves from another folder, e.g. `knex` and `knex/...`
 * from the aliased knex 2.5 (an absolute path `require` loads as is), like its `resolve.alias` for imports.
 */
export const peerRequireFromSources = (redirects: Array<[RegExp, string]> = []): Plugin => ({
  name: 'dbcreds-peer-require',
  enforce: 'pre',
  resolveId(id, importer) {
    // Core's lazy AWS SDK loader (packages/core/src/sdk-require.cts): Node's own require from core's folder.
    if (id === './sdk-require.cjs' && importer?.startsWith(r('./packages/core/src/')))
      return `${CORE_REQUIRE}${dirname(importer)}/x.cjs`;
    if (id.endsWith('/require.cjs') && importer?.startsWith(r('./packages/')))
      return `${PEER_REQUIRE}${dirname(importer)}/${id}`;
    return undefined;
  },
  load(id) {
    if (id.startsWith(CORE_REQUIRE)) {
      const at = JSON.stringify(id.slice(CORE_REQUIRE.length));
      return `import { createRequire } from 'node:module';\nexport default createRequire(${at});`;
    }
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

/** The peer-version matrix legs (their configs extend this one); `DBCREDS_MATRIX=0` leaves them out. */
const MATRIX = [
  'packages/knex/vitest.knex25.config.ts',
  'packages/mikro-orm/vitest.mikroorm6.config.ts',
  'test/matrix/query-builders/vitest.config.ts',
  'packages/sequelize/vitest.sequelize631.config.ts',
  'packages/typeorm/vitest.typeorm03.config.ts',
];

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
/**
 * Base `test` options for a matrix config: one project, with the test bed. The conformance suite runs the
 * scenarios that depend on the library's connection hook, its pool and its error shapes; the others (8: Secrets
 * Manager down, 10: back-to-back rotations, 11-14: secret shapes) exercise only the core, behave the same under
 * every version of a library, and run in the integration project. A leg adds its own `env` to this one.
 */
export const matrixTest = {
  ...common,
  globalSetup: testbedSetup,
  env: { DBCREDS_CONFORMANCE_SCENARIOS: '1,2,3,4,5,6,7,9,15' },
} satisfies InlineConfig;

export default defineConfig({
  plugins: [peerRequireFromSources()],
  resolve: {
    // Tests run against the sources, never a stale dist/.
    alias: [
      ...pkgs.map((p) => ({ find: new RegExp(`^${p.name}$`), replacement: r(`./packages/${p.dir}/src/index.ts`) })),
      { find: /^@dbcreds\/core\/adapter$/, replacement: r('./packages/core/src/adapter/index.ts') },
      { find: /^@dbcreds\/core\/iam$/, replacement: r('./packages/core/src/iam.ts') },
      { find: /^@dbcreds\/knex\/dialect$/, replacement: r('./packages/knex/src/dialect.ts') },
      { find: /^@dbcreds\/testbed$/, replacement: r('./test/src/index.ts') },
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
      // The peer-version matrix: the same adapter tests against the oldest versions we claim, each leg a project
      // of its own (its own aliases and test bed) in the same run, so the two workers stay busy across legs.
      ...(process.env.DBCREDS_MATRIX === '0' ? [] : MATRIX),
    ],
  },
});

import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const r = (p: string) => fileURLToPath(new URL(p, import.meta.url));
const pkgs = ['core', 'pg', 'mysql2', 'knex', 'typeorm', 'mikro-orm', 'prisma', 'rotation', 'local-secrets-manager'];

export default defineConfig({
  resolve: {
    // Tests run against the sources, never a stale dist/.
    alias: [
      ...pkgs.map((p) => ({ find: new RegExp(`^@dbcreds/${p}$`), replacement: r(`./packages/${p}/src/index.ts`) })),
      { find: /^@dbcreds\/knex\/dialect$/, replacement: r('./packages/knex/src/dialect.ts') },
      { find: /^@dbcreds\/testbed$/, replacement: r('./test/src/index.ts') },
      { find: /^dbcreds$/, replacement: r('./packages/cli/src/index.ts') },
    ],
  },
  test: {
    include: [
      'packages/*/test/**/*.test.ts',
      'test/**/*.test.ts',
      'examples/*/test/**/*.test.ts',
      'bench/**/*.test.ts',
      'deploy/test/**/*.test.ts',
    ],
    globalSetup: [r('./test/src/global-setup.ts')],
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 120_000,
    reporters: ['default'],
  },
});

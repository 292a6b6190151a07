// The MikroORM 6 leg of the support matrix (knex inside): the same tests, with `@mikro-orm/core`,
// `@mikro-orm/postgresql` and `@mikro-orm/mysql` resolved to the 6.x copies installed through the
// private `@dbcreds/matrix-mikro-orm-6` devDependency (test/matrix/mikro-orm-6), where the drivers'
// `@mikro-orm/core` peer resolves to core 6. Run from the repo root:
//   pnpm exec vitest run --config packages/mikro-orm/vitest.mikroorm6.config.ts
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';
import root, { matrixTest } from '../../vitest.config.js';

const matrix = realpathSync(fileURLToPath(new URL('./node_modules/@dbcreds/matrix-mikro-orm-6', import.meta.url)));
const v6 = (name: string): string => realpathSync(`${matrix}/../../@mikro-orm/${name}`);
const rootAliases = (root.resolve?.alias ?? []) as Array<{ find: RegExp; replacement: string }>;

export default defineConfig({
  ...root,
  root: fileURLToPath(new URL('../..', import.meta.url)),
  resolve: {
    ...root.resolve,
    alias: [
      ...rootAliases,
      ...['core', 'postgresql', 'mysql'].map((p) => ({ find: new RegExp(`^@mikro-orm/${p}$`), replacement: v6(p) })),
    ],
  },
  test: {
    ...matrixTest,
    name: 'mikro-orm-6',
    include: ['packages/mikro-orm/test/**/*.test.ts'],
    env: { ...matrixTest.env, DBCREDS_EXPECT_MIKRO_ORM: '6' },
  },
});

import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';
import root, { matrixTest } from '../../vitest.config.js';

// The oldest Sequelize 6 we claim: the same tests with `sequelize` resolved to the aliased
// devDependency `sequelize-6.31` (npm:sequelize@6.31.1). Run from the repository root:
//   pnpm exec vitest run --config packages/sequelize/vitest.sequelize631.config.ts
const oldest = fileURLToPath(new URL('./node_modules/sequelize-6.31', import.meta.url));
const rootAliases = (root.resolve?.alias ?? []) as Array<{ find: RegExp; replacement: string }>;

export default defineConfig({
  ...root,
  root: fileURLToPath(new URL('../..', import.meta.url)),
  resolve: { ...root.resolve, alias: [...rootAliases, { find: /^sequelize$/, replacement: oldest }] },
  test: {
    ...matrixTest,
    name: 'sequelize-6.31',
    include: ['packages/sequelize/test/**/*.test.ts'],
    env: { ...matrixTest.env, DBCREDS_EXPECT_SEQUELIZE: '6.31' },
  },
});

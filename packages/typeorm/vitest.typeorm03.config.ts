import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { defineConfig, mergeConfig } from 'vitest/config';
import root, { matrixTest } from '../../vitest.config.js';

// The same tests against the oldest supported TypeORM line: `typeorm` resolves to the aliased
// devDependency `typeorm-0.3` (npm:typeorm@0.3.20). Run from the repository root:
//   pnpm exec vitest run --config packages/typeorm/vitest.typeorm03.config.ts packages/typeorm
const require = createRequire(import.meta.url);

export default mergeConfig(
  { resolve: root.resolve, plugins: root.plugins },
  defineConfig({
    root: fileURLToPath(new URL('../..', import.meta.url)),
    resolve: { alias: [{ find: /^typeorm$/, replacement: require.resolve('typeorm-0.3') }] },
    test: {
      ...matrixTest,
      name: 'typeorm-0.3',
      include: ['packages/typeorm/test/**/*.test.ts'],
      env: { ...matrixTest.env, DBCREDS_EXPECT_TYPEORM: '0.3' },
    },
  }),
);

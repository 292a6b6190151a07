import { createRequire } from 'node:module';
import { defineConfig, mergeConfig } from 'vitest/config';
import root, { matrixTest } from '../../vitest.config.js';

// The same tests against the oldest supported TypeORM line: `typeorm` resolves to the aliased
// devDependency `typeorm-0.3` (npm:typeorm@0.3.20). Run from the repository root:
//   pnpm exec vitest run --config packages/typeorm/vitest.typeorm03.config.ts packages/typeorm
const require = createRequire(import.meta.url);

export default mergeConfig(
  { resolve: root.resolve, plugins: root.plugins },
  defineConfig({
    resolve: { alias: [{ find: /^typeorm$/, replacement: require.resolve('typeorm-0.3') }] },
    test: { ...matrixTest, include: ['packages/typeorm/test/**/*.test.ts'], env: { DBCREDS_EXPECT_TYPEORM: '0.3' } },
  }),
);

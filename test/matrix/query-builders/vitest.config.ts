// The oldest drizzle-orm and kysely we claim (packages/pg and packages/mysql2 READMEs): the same
// Drizzle and Kysely conformance tests, with `drizzle-orm` and `kysely` (and their subpaths)
// resolved to the copies of the private @dbcreds/matrix-query-builders package (this folder).
// Run from the repository root: pnpm exec vitest run --config test/matrix/query-builders/vitest.config.ts
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';
import root, { matrixTest } from '../../../vitest.config.js';

const matrix = realpathSync(
  fileURLToPath(new URL('../../node_modules/@dbcreds/matrix-query-builders', import.meta.url)),
);
const oldest = (name: string): string => realpathSync(`${matrix}/../../${name}`);
const rootAliases = (root.resolve?.alias ?? []) as Array<{ find: RegExp; replacement: string }>;

export default defineConfig({
  ...root,
  root: fileURLToPath(new URL('../../..', import.meta.url)),
  resolve: {
    ...root.resolve,
    alias: [
      ...rootAliases,
      ...['drizzle-orm', 'kysely'].map((p) => ({ find: new RegExp(`^${p}(?=$|/)`), replacement: oldest(p) })),
    ],
  },
  test: {
    ...matrixTest,
    name: 'drizzle-orm 0.30, kysely 0.27',
    include: ['packages/{pg,mysql2}/test/{drizzle,kysely}.test.ts'],
    env: { ...matrixTest.env, DBCREDS_EXPECT_DRIZZLE: '0.30', DBCREDS_EXPECT_KYSELY: '0.27' },
  },
});

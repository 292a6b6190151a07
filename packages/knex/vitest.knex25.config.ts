// The knex 2.5 leg of the support matrix: the same tests, with every `knex` and `knex/...` import
// (the adapter's dialect deep imports included) resolved to the aliased knex@2.5.1 devDependency.
// Run from the repo root: pnpm exec vitest run --config packages/knex/vitest.knex25.config.ts
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';
import root, { matrixTest, peerRequireFromSources } from '../../vitest.config.js';

const knex25 = fileURLToPath(new URL('./node_modules/knex-2.5', import.meta.url));
const rootAliases = (root.resolve?.alias ?? []) as Array<{ find: RegExp; replacement: string }>;

export default defineConfig({
  ...root,
  // The adapter loads knex's dialects with its own require (a missing knex is a ConfigurationError): the same redirect.
  plugins: [peerRequireFromSources([[/^knex(?=$|\/)/, knex25]])],
  root: fileURLToPath(new URL('../..', import.meta.url)),
  resolve: { ...root.resolve, alias: [...rootAliases, { find: /^knex(?=$|\/)/, replacement: knex25 }] },
  test: { ...matrixTest, name: 'knex-2.5', include: ['packages/knex/test/**/*.test.ts'] },
});

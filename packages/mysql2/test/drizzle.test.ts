// Drizzle's mysql2 driver over a @dbcreds/mysql2 pool: the conformance suite through Drizzle's own API (the catalog's client).
import { fromCatalog, runConformanceSuite } from '@dbcreds/testbed';
import { npmVersion } from 'drizzle-orm/version';
import { drizzle } from 'dbcreds/testing';
import { expect, it } from 'vitest';

// The version matrix (test/matrix/query-builders) runs this file against the oldest drizzle-orm claimed.
it('runs against the expected drizzle-orm line', () => {
  expect(npmVersion.split('.').slice(0, 2).join('.')).toBe(process.env.DBCREDS_EXPECT_DRIZZLE ?? '0.45');
});

runConformanceSuite({
  name: 'drizzle-orm mysql2 over @dbcreds/mysql2',
  engines: ['mysql'],
  create: fromCatalog(drizzle),
});

import { fromCatalog, runConformanceSuite } from '@dbcreds/testbed';
import { knex } from 'dbcreds/testing';

// Both backends: the SDK client, and the Secrets Manager Agent in front of the local Secrets Manager.
// The catalog's knex client: raw SQL for plain queries, the query builder inside transactions.
for (const backend of ['sdk', 'agent'] as const) {
  runConformanceSuite({ name: '@dbcreds/knex', backend, create: fromCatalog(knex, { pool: { reapIntervalMs: 50 } }) });
}

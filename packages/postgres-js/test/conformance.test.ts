import { fromCatalog, runConformanceSuite } from '@dbcreds/testbed';
import { postgresJs } from 'dbcreds/testing';

// Both backends: the SDK client, and the Secrets Manager Agent in front of the local Secrets Manager.
for (const backend of ['sdk', 'agent'] as const) {
  runConformanceSuite({
    name: '@dbcreds/postgres-js',
    backend,
    engines: ['postgres'],
    create: fromCatalog(postgresJs),
  });
}

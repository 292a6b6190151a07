import { fromCatalog, runConformanceSuite } from '@dbcreds/testbed';
import { mysql2 } from 'dbcreds/testing';

// Both backends: the SDK client, and the Secrets Manager Agent in front of the local Secrets Manager.
for (const backend of ['sdk', 'agent'] as const) {
  runConformanceSuite({ name: '@dbcreds/mysql2', backend, engines: ['mysql'], create: fromCatalog(mysql2) });
}

import { fromCatalog, runConformanceSuite } from '@dbcreds/testbed';
import { sequelize } from 'dbcreds/testing';

// sequelize-pool starts another create for the remaining waiters after each failed one (see the option).
runConformanceSuite({
  name: '@dbcreds/sequelize (postgres, mysql dialects)',
  createsPerFailedQuery: 2,
  create: fromCatalog(sequelize, { pool: { reapIntervalMs: 50 } }),
});

runConformanceSuite({
  name: '@dbcreds/sequelize (mariadb dialect)',
  engines: ['mysql'],
  createsPerFailedQuery: 2,
  create: fromCatalog(sequelize, { pool: { reapIntervalMs: 50 }, mariadbDriver: true }),
});

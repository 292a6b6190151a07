import { runExample } from 'dbcreds/testing';
import { createNotesStore, type PgDriver } from './notes.js';

// DBCREDS_DRIZZLE_DRIVER=postgres-js runs the PostgreSQL side on postgres.js instead of node-postgres.
const driver = (process.env.DBCREDS_DRIZZLE_DRIVER ?? 'node-postgres') as PgDriver;
await runExample({
  library: 'drizzle',
  createStore: async (source, engine) => createNotesStore(source, engine, driver),
});

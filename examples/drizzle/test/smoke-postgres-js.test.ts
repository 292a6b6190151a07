import { describeExampleSmoke } from '@dbcreds/testbed';
import { createNotesStore } from '../src/notes.js';

// The same service with Drizzle on postgres.js (drizzle-orm/postgres-js over @dbcreds/postgres-js).
describeExampleSmoke({
  library: 'drizzle-postgres-js',
  engines: ['postgres'],
  createStore: (source, engine) => createNotesStore(source, engine, 'postgres-js'),
});

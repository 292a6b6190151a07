import { runExample } from 'dbcreds/testing';
import { createNotesStore } from './notes.js';

await runExample({
  library: 'postgres-js',
  engines: ['postgres'],
  createStore: async (source) => createNotesStore(source),
});

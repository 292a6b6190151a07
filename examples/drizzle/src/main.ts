import { runExample } from 'dbcreds/testing';
import { createNotesStore } from './notes.js';

await runExample({ library: 'drizzle', createStore: async (source, engine) => createNotesStore(source, engine) });

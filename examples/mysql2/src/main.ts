import { runExample } from 'dbcreds/testing';
import { createNotesStore } from './notes.js';

await runExample({ library: 'mysql2', createStore: async (source) => createNotesStore(source) });

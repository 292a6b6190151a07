import { runExample } from 'dbcreds/testing';
import { createNotesStore } from './notes.js';

await runExample({ library: 'pg', createStore: async (source) => createNotesStore(source) });

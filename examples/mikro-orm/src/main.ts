import { runExample } from 'dbcreds/testing';
import { createNotesStore } from './notes.js';

await runExample({ library: 'mikro-orm', createStore: createNotesStore });

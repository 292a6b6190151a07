import { runExample } from 'dbcreds/testing';
import { createNotesStore } from './notes.js';

await runExample({ library: 'typeorm', createStore: createNotesStore });

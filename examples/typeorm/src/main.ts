import { runExample } from 'dbcreds';
import { createNotesStore } from './notes.js';

await runExample({ library: 'typeorm', createStore: createNotesStore });

import { runExample } from 'dbcreds';
import { createNotesStore } from './notes.js';

await runExample({ library: 'mikro-orm', createStore: createNotesStore });

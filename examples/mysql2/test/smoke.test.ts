import { describeExampleSmoke } from '@dbcreds/testbed';
import { createNotesStore } from '../src/notes.js';

describeExampleSmoke({ library: 'mysql2', createStore: createNotesStore });

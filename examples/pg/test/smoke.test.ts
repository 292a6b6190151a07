import { describeExampleSmoke } from '@dbcreds/testbed';
import { createNotesStore } from '../src/notes.js';

describeExampleSmoke({ library: 'pg', createStore: createNotesStore });

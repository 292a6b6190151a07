import { describeExampleSmoke } from '@dbcreds/testbed';
import { createNotesStore } from '../src/notes.js';

describeExampleSmoke({ library: 'postgres-js', engines: ['postgres'], createStore: createNotesStore });

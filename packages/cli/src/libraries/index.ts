export { LIBRARIES, LIBRARY_NAMES, libraryByName, peersOf } from './catalog.js';
export * from './entries.js';
export type {
  LibraryClient,
  LibraryClientOptions,
  LibraryEngine,
  LibraryEntry,
  LibraryPeers,
  LibraryPool,
  LibraryWorkload,
  NoteInput,
} from './types.js';

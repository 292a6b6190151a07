import * as entries from './entries.js';
import type { LibraryEngine, LibraryEntry } from './types.js';

/** Every library of the catalog, by name (the order of `dbcreds demo --help`). */
export const LIBRARIES: readonly LibraryEntry[] = Object.values(entries).sort((a, b) => a.name.localeCompare(b.name));

/** The catalog's names (`dbcreds demo --orm` choices). */
export const LIBRARY_NAMES: readonly string[] = LIBRARIES.map((l) => l.name);

/** The entry named `name`; throws a TypeError naming the known ones for an unknown name. */
export function libraryByName(name: string): LibraryEntry {
  const found = LIBRARIES.find((l) => l.name === name);
  if (!found) throw new TypeError(`unknown library '${name}' (known: ${LIBRARY_NAMES.join(', ')})`);
  return found;
}

/** The packages the library needs on `engines` besides the CLI's own dependencies, in install order. */
export function peersOf(entry: LibraryEntry, engines: readonly LibraryEngine[]): string[] {
  return [...(entry.peers.any ?? []), ...engines.flatMap((e) => entry.peers[e] ?? [])];
}

/**
 * The rotation-window reads after a refused login: AWSCURRENT, then AWSPENDING. Single-user rotation
 * sets the new password on the server (setSecret) before AWSCURRENT moves (finishSecret), so while
 * AWSCURRENT still is the rejected version the new password is in AWSPENDING.
 */
import type { Credentials } from './credentials.js';
import type { DbCredentials, VersionStage } from './types.js';

/** How a backend reads one stage for this lookup, and which versions it may offer. */
export interface StageReader {
  /** `optional`: a missing stage is `undefined` instead of an error. */
  read(stage: VersionStage, optional: boolean): Promise<Credentials | undefined>;
  /** Whether `c` may replace the rejected credentials. */
  usable(c: Credentials, rejected: DbCredentials): boolean;
}

/** What a lookup found: a replacement (`found`), else the AWSCURRENT it read. */
export interface Lookup {
  found?: Credentials;
  current: Credentials;
  /** AWSPENDING was read and absent (or not read: known absent). */
  pendingAbsent: boolean;
  /** The backend's AWSCURRENT is neither the rejected version nor newer (a cache behind): keep what is cached. */
  behind?: boolean;
}

/**
 * `pending`: 'after' reads AWSPENDING when AWSCURRENT has nothing usable; 'skip' when it is known
 * absent; 'first' reads it before AWSCURRENT. `recheck` (with 'after'): an absent AWSPENDING is
 * followed by one more AWSCURRENT read, since finishSecret may have moved the label between the two.
 */
export async function lookForReplacement(
  reader: StageReader,
  rejected: DbCredentials,
  pending: 'after' | 'skip' | 'first',
  recheck = true,
): Promise<Lookup> {
  if (pending === 'first') {
    const p = await tryPending(reader, rejected);
    if (p.found) return { found: p.found, current: p.found, pendingAbsent: false };
    return { ...(await tryCurrent(reader, rejected)), pendingAbsent: p.absent };
  }
  const c = await tryCurrent(reader, rejected);
  if (c.found || pending === 'skip') return { ...c, pendingAbsent: pending === 'skip' };
  const p = await tryPending(reader, rejected);
  if (!p.absent) return { ...c, ...(p.found ? { found: p.found } : {}), pendingAbsent: false };
  if (!recheck) return { ...c, pendingAbsent: true };
  return { ...(await tryCurrent(reader, rejected)), pendingAbsent: true };
}

async function tryCurrent(reader: StageReader, rejected: DbCredentials): Promise<Omit<Lookup, 'pendingAbsent'>> {
  const current = (await reader.read('AWSCURRENT', false))!;
  return reader.usable(current, rejected) ? { found: current, current } : { current };
}

async function tryPending(
  reader: StageReader,
  rejected: DbCredentials,
): Promise<{ found?: Credentials; absent: boolean }> {
  const pending = await reader.read('AWSPENDING', true);
  if (pending === undefined) return { absent: true };
  return reader.usable(pending, rejected) ? { found: pending, absent: false } : { absent: false };
}

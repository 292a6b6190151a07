/**
 * A secret mounted as files (the Secrets Store CSI driver's ASCP, a Kubernetes Secret volume). Reads are
 * local: a refused login re-reads the file (and the AWSPENDING file, if mounted), and core's wait polls
 * it until the mount catches up with the rotation. When the files change, a watcher has the source reload
 * them in the background; a version that does not parse is reported (the source's `error` event) and
 * never replaces the credentials that work. The mount lags the rotation, so it may still hold a version
 * the source already moved away from (to the mounted AWSPENDING): that one is never taken back.
 */
import { dirname } from 'node:path';
import type { Credentials } from '../credentials.js';
import { DbCredsError, SecretFetchError, SecretNotFoundError } from '../errors.js';
import type { ExpiryPolicy } from '../entry.js';
import { type Lookup, lookForReplacement, type StageReader } from '../fallback.js';
import { sleep } from '../fetch.js';
import type { DbCredentials, SecretKeys, VersionStage } from '../types.js';
import type { FileLayout, ResolvedFileOptions } from './file-options.js';
import { FileEscapeError, fingerprint, isMissing, readVersion } from './file-read.js';
import { FileWatcher } from './file-watch.js';
import { SupersededVersions } from './superseded.js';
import type { BackendContext, SourceBackend } from './types.js';

export class FileBackend implements SourceBackend {
  readonly from: string;
  readonly label: string;
  readonly expiry: ExpiryPolicy;
  readonly #ctx: BackendContext;
  readonly #o: ResolvedFileOptions;
  readonly #keys: SecretKeys | undefined;
  readonly #watcher: FileWatcher;
  /** The fingerprint of every mounted version (the watcher's baseline before the first read). */
  readonly #print: () => Promise<string>;
  #watching = false;
  /** The mount lags the rotation: it may still hold a version this source already moved away from. */
  readonly #superseded = new SupersededVersions();
  readonly #reader: StageReader = {
    read: (stage, optional) => this.#readStage(stage, optional),
    usable: (c, rejected) => c.versionId !== rejected.versionId && !this.#superseded.has(c.versionId),
  };

  constructor(ctx: BackendContext, o: ResolvedFileOptions, expiry: ExpiryPolicy, secretKeys?: SecretKeys) {
    this.#ctx = ctx;
    this.#o = o;
    this.#keys = secretKeys;
    this.expiry = expiry;
    this.from = `the mounted ${o.current.kind === 'path' ? 'file' : 'directory'} '${o.current.location}'`;
    this.label = `CredentialSource(file ${o.current.location})`;
    const layouts = [o.current, ...(o.pending ? [o.pending] : [])];
    const dirs = [...new Set(layouts.map(watchedDir))];
    const print = async () => (await Promise.all(layouts.map(fingerprint))).join('\n--\n');
    this.#watcher = new FileWatcher({ dirs, pollMs: o.pollMs, watch: o.watch }, print, () => ctx.changed());
    this.#print = print;
  }

  async read(stage: VersionStage): Promise<Credentials> {
    return (await this.#readStage(stage, false))!;
  }

  async replacementFor(rejected: DbCredentials, round: 'first' | 'poll'): Promise<Lookup> {
    // A poll round comes again shortly: no second read of the file after an absent pending one.
    const l = await lookForReplacement(this.#reader, rejected, 'after', round === 'first');
    // Nothing new, and the file holds an older version than the rejected one: keep what is cached.
    return l.found || l.current.versionId === rejected.versionId ? l : { ...l, behind: true };
  }

  accepts(read: Credentials, cached: Credentials): boolean {
    return read.versionId === cached.versionId || !this.#superseded.has(read.versionId);
  }

  moved(previous: Credentials, next: Credentials): void {
    this.#superseded.moved(previous, next);
  }

  close(): void {
    this.#watcher.close();
  }

  async #readStage(stage: VersionStage, optional: boolean): Promise<Credentials | undefined> {
    const layout = stage === 'AWSCURRENT' ? this.#o.current : this.#o.pending;
    if (layout === undefined) {
      if (optional) return undefined;
      throw new SecretNotFoundError(this.#o.label, stage);
    }
    if (!this.#watching) await this.#startWatching();
    try {
      return await this.#readWithRetries(layout, stage, optional);
    } catch (err) {
      // A pending version that is absent or unreadable is no fallback; one outside the mount is an error.
      if (optional && !(err instanceof SecretFetchError && err.cause instanceof FileEscapeError)) return undefined;
      throw err;
    }
  }

  /** Before the first read: what is read next is the baseline the watcher compares with. */
  async #startWatching(): Promise<void> {
    this.#watching = true;
    this.#watcher.start(await this.#print());
  }

  /**
   * One read, again after a short delay when the file is missing (a swap in progress, a rename-write)
   * or does not parse (a writer mid-write), per `retry`. Outside the mount: never retried.
   */
  async #readWithRetries(layout: FileLayout, stage: VersionStage, optional: boolean): Promise<Credentials | undefined> {
    const { maxAttempts, baseDelayMs, maxDelayMs } = this.#ctx.fetch.retry;
    for (let attempt = 1; ; attempt++) {
      this.#ctx.fetch.onAttempt();
      try {
        return await readVersion(layout, stage, this.#o.label, this.#keys);
      } catch (err) {
        if (this.#ctx.closed.aborted) throw this.#ctx.closed.reason;
        // No pending file is the usual state (no rotation running): absent at once, not retried.
        if (optional && isMissing(err)) return undefined;
        const last = attempt >= maxAttempts || err instanceof FileEscapeError;
        if (last) throw this.#typed(err, attempt, layout);
        await sleep(Math.min(maxDelayMs, baseDelayMs * 2 ** (attempt - 1)), this.#ctx.closed);
      }
    }
  }

  #typed(err: unknown, attempts: number, layout: FileLayout): DbCredsError {
    if (err instanceof DbCredsError) return err;
    const what = layout.kind === 'path' ? 'file' : 'directory';
    const message = isMissing(err)
      ? `Mounted secret '${this.#o.label}': the ${what} '${layout.location}' does not exist (is the volume mounted?)`
      : undefined;
    return new SecretFetchError(this.#o.label, {
      cause: err,
      attempts,
      from: `the mounted ${what} '${layout.location}'`,
      ...(message === undefined ? {} : { message }),
    });
  }
}

/** The directory whose entries change when the version does (where `..data` or the file's name lives). */
function watchedDir(l: FileLayout): string {
  return l.kind === 'dir' ? l.location : dirname(l.location);
}

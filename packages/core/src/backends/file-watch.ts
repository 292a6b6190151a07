/**
 * Noticing that a mounted secret changed: `fs.watch` on the directories (the kubelet renames `..data_tmp`
 * over `..data` there; editors rename a temp file over the target) plus a periodic fingerprint check,
 * because inotify misses changes behind symlinks, on some volume types, and when a watched directory
 * is replaced. Only announces a change; reading and validating it is the backend's.
 */
import { type FSWatcher, watch } from 'node:fs';

export interface FileWatchOptions {
  dirs: readonly string[];
  pollMs: number;
  watch: boolean;
}

/** fs.watch events come in bursts (one kubelet write is several renames): one check after this delay. */
const SETTLE_MS = 20;

export class FileWatcher {
  readonly #o: FileWatchOptions;
  readonly #fingerprint: () => Promise<string>;
  readonly #onChange: () => void;
  readonly #watchers = new Map<string, FSWatcher>();
  #last: string | undefined;
  #timer: NodeJS.Timeout | undefined;
  #settle: NodeJS.Timeout | undefined;
  #checking: Promise<void> | undefined;
  #again = false;
  #closed = false;

  constructor(o: FileWatchOptions, fingerprint: () => Promise<string>, onChange: () => void) {
    this.#o = o;
    this.#fingerprint = fingerprint;
    this.#onChange = onChange;
  }

  /** Starts watching; `last` is the fingerprint of what was just read (a change from it is announced). */
  start(last: string | undefined): void {
    if (this.#closed || this.#timer !== undefined || this.#watchers.size > 0) return;
    this.#last = last;
    this.#watchDirs();
    if (this.#o.pollMs > 0) {
      this.#timer = setInterval(() => {
        this.#watchDirs(); // re-arm a watcher that died with its directory
        void this.check();
      }, this.#o.pollMs);
      this.#timer.unref();
    }
  }

  /** Compares the fingerprint with the last one; announces a difference. One check at a time. */
  check(): Promise<void> {
    if (this.#checking) {
      this.#again = true;
      return this.#checking;
    }
    this.#checking = (async () => {
      do {
        this.#again = false;
        const now = await this.#fingerprint();
        if (this.#closed) return;
        if (now !== this.#last) {
          this.#last = now;
          this.#onChange();
        }
      } while (this.#again && !this.#closed);
    })().finally(() => {
      this.#checking = undefined;
    });
    return this.#checking;
  }

  close(): void {
    this.#closed = true;
    clearInterval(this.#timer);
    clearTimeout(this.#settle);
    for (const w of this.#watchers.values()) w.close();
    this.#watchers.clear();
  }

  #watchDirs(): void {
    if (!this.#o.watch || this.#closed) return;
    for (const dir of this.#o.dirs) {
      if (this.#watchers.has(dir)) continue;
      try {
        const w = watch(dir, { persistent: false }, () => this.#soon());
        w.on('error', () => {
          // The directory went away (or the watch broke): the poll re-arms it and keeps checking.
          w.close();
          this.#watchers.delete(dir);
          this.#soon();
        });
        this.#watchers.set(dir, w);
      } catch {
        // Not there yet, or not watchable: the poll covers it.
      }
    }
  }

  #soon(): void {
    if (this.#closed || this.#settle !== undefined) return;
    this.#settle = setTimeout(() => {
      this.#settle = undefined;
      void this.check();
    }, SETTLE_MS);
    this.#settle.unref();
  }
}

/**
 * The kubelet's AtomicWriter (kubernetes pkg/volume/util/atomic_writer.go), which Secret volumes and the
 * Secrets Store CSI driver use to update a mounted volume: the files live in a hidden timestamped
 * directory, user-visible names are symlinks `name -> ..data/name`, and `..data` is a symlink to the
 * timestamped directory. An update writes a new timestamped directory, points a `..data_tmp` symlink at
 * it, renames that over `..data` (the one atomic step), then removes the old directory.
 */
import {
  chmod,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  readlink,
  rename,
  rm,
  symlink,
  unlink,
  writeFile,
} from 'node:fs/promises';
import { join } from 'node:path';

const DATA = '..data';
const DATA_TMP = '..data_tmp';

/** `..2026_12_07_23_01_02.` as Go formats `..2006_01_02_15_04_05.` (mkdtemp adds the random suffix). */
function tsPrefix(d = new Date()): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `..${d.getUTCFullYear()}_${p(d.getUTCMonth() + 1)}_${p(d.getUTCDate())}_${p(d.getUTCHours())}_${p(d.getUTCMinutes())}_${p(d.getUTCSeconds())}.`;
}

export interface KubeletWriterOptions {
  /** Pause between the steps, in ms (default 0): widens the windows a reader may hit. */
  stepDelayMs?: number;
}

/** Writes payloads into `dir` exactly as the kubelet does. Not concurrent (the kubelet serialises too). */
export class KubeletWriter {
  /** Payloads written (an unchanged payload is skipped, as the kubelet does). */
  writes = 0;
  readonly #dir: string;
  readonly #stepDelayMs: number;

  constructor(dir: string, options: KubeletWriterOptions = {}) {
    this.#dir = dir;
    this.#stepDelayMs = options.stepDelayMs ?? 0;
  }

  /** Projects `payload` (file name → content) into the volume. */
  async write(payload: Record<string, string>): Promise<void> {
    const dir = this.#dir;
    await mkdir(dir, { recursive: true });
    const dataPath = join(dir, DATA);
    // (2) the current timestamped directory
    const oldTs = await readlink(dataPath).catch(() => undefined);
    // (3)+(4) names to remove, and whether anything changed
    const names = Object.keys(payload);
    const previous = oldTs === undefined ? [] : await readdir(join(dir, oldTs)).catch(() => [] as string[]);
    if (oldTs !== undefined && previous.every((n) => names.includes(n))) {
      const same = await Promise.all(
        names.map(async (n) => (await readFile(join(dir, oldTs, n), 'utf8').catch(() => undefined)) === payload[n]),
      );
      if (same.every(Boolean)) return;
    }
    const removed = previous.filter((n) => !names.includes(n));
    // (5) a new timestamped directory, 0755
    const tsDir = await mkdtemp(join(dir, tsPrefix()));
    await chmod(tsDir, 0o755);
    // (6) the payload, 0644 (the Secret volume's default mode)
    for (const n of names) await writeFile(join(tsDir, n), payload[n]!, { mode: 0o644 });
    await this.#pause();
    // (7) user-visible symlinks for new names
    for (const n of names) await symlink(join(DATA, n), join(dir, n)).catch(ignoreExists);
    // (8) ..data_tmp -> the new directory; (9) renamed over ..data: the atomic switch
    await symlink(tsDir.slice(dir.length + 1), join(dir, DATA_TMP));
    await this.#pause();
    await rename(join(dir, DATA_TMP), dataPath);
    await this.#pause();
    // (10) user-visible names no longer in the payload; (11) the old timestamped directory
    for (const n of removed) await unlink(join(dir, n)).catch(() => {});
    if (oldTs !== undefined) await rm(join(dir, oldTs), { recursive: true, force: true });
    this.writes++;
  }

  #pause(): Promise<void> {
    return this.#stepDelayMs > 0 ? new Promise((r) => setTimeout(r, this.#stepDelayMs)) : Promise.resolve();
  }
}

function ignoreExists(err: unknown): void {
  if ((err as { code?: unknown }).code !== 'EEXIST') throw err;
}

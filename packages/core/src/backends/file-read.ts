/**
 * Reading one mounted version of a secret: every path resolved (symlinks followed, as the kubelet's
 * `..data` indirection needs) and checked to stay inside its mount, the content parsed as core parses a
 * SecretString. A directory layout is read from one `..data` target when there is one, so its fields
 * come from a single kubelet write even while the next one swaps in.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { lstat, readFile, realpath, stat } from 'node:fs/promises';
import { join, sep } from 'node:path';
import { type Credentials, parseDbSecret } from '../credentials.js';
import { SecretFormatError } from '../errors.js';
import type { SecretKeys, VersionStage } from '../types.js';
import type { FileLayout } from './file-options.js';

/**
 * The versionId key, random per process: equal content gets the same id (compare-and-refresh works),
 * yet an id in a log or event reveals nothing about the password (a plain hash of a weak one would).
 */
const VERSION_KEY = randomBytes(32);

/** A path resolved outside its mount (a symlink to /etc/passwd, say): never read, never retried. */
export class FileEscapeError extends Error {
  override readonly name = 'FileEscapeError';
  readonly code = 'EDBCREDS_FILE_ESCAPE';
}

/** The kubelet AtomicWriter's data-directory symlink (pkg/volume/util/atomic_writer.go). */
const DATA_DIR = '..data';

/** `path` with its symlinks resolved, if that stays inside `root` (itself resolved). */
async function inside(path: string, root: string): Promise<string> {
  const [real, realRoot] = await Promise.all([realpath(path), realpath(root)]);
  const prefix = realRoot.endsWith(sep) ? realRoot : realRoot + sep;
  if (real !== realRoot && !real.startsWith(prefix))
    throw new FileEscapeError(`'${path}' resolves outside the mount '${root}'`);
  return real;
}

export const isMissing = (err: unknown): boolean => (err as { code?: unknown } | null)?.code === 'ENOENT';

/** The directory the field files are read from: the `..data` target if the directory has one. */
async function fieldBase(layout: FileLayout): Promise<string> {
  const data = join(layout.location, DATA_DIR);
  try {
    if ((await lstat(data)).isSymbolicLink()) return await inside(data, layout.root);
  } catch (err) {
    if (!isMissing(err)) throw err;
  }
  return layout.location;
}

const versionId = (parts: string[]): string => {
  const h = createHmac('sha256', VERSION_KEY);
  for (const p of parts) h.update(`${Buffer.byteLength(p)}:${p}`);
  return `file-${h.digest('hex').slice(0, 24)}`;
};

/** Reads and parses one version. Throws the fs error (ENOENT…), FileEscapeError or SecretFormatError. */
export async function readVersion(
  layout: FileLayout,
  stage: VersionStage,
  secretId: string,
  secretKeys: SecretKeys | undefined,
): Promise<Credentials> {
  if (layout.kind === 'path') {
    const text = await readFile(await inside(layout.location, layout.root), 'utf8');
    return parseDbSecret(secretId, text, { versionId: versionId([text]), stage }, secretKeys);
  }
  const base = await fieldBase(layout);
  const fields: Record<string, string> = {};
  for (const [field, name, required] of layout.fields) {
    let value: string;
    try {
      value = await readFile(await inside(join(base, name), layout.root), 'utf8');
    } catch (err) {
      if (!isMissing(err)) throw err;
      await stat(base); // the directory itself missing: a fetch error (retried), not a format error
      if (required) throw new SecretFormatError(secretId, `missing file '${name}' (field ${field})`, { field: name });
      continue;
    }
    // `echo` and `kubectl create secret --from-file` leave a trailing newline that is not part of the value.
    fields[field] = value.replace(/\r?\n$/, '');
  }
  const parts = Object.entries(fields).flat();
  return parseDbSecret(secretId, JSON.stringify(fields), { versionId: versionId(parts), stage });
}

/**
 * A cheap fingerprint of a version on disk (resolved paths, inode, size, mtime; no content read): it
 * changes with the kubelet's `..data` swap, a rename-write, an in-place write, a removal.
 */
export async function fingerprint(layout: FileLayout): Promise<string> {
  const paths =
    layout.kind === 'path'
      ? [layout.location]
      : [join(layout.location, DATA_DIR), ...layout.fields.map(([, name]) => join(layout.location, name))];
  const parts = await Promise.all(
    paths.map(async (p) => {
      try {
        const real = await realpath(p);
        const s = await stat(real);
        return `${real}|${s.ino}|${s.size}|${s.mtimeMs}`;
      } catch (err) {
        return `${p}|${(err as { code?: string }).code ?? 'error'}`;
      }
    }),
  );
  return parts.join('\n');
}

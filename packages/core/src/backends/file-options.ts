/** Validation of the `file` option (a mounted secret): the layout, the pending version, the mount roots. */
import { dirname, resolve } from 'node:path';
import { unknownKeyHint } from '../suggest.js';
import type { FileFieldNames, FileSourceOptions } from '../types.js';

export const FILE_DEFAULTS = { pollMs: 1_000 } as const;

/** The fields a directory layout reads, and whether a file for each must exist without `keys`. */
export const FILE_FIELDS = ['username', 'password', 'host', 'port', 'dbname', 'engine'] as const;
export type FileField = (typeof FILE_FIELDS)[number];

/** One mounted version: where its files are and the mount they must stay in. */
export interface FileLayout {
  /** `path`: one file with the SecretString; `dir`: one file per field. */
  kind: 'path' | 'dir';
  /** The file (`path`) or the directory (`dir`), absolute. */
  location: string;
  /** Absolute; no resolved path may leave it. */
  root: string;
  /** `dir`: field → [file name, required]. */
  fields: ReadonlyArray<readonly [FileField, string, boolean]>;
}

export interface ResolvedFileOptions {
  current: FileLayout;
  pending: FileLayout | undefined;
  pollMs: number;
  watch: boolean;
  /** Names the source in events, errors and logs (its `secretId`). */
  label: string;
}

const KEYS = ['path', 'dir', 'keys', 'pendingFile', 'pendingDir', 'root', 'pollMs', 'watch'];

const isPlain = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === 'object' && !Array.isArray(v) && Object.getPrototypeOf(v) === Object.prototype;

const isPath = (v: unknown): v is string => typeof v === 'string' && v.length > 0 && !v.includes('\0');

/** Validates `file`, reporting each problem through `bad`; undefined when absent or invalid. */
export function resolveFileOptions(
  v: unknown,
  bad: (key: string, why: string) => void,
): ResolvedFileOptions | undefined {
  if (v === undefined) return undefined;
  if (typeof v === 'string') v = { path: v };
  if (!isPlain(v)) {
    bad('file', "must be a path or an object like { path: '/mnt/secrets-store/db.json' } or { dir: '/etc/db' }");
    return undefined;
  }
  let problems = 0;
  const fail = (key: string, why: string) => {
    problems++;
    bad(key, why);
  };
  const o = v as FileSourceOptions & Record<string, unknown>;
  for (const k of Object.keys(o)) if (!KEYS.includes(k)) fail(`file.${k}`, `unknown option${unknownKeyHint(k, KEYS)}`);
  for (const k of ['path', 'dir', 'pendingFile', 'pendingDir', 'root'] as const)
    if (o[k] !== undefined && !isPath(o[k])) fail(`file.${k}`, 'must be a non-empty path');
  if ((o.path === undefined) === (o.dir === undefined)) fail('file', 'give either path or dir');
  if (o.path !== undefined && (o.keys !== undefined || o.pendingDir !== undefined))
    fail('file.path', 'keys and pendingDir go with dir (a directory of field files), not path');
  if (o.dir !== undefined && o.pendingFile !== undefined)
    fail('file.dir', 'pendingFile goes with path; with dir, give pendingDir');
  const fields = resolveKeys(o.keys, fail);
  const pollMs = o.pollMs ?? FILE_DEFAULTS.pollMs;
  if (typeof pollMs !== 'number' || !Number.isFinite(pollMs) || pollMs < 0)
    fail('file.pollMs', 'must be a number ≥ 0 (ms; 0 disables the poll)');
  if (o.watch !== undefined && typeof o.watch !== 'boolean') fail('file.watch', 'must be a boolean');
  if (problems > 0) return undefined;

  const root = o.root === undefined ? undefined : resolve(o.root);
  const layout = (kind: 'path' | 'dir', p: string, key: string): FileLayout => {
    const location = resolve(p);
    const r = root ?? (kind === 'path' ? dirname(location) : location);
    if (location !== r && !location.startsWith(r.endsWith('/') ? r : `${r}/`))
      fail(`file.${key}`, `must be inside root '${r}'`);
    return { kind, location, root: r, fields: kind === 'dir' ? fields : [] };
  };
  const current = o.path !== undefined ? layout('path', o.path, 'path') : layout('dir', o.dir!, 'dir');
  const pendingPath = o.pendingFile ?? o.pendingDir;
  const pending =
    pendingPath === undefined
      ? undefined
      : layout(current.kind, pendingPath, o.pendingFile !== undefined ? 'pendingFile' : 'pendingDir');
  if (problems > 0) return undefined;
  return { current, pending, pollMs: pollMs as number, watch: o.watch ?? true, label: current.location };
}

function resolveKeys(v: unknown, fail: (key: string, why: string) => void): FileLayout['fields'] {
  if (v === undefined) return FILE_FIELDS.map((f) => [f, f, f === 'username' || f === 'password'] as const);
  if (!isPlain(v)) {
    fail('file.keys', "must be an object like { username: 'username', password: 'password' }");
    return [];
  }
  const named = v as FileFieldNames & Record<string, unknown>;
  for (const [k, name] of Object.entries(named)) {
    if (!(FILE_FIELDS as readonly string[]).includes(k))
      fail(`file.keys.${k}`, `unknown field (valid: ${FILE_FIELDS.join(', ')})`);
    else if (!isPath(name) || name.includes('/') || name.startsWith('..'))
      fail(`file.keys.${k}`, 'must be a file name in the directory (no "/", not starting with "..")');
  }
  // Fields not named keep their default file, read if present; username and password must exist.
  return FILE_FIELDS.map((f) => {
    const name = named[f];
    return [f, name ?? f, name !== undefined || f === 'username' || f === 'password'] as const;
  });
}
